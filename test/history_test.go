package test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/testenv"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordHistory records the history of a full migration on a dev
// server into workflows/testdata, for the replay test that guards
// determinism. Run it when a release changes the workflow on purpose
// (behind workflow.GetVersion): FERRY_RECORD_HISTORY=1 go test ./test -run RecordHistory
func TestRecordHistory(t *testing.T) {
	if os.Getenv("FERRY_RECORD_HISTORY") != "1" {
		t.Skip("set FERRY_RECORD_HISTORY=1 to re-record workflows/testdata/*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	f := &fakeacts.Fakes{Plans: quickPlans{}}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	ferryworker.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	record := func(app, file string, rollbackAt string) {
		_, err := startQuick(ctx, c, app)
		if err != nil {
			t.Fatal(err)
		}
		d := &driver{c: c}
		if rollbackAt != "" {
			if _, err := d.run(ctx, app, rollbackAt); err != nil {
				t.Fatal(err)
			}
			if _, err := rollbackAs(ctx, c, app, "ana@example.com", testKeys, "recorded rollback"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.run(ctx, app, ""); err != nil {
			t.Fatal(err)
		}
		hist := &historypb.History{}
		it := c.GetWorkflowHistory(ctx, workflows.AppWorkflowID(app), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			hist.Events = append(hist.Events, ev)
		}
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(testenv.Root(), "workflows", "testdata", file)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d events into %s", len(hist.Events), path)
	}
	record("history-happy", "history-happy.json", "")
	record("history-rollback", "history-rollback.json", workflows.StageApproveDecommission)
}
