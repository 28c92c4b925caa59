package test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordLeftoversHistory records, into workflows/testdata, runs on
// the code that counts what an earlier run of the app left (behind
// GetVersion earlier-run-leftovers): one rolled back at its plan gate
// (traffic back to the datacenter, then the leftovers destroyed), one
// taken to the end.
//
//	FERRY_RECORD_HISTORY=leftovers go test ./test -run RecordLeftoversHistory
func TestRecordLeftoversHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "leftovers" {
		t.Skip("set FERRY_RECORD_HISTORY=leftovers to re-record workflows/testdata/history-leftovers*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	f := &fakeacts.Fakes{Plans: recPlans{}, InState: func(string) int { return 9 }}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recordRuns(ctx, t, c, []recordedRun{
		{"history-leftovers-rollback", workflows.StageApprovePlan, workflows.StageRolledBack},
		{"history-leftovers", "", workflows.StageDone},
	}, nil)
}
