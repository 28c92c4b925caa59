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
	syncs := func(s *plan.AppSpec) {
		s.Data = plan.DataSpec{Strategy: plan.DataSync, Sync: &plan.SyncSpec{Start: []string{"start"}, Lag: []string{"lag"},
			CatchUp: []string{"catch-up"}, Reverse: []string{"reverse"}, MaxLag: 30 * time.Second, Every: time.Second, Timeout: time.Minute}}
	}
	plans := recPlans{edits: map[string]func(*plan.AppSpec){
		"history-replicate": replicateEdit, "history-replicate-rollback": replicateEdit, "history-sync-rollback": syncs}}
	f := &fakeacts.Fakes{Plans: plans}
	f.Data.NotReadyPolls = 1
	f.Data.Lags = []time.Duration{50 * time.Second, 40 * time.Second, 10 * time.Second}
	f.Data.LagEvery = time.Second
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recordRuns(ctx, t, c, []recordedRun{
		{"history-replicate", "", workflows.StageDone},
		{"history-replicate-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
		{"history-sync-rollback", workflows.StageApproveDecommission, workflows.StageRolledBack},
	}, nil)
}

// replicateEdit makes a recorded app replicate one VM.
func replicateEdit(s *plan.AppSpec) {
	s.Data = plan.DataSpec{Strategy: plan.DataReplicate, Replicate: &plan.ReplicateSpec{
		Location: "europe-west1", HostProject: "ferry-history", TestClone: true, TestNetwork: "migration-test",
		VMs: []plan.ReplicaVM{{Ref: "vm-1", Name: s.Name + "-01", GCEName: s.Name + "-01", Source: "projects/ferry-history/locations/europe-west1/sources/dc1", Disks: 1}}}}
}
