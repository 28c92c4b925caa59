package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

func replicateSpec() plan.AppSpec {
	s := testSpec()
	s.Data = plan.DataSpec{Strategy: plan.DataReplicate, Replicate: &plan.ReplicateSpec{
		Location: "europe-west1", HostProject: "ferry-dev", TestClone: true, TestNetwork: "test-net",
		VMs: []plan.ReplicaVM{{Ref: "vm-1", Name: "billing-api-1", GCEName: "billing-api-1", Source: "projects/ferry-dev/locations/europe-west1/sources/dc1", Disks: 1}}}}
	return s
}

func syncSpec() plan.AppSpec {
	s := testSpec()
	s.Data = plan.DataSpec{Strategy: plan.DataSync, Sync: &plan.SyncSpec{
		Start: []string{"start-replica"}, Lag: []string{"replica-lag"}, CatchUp: []string{"catch-up"}, Reverse: []string{"reverse"},
		MaxLag: 30 * time.Second, Every: time.Minute, Timeout: time.Minute}}
	return s
}

// before reports whether a's first call comes before b's first call.
func before(calls []string, a, b string) bool {
	i, j := slices.Index(calls, a), slices.Index(calls, b)
	return i >= 0 && j >= 0 && i < j
}

func TestReplicateMovesDisksThenProvisionsInsideTheCutover(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.f.Data.CapacityWaits = 1 // one capacity wait, shown as such
	h.f.Data.NotReadyPolls = 2 // the first sync takes two polls
	var capacityWait, gateHint string
	at(h.env, 30*time.Minute+2*time.Minute, func() {
		if w := status(h.env).Waiting; w != nil {
			capacityWait = w.Gate
		}
	})
	at(h.env, 2*time.Hour-time.Minute, func() {
		if w := status(h.env).Waiting; w != nil && w.Gate == GateCutover {
			gateHint = w.Hint
		}
	})
	h.approve(30*time.Minute, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(72*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; last error %+v", res.Outcome, res.Status.LastError)
	}
	calls := h.f.Calls()
	if capacityWait != waitReplicationCapacity {
		t.Errorf("waiting during the capacity hold = %q, want %q", capacityWait, waitReplicationCapacity)
	}
	if n := h.f.Count(activities.StartReplicationName); n != 2 {
		t.Errorf("StartReplication ran %d times, want 2 (one capacity wait)", n)
	}
	for _, pair := range [][2]string{
		{activities.StartReplicationName, activities.TestCloneName},
		{activities.TestCloneName, activities.CutoverReplicationName},
		{activities.CutoverReplicationName, activities.TerraformApplyName},
		{activities.TerraformApplyName, activities.HealthCheckName},
		{activities.HealthCheckName, activities.ShiftTrafficName},
		{activities.FinalizeReplicationName, activities.PowerOffSourcesName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("%s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	if w := h.f.Weights(); !slices.Equal(w, []int{100}) {
		t.Errorf("traffic steps %v, want one step of 100 %% (the sources are shut down)", w)
	}
	if !strings.Contains(gateHint, "final sync ≈ 6m0s") || !strings.Contains(gateHint, "test clone passed") {
		t.Errorf("cutover gate evidence %q lacks the final-sync forecast and the test clone", gateHint)
	}
	if c := h.f.Data.Cleanups; len(c) != 1 || c[0].Abandon {
		t.Errorf("cleanups %+v, want one that keeps the finalized replication", c)
	}
	ev := res.Status.Evidence
	if ev.Replication == nil || !ev.Replication.Ready || ev.TestClone == nil || ev.ReplicationCutover == nil {
		t.Errorf("replication evidence missing: %+v", ev)
	}
}

func TestReplicateRollbackAfterCutoverPowersSourcesOnAndAbandons(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 5*time.Hour, func() {
		signal(h.env, SignalRollback, Action{By: "ana@example.com", Reason: "orders missing"})
	})
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	calls := h.f.Calls()
	for _, pair := range [][2]string{
		{activities.TrafficToDatacenterName, activities.PowerOnSourcesName},
		{activities.PowerOnSourcesName, activities.TerraformDestroyName},
		{activities.TerraformDestroyName, activities.CleanupReplicationName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("rollback: %s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	if c := h.f.Data.Cleanups; len(c) != 1 || !c[0].Abandon || !c[0].DeleteDisks {
		t.Errorf("cleanups %+v, want one abandon with the disks (destroy policy)", c)
	}
	found := false
	for _, n := range h.f.Notes() {
		if n.Event == "rollback" && strings.Contains(n.Detail, "NOT copied back") {
			found = true
		}
	}
	if !found {
		t.Errorf("the rollback notification does not say GCP writes are lost: %+v", h.f.Notes())
	}
}

func TestReplicateRejectedCutoverAbandonsTheReplication(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.spec.Rollback.Policy = "keep"
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalReject, Approval{Stage: GateCutover, Approver: "ana@example.com", Comment: "not this quarter"})
	})
	res := h.run()
	if res.Outcome != StageRejected {
		t.Fatalf("outcome %s, want Rejected", res.Outcome)
	}
	if h.f.Count(activities.TerraformApplyName)+h.f.Count(activities.TerraformDestroyName)+h.f.Count(activities.PowerOnSourcesName) != 0 {
		t.Errorf("nothing was provisioned nor shut down, yet %v", h.f.Calls())
	}
	if c := h.f.Data.Cleanups; len(c) != 1 || !c[0].Abandon || c[0].DeleteDisks {
		t.Errorf("cleanups %+v, want one abandon keeping disks (keep policy)", c)
	}
}

func TestReplicateFailedTestCloneParks(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.f.Data.CloneFails = true
	h.approve(time.Hour, GatePlan, "bo@example.com")
	var parked Status
	at(h.env, 3*time.Hour, func() {
		parked = status(h.env)
		signal(h.env, SignalRollback, Action{By: "ana@example.com", Reason: "does not boot"})
	})
	res := h.run()
	if parked.Stage != StageBlocked || parked.LastError == nil || parked.LastError.Reason != string(runbooks.ReasonTestCloneFailed) {
		t.Fatalf("at the failed clone: stage %s, error %+v; want Blocked on test-clone-failed", parked.Stage, parked.LastError)
	}
	if !strings.Contains(parked.LastError.Message, "no answer on :80") {
		t.Errorf("error %q does not say why the clone failed", parked.LastError.Message)
	}
	if res.Outcome != StageRolledBack || len(h.f.Data.Cleanups) != 1 || !h.f.Data.Cleanups[0].Abandon {
		t.Errorf("outcome %s, cleanups %+v; want RolledBack with the replication abandoned", res.Outcome, h.f.Data.Cleanups)
	}
}

func TestSyncLagGateHoldsTheCutoverUntilTheLagDrops(t *testing.T) {
	h := newHarness(t)
	h.spec = syncSpec()
	h.f.Data.Lags = []time.Duration{90 * time.Second, 60 * time.Second, 45 * time.Second, 10 * time.Second}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	var waiting *Waiting
	at(h.env, time.Hour+90*time.Second, func() { waiting = status(h.env).Waiting })
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(72*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; last error %+v", res.Outcome, res.Status.LastError)
	}
	if waiting == nil || waiting.Gate != waitSyncLag || !strings.Contains(waiting.Hint, "more than max_lag 30s") {
		t.Errorf("while the lag is high the workflow waits %+v, want gate %s", waiting, waitSyncLag)
	}
	calls := h.f.Calls()
	start, catchUp := activities.RunSyncCommandName+":start", activities.RunSyncCommandName+":catch_up"
	for _, pair := range [][2]string{
		{activities.TerraformApplyName, start},
		{start, activities.ProbeSyncLagName},
		{catchUp, activities.ShiftTrafficName},
	} {
		if !before(calls, pair[0], pair[1]) {
			t.Errorf("%s must run before %s: %v", pair[0], pair[1], calls)
		}
	}
	// Four measurements before the gate (three too high), one more before
	// the first shift.
	if n := h.f.Count(activities.ProbeSyncLagName); n != 5 {
		t.Errorf("lag probed %d times, want 5", n)
	}
	if l := res.Status.Evidence.SyncLag; len(l) != 5 || l[0].Pass || !l[3].Pass {
		t.Errorf("lag evidence %+v", l)
	}
	if h.f.Count(activities.RunSyncCommandName+":reverse") != 0 {
		t.Errorf("reverse sync ran without a rollback: %v", calls)
	}
}

func TestSyncRollbackAfterCutoverRunsTheReverseSync(t *testing.T) {
	h := newHarness(t)
	h.spec = syncSpec()
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 2*time.Hour+90*time.Second, func() {
		signal(h.env, SignalRollback, Action{By: "ana@example.com", Reason: "latency"})
	})
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s, want RolledBack", res.Outcome)
	}
	calls := h.f.Calls()
	reverse := activities.RunSyncCommandName + ":reverse"
	if !before(calls, activities.TrafficToDatacenterName, reverse) || !before(calls, reverse, activities.TerraformDestroyName) {
		t.Errorf("rollback order %v: traffic back, then the reverse sync, then destroy", calls)
	}
}

