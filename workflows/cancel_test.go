package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/activities"
)

// A cancelled migration (temporal workflow cancel, or its wave cancelled)
// does not leave traffic split or resources behind: it rolls back, as a
// person's rollback would, and says why.
func TestCancelMidCutoverRollsBack(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("lb")
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 2*time.Hour+90*time.Second, func() { h.env.CancelWorkflow() })
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack (history %+v)", res.Outcome, res.Status.History)
	}
	if !strings.Contains(res.Status.RollbackReason, "cancelled") {
		t.Errorf("rollback reason %q does not say the workflow was cancelled", res.Status.RollbackReason)
	}
	calls := h.f.Calls()
	for _, pair := range [][2]string{
		{activities.TrafficToDatacenterName, activities.RestoreClientDNSName},
		{activities.RestoreClientDNSName, activities.TerraformDestroyName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("cancel: %s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	found := false
	for _, n := range h.f.Notes() {
		if n.Event == "rollback" {
			found = true
		}
	}
	if !found {
		t.Errorf("no rollback notification after the cancel: %+v", h.f.Notes())
	}
}

// A replicating app cancelled while waiting at its cutover gate abandons
// its replication: nothing is left behind in M2VM.
func TestCancelAtTheGateCleansUpTheReplication(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 3*time.Hour, func() { h.env.CancelWorkflow() })
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	if c := h.f.Data.Cleanups; len(c) != 1 || !c[0].Abandon {
		t.Errorf("cleanups %+v, want one abandon", c)
	}
}

// Cancelled while parked: the park ends and the migration rolls back.
func TestCancelWhileParkedRollsBack(t *testing.T) {
	h := newHarness(t)
	h.f.Fail = func(n string) error {
		if n == activities.HealthCheckName {
			return errNonRetryable("health check failed")
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 5*time.Hour, func() { h.env.CancelWorkflow() })
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	if h.f.Count(activities.TerraformDestroyName) != 1 {
		t.Errorf("provisioned resources not destroyed: %v", h.f.Calls())
	}
}

func errNonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "test-failure", nil)
}
