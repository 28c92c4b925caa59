package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
)

// An earlier run of the app was terminated mid-cutover: its resources are
// still there (terraform's plan finds them in the state) and traffic may
// still be split. A rollback of the new run moves traffic back to the
// datacenter and destroys what the earlier run left, even at the plan
// gate; the gate's evidence says they exist.
func TestRollbackRemovesAnEarlierRunsLeftovers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inState int
		undo    bool
	}{{"leftovers", 12, true}, {"fresh", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.f.InState = func(string) int { return tc.inState }
			var hint string
			at(h.env, time.Hour, func() {
				if w := status(h.env).Waiting; w != nil {
					hint = w.Hint
				}
				signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "not now"})
			})
			res := h.run()
			if res.Outcome != StageRolledBack {
				t.Fatalf("outcome %s, want RolledBack", res.Outcome)
			}
			calls := h.f.Calls()
			moved, destroyed := h.f.Count(activities.TrafficToDatacenterName), h.f.Count(activities.TerraformDestroyName)
			if !tc.undo {
				if moved+destroyed != 0 {
					t.Errorf("a fresh run's rollback at the plan gate undid something: %v", calls)
				}
				return
			}
			if moved != 1 || destroyed != 1 || !before(calls, activities.TrafficToDatacenterName, activities.TerraformDestroyName) {
				t.Errorf("leftovers: want traffic back to the datacenter, then destroy: %v", calls)
			}
			if !strings.Contains(hint, "12 resources already exist") {
				t.Errorf("plan gate evidence %q does not say the earlier run's resources exist", hint)
			}
		})
	}
}
