package test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordDataHistory records the data strategies' paths for the replay
// test: a replicate app to the end (a first sync still running at the
// first poll, the test clone, the cutover job, finalize, cleanup), one
// rolled back after its cutover (sources on, replication abandoned), and
// a sync app held by its lag gate, then rolled back after the cutover
// (reverse sync).
//
//	FERRY_RECORD_HISTORY=data go test ./test -run RecordDataHistory
func TestRecordDataHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "data" {
		t.Skip("set FERRY_RECORD_HISTORY=data to re-record workflows/testdata/history-{replicate,sync}*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	replicate := func(s *plan.AppSpec) {
		s.Data = plan.DataSpec{Strategy: plan.DataReplicate, Replicate: &plan.ReplicateSpec{
			Location: "europe-west1", HostProject: "ferry-history", TestClone: true, TestNetwork: "migration-test",
			VMs: []plan.ReplicaVM{{Ref: "vm-1", Name: s.Name + "-01", GCEName: s.Name + "-01", Source: "projects/ferry-history/locations/europe-west1/sources/dc1", Disks: 1}}}}
	}
	syncs := func(s *plan.AppSpec) {
		s.Data = plan.DataSpec{Strategy: plan.DataSync, Sync: &plan.SyncSpec{Start: []string{"start"}, Lag: []string{"lag"},
			CatchUp: []string{"catch-up"}, Reverse: []string{"reverse"}, MaxLag: 30 * time.Second, Every: time.Second, Timeout: time.Minute}}
	}
	plans := recPlans{edits: map[string]func(*plan.AppSpec){
		"history-replicate": replicate, "history-replicate-rollback": replicate, "history-sync-rollback": syncs}}
	f := &fakeacts.Fakes{Plans: plans}
	f.Data.NotReadyPolls = 1
	f.Data.Lags = []time.Duration{50 * time.Second, 40 * time.Second, 10 * time.Second}
	f.Data.LagEvery = time.Second
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	ferryworker.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		app        string
		rollbackAt string // stage the rollback is sent at, "" for none
		want       string
	}{
		{"history-replicate", "", workflows.StageDone},
		{"history-replicate-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
		{"history-sync-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
	} {
		if _, err := startQuick(ctx, c, tc.app); err != nil {
			t.Fatal(err)
		}
		d := &driver{c: c}
		if tc.rollbackAt != "" {
			if _, err := d.run(ctx, tc.app, tc.rollbackAt); err != nil {
				t.Fatal(err)
			}
			if _, err := rollbackAs(ctx, c, tc.app, "ana@example.com", testKeys, "recorded rollback after cutover"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.run(ctx, tc.app, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatalf("%s ended %s, want %s", tc.app, got, tc.want)
		}
		saveHistory(ctx, t, c, workflows.AppWorkflowID(tc.app), tc.app)
	}
}
