package test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestRecordSLOHistory records, into workflows/testdata, migrations on
// the SLO watch (behind GetVersion slo-watch): one whose watch breaches
// halfway through the 50 % step's bake and rolls back, and one that holds
// through every bake to the end. Re-record only with a release that
// changes the workflow on purpose:
//
//	FERRY_RECORD_HISTORY=slo go test ./test -run RecordSLOHistory
func TestRecordSLOHistory(t *testing.T) {
	if v := os.Getenv("FERRY_RECORD_HISTORY"); v != "1" && v != "slo" {
		t.Skip("set FERRY_RECORD_HISTORY=slo to re-record workflows/testdata/history-slo-*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	bakes := func(s *plan.AppSpec) {
		s.Cutover.Steps = []plan.Step{{Percent: 10, Bake: 2 * time.Second}, {Percent: 50, Bake: 6 * time.Second}, {Percent: 100}}
	}
	plans := recPlans{edits: map[string]func(*plan.AppSpec){"history-slo-breach": bakes, "history-slo-watch": bakes}}
	// The breach: the 50 % watch of history-slo-breach sees 5xx from 3 s
	// into its bake on.
	var mu sync.Mutex
	breaching, watchStart := false, map[string]time.Time{}
	f := &fakeacts.Fakes{Plans: plans}
	f.Watch = fakeacts.WatchUntilBreach(func(percent int) string {
		mu.Lock()
		defer mu.Unlock()
		if percent != 50 {
			return ""
		}
		if watchStart["50"].IsZero() {
			watchStart["50"] = time.Now()
		}
		if breaching && time.Since(watchStart["50"]) > 3*time.Second {
			return "at 50% GCP: load balancer: 5xx ratio 0.412 > 0.010 on ferry-history-slo-breach-gcp over the last 1m0s (210 of 510)"
		}
		return ""
	})
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		app    string
		breach bool
		want   string
	}{{"history-slo-breach", true, workflows.StageRolledBack}, {"history-slo-watch", false, workflows.StageDone}} {
		mu.Lock()
		breaching, watchStart = tc.breach, map[string]time.Time{}
		mu.Unlock()
		if _, err := startQuick(ctx, c, tc.app); err != nil {
			t.Fatal(err)
		}
		got, err := (&driver{c: c}).run(ctx, tc.app, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatalf("%s ended %s, want %s", tc.app, got, tc.want)
		}
		saveHistory(ctx, t, c, workflows.AppWorkflowID(tc.app), tc.app)
	}
}
