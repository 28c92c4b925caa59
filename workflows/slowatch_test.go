package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/traffic"
)

// A breach the watch reports mid-bake rolls back at once: no further
// step, traffic back to the datacenter first, the samples kept as the
// step's evidence.
func TestSLOWatchBreachRollsBack(t *testing.T) {
	h := newHarness(t)
	h.f.Watch = func(ctx context.Context, in activities.WatchSLOInput) (activities.SLOGateResult, error) {
		if in.Percent == 50 {
			return activities.SLOGateResult{Pass: false, Reason: "at 50% GCP: load balancer: 5xx ratio 0.400 > 0.010", Evaluations: 4,
				Samples: []traffic.SLOSample{{Pass: true}, {Pass: true}, {Pass: true}, {Pass: false, Reason: "load balancer: 5xx ratio 0.400 > 0.010"}}}, nil
		}
		return activities.SLOGateResult{Pass: true, Evaluations: 5}, nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if w := h.f.Weights(); len(w) != 3 || w[0] != 10 || w[1] != 50 || w[2] != 0 {
		t.Errorf("weights %v, want [10 50 0]", w)
	}
	if h.f.Count(activities.WatchSLOName) != 2 || h.f.Count(activities.SLOGateName) != 0 {
		t.Errorf("calls %v", h.f.Calls())
	}
	ev := res.Status.Evidence.SLO
	if len(ev) != 2 || !ev[0].Pass || ev[1].Pass || len(ev[1].Samples) != 4 || ev[1].Evaluations != 4 {
		t.Errorf("evidence %+v", ev)
	}
	if !strings.Contains(res.Status.RollbackReason, "SLO gate failed at 50 % during the bake") || !strings.Contains(res.Status.RollbackReason, "5xx ratio") {
		t.Errorf("reason %q", res.Status.RollbackReason)
	}
}
