package test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordOtherWavesHistory records, into workflows/testdata, a
// migration whose cutover is held for a dependency in an earlier wave
// (behind GetVersion hold-other-waves): asked once while the dependency
// is pending, then once it is cut over, to the end.
//
//	FERRY_RECORD_HISTORY=otherwaves go test ./test -run RecordOtherWavesHistory
func TestRecordOtherWavesHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "otherwaves" {
		t.Skip("set FERRY_RECORD_HISTORY=otherwaves to re-record workflows/testdata/history-hold-other-waves.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	deps := func(s *plan.AppSpec) { s.DependsOn = []string{"history-ledger"} }
	f := &fakeacts.Fakes{Plans: recPlans{edits: map[string]func(*plan.AppSpec){"history-hold-other-waves": deps}}}
	var asked atomic.Int32
	f.Progress = func(activities.DependencyProgressInput) activities.DependencyProgressResult {
		if asked.Add(1) == 1 {
			return activities.DependencyProgressResult{Watched: []string{"history-ledger"}, Pending: []string{"history-ledger (Cutover)"}}
		}
		return activities.DependencyProgressResult{Watched: []string{"history-ledger"}, CutOver: []string{"history-ledger"}}
	}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The hold asks again after five minutes: the recording takes that long.
	recordRuns(ctx, t, c, []recordedRun{{"history-hold-other-waves", "", workflows.StageDone}}, nil)
}
