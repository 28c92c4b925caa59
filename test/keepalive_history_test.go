package test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordKeepAliveHistory records, into workflows/testdata, a
// replicate app on the code that keeps its replication alive in the
// background from the first sync on (behind GetVersion
// replication-keepalive), to the end.
//
//	FERRY_RECORD_HISTORY=keepalive go test ./test -run RecordKeepAliveHistory
func TestRecordKeepAliveHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "keepalive" {
		t.Skip("set FERRY_RECORD_HISTORY=keepalive to re-record workflows/testdata/history-replicate-keepalive.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	f := &fakeacts.Fakes{Plans: recPlans{edits: map[string]func(*plan.AppSpec){"history-replicate-keepalive": replicateEdit}}}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recordRuns(ctx, t, c, []recordedRun{{"history-replicate-keepalive", "", workflows.StageDone}}, nil)
}
