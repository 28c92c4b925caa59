package workflows

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
)

// A Temporal cancel (temporal workflow cancel, or its wave cancelled)
// names no verified person: it neither rolls back nor goes on. The
// migration parks with the cancel-requested runbook, the cancel is in the
// audit list, and only a signed rollback from an approver moves traffic
// back.
func TestCancelMidCutoverParksUntilAVerifiedRollback(t *testing.T) {
	h := newHarness(t)
	h.spec = clientNamesSpec("lb")
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 2*time.Hour+90*time.Second, func() { h.env.CancelWorkflow() })
	var parked Status
	var callsWhileParked []string
	at(h.env, 3*time.Hour, func() {
		parked = status(h.env)
		callsWhileParked = h.f.Calls()
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "cancelled: the vendor asked us to stop"})
	})
	res := h.run()

	if parked.Stage != StageBlocked || parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonCancelRequested) {
		t.Fatalf("after the cancel: stage %s, last error %+v; want Blocked with %s", parked.Stage, parked.LastError, runbooks.ReasonCancelRequested)
	}
	if !strings.Contains(parked.LastError.Runbook, "cancel-requested") || !strings.Contains(parked.LastError.Message, "ferry migrate rollback billing") {
		t.Errorf("park says %q (runbook %q); want the cancel-requested runbook and the command to roll back", parked.LastError.Message, parked.LastError.Runbook)
	}
	if parked.Waiting == nil || parked.Waiting.Gate != "retry" {
		t.Errorf("waiting %+v, want the retry/rollback park", parked.Waiting)
	}
	if !auditHas(parked.Audit, "cancel", cancelBy, "parks at the next step boundary") {
		t.Errorf("audit %+v lacks the cancel", parked.Audit)
	}
	for _, c := range callsWhileParked {
		if c == activities.TrafficToDatacenterName || c == activities.TerraformDestroyName || c == activities.RestoreClientDNSName {
			t.Fatalf("the unverified cancel undid something (%s) before anyone decided: %v", c, callsWhileParked)
		}
	}
	if parked.TrafficPercent == 0 {
		t.Errorf("traffic %d %% while parked; the cancel came after the first shift and must not move it", parked.TrafficPercent)
	}

	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s after the signed rollback, want RolledBack", res.Outcome)
	}
	if !strings.Contains(res.Status.RollbackReason, "vendor asked us to stop") {
		t.Errorf("rollback reason %q is not the approver's", res.Status.RollbackReason)
	}
	if a := res.Status.Actions; len(a) != 1 || a[0].Kind != "rollback" || a[0].By != "bo@example.com" || !a[0].Verified {
		t.Errorf("actions %+v, want one verified rollback by bo", a)
	}
	calls := h.f.Calls()
	for _, pair := range [][2]string{
		{activities.TrafficToDatacenterName, activities.RestoreClientDNSName},
		{activities.RestoreClientDNSName, activities.TerraformDestroyName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("rollback after the cancel: %s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
}

// A cancel at the cutover gate, then a person's retry: the migration goes
// on as if the cancel had not come (the gate asks for its approval again)
// and ends Done.
func TestCancelThenVerifiedRetryGoesOn(t *testing.T) {
	h := newHarness(t)
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() { h.env.CancelWorkflow() })
	var parked Status
	at(h.env, 2*time.Hour, func() {
		parked = status(h.env)
		signal(h.env, SignalRetry, Action{By: "ana@example.com", Reason: "the cancel was a mistake"})
	})
	h.approve(3*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonCancelRequested) || parked.LastError.Stage != StageApproveCutover {
		t.Fatalf("after the cancel at the cutover gate: %+v, want parked at %s with %s", parked.LastError, StageApproveCutover, runbooks.ReasonCancelRequested)
	}
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done after the retry", res.Outcome)
	}
	if n := h.f.Count(activities.TrafficToDatacenterName) + h.f.Count(activities.TerraformDestroyName); n != 0 {
		t.Errorf("the cancel rolled something back: %v", h.f.Calls())
	}
	if !auditHas(res.Status.Audit, "cancel", cancelBy, "") {
		t.Errorf("audit %+v lacks the cancel", res.Status.Audit)
	}
}

// A replicating app cancelled while waiting at its cutover gate keeps
// replicating until a person rolls it back; then nothing is left behind
// in M2VM.
func TestCancelAtTheGateThenRollbackCleansUpTheReplication(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 3*time.Hour, func() { h.env.CancelWorkflow() })
	var cleanupsWhileParked int
	at(h.env, 4*time.Hour, func() {
		cleanupsWhileParked = len(h.f.Data.Cleanups)
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "stop this one"})
	})
	res := h.run()
	if cleanupsWhileParked != 0 {
		t.Errorf("the unverified cancel cleaned up the replication (%d cleanups) before anyone decided", cleanupsWhileParked)
	}
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	if c := h.f.Data.Cleanups; len(c) != 1 || !c[0].Abandon {
		t.Errorf("cleanups %+v, want one abandon", c)
	}
}

// Cancelled while parked on a failure: the park keeps its own reason, the
// cancel is audited, and the person's rollback undoes the migration.
func TestCancelWhileParkedKeepsThePark(t *testing.T) {
	h := newHarness(t)
	h.f.Fail = func(n string) error {
		if n == activities.HealthCheckName {
			return errNonRetryable("health check failed")
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 5*time.Hour, func() { h.env.CancelWorkflow() })
	var parked Status
	at(h.env, 6*time.Hour, func() {
		parked = status(h.env)
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "health check keeps failing"})
	})
	res := h.run()
	if parked.Stage != StageBlocked || parked.LastError == nil || parked.LastError.Reason != "test-failure" {
		t.Errorf("after the cancel: stage %s, last error %+v; want the health check's park", parked.Stage, parked.LastError)
	}
	if !auditHas(parked.Audit, "cancel", cancelBy, "parked already") {
		t.Errorf("audit %+v lacks the cancel", parked.Audit)
	}
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	if h.f.Count(activities.TerraformDestroyName) != 1 {
		t.Errorf("provisioned resources not destroyed: %v", h.f.Calls())
	}
}

// Past the decommission nothing can be undone: a cancel is audited and
// the cleanup runs to its end.
func TestCancelAfterDecommissionFinishesTheCleanup(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.spec.Decommission.Retention = time.Hour // parked on the cleanup well before the cancel
	failed := false
	h.f.Fail = func(n string) error {
		if n == activities.CleanupReplicationName && !failed {
			failed = true
			return errNonRetryable("clone job still running")
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(5*time.Hour, GateCutover, "bo@example.com")
	h.approve(60*time.Hour, GateDecommission, "ana@example.com")
	at(h.env, 200*time.Hour, func() { h.env.CancelWorkflow() })
	at(h.env, 201*time.Hour, func() {
		signal(h.env, SignalRetry, Action{By: "ana@example.com", Reason: "clone job gone"})
	})
	res := h.run()
	if !failed {
		t.Fatal("the cleanup never failed: the test did not reach its park")
	}
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done", res.Outcome)
	}
	if !auditHas(res.Status.Audit, "cancel", cancelBy, "decommission completed") {
		t.Errorf("audit %+v lacks the ignored cancel", res.Status.Audit)
	}
}

func auditHas(audit []AuditEntry, signal, by, reason string) bool {
	for _, a := range audit {
		if a.Signal == signal && a.By == by && strings.Contains(a.Reason, reason) {
			return true
		}
	}
	return false
}

func errNonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "test-failure", nil)
}