func TestPlainAppTakesNoDataVersionMarker(t *testing.T) {
	// Apps that move no data replay older histories: no marker, no steps.
	h := newHarness(t)
	h.approveAll()
	h.run()
	for _, c := range h.f.Calls() {
		if strings.Contains(c, "Replication") || strings.Contains(c, "Sync") {
			t.Fatalf("a plain app ran %s", c)
		}
	}
}

// A replicating app that waits three weeks at its cutover gate extends its
// migrations every week in the background, and stops once cut over.
func TestReplicationKeptAliveWhileTheGateWaits(t *testing.T) {
	h := newHarness(t)
	h.spec = replicateSpec()
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(20*24*time.Hour, GateCutover, "bo@example.com")
	h.approve(60*24*time.Hour, GateDecommission, "ana@example.com")
	var atCutover int
	at(h.env, 20*24*time.Hour+time.Minute, func() { atCutover = h.f.Count(activities.ExtendReplicationName) })
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; last error %+v", res.Outcome, res.Status.LastError)
	}
	// Once after the first sync, then on days ~7 and ~14 of the wait.
	if atCutover != 3 {
		t.Errorf("ExtendReplication ran %d times by the cutover, want 3 (first sync, then weekly)", atCutover)
	}
	if n := h.f.Count(activities.ExtendReplicationName); n != atCutover {
		t.Errorf("ExtendReplication ran %d times in all, %d after the cutover: want none after", n, n-atCutover)
	}
}
