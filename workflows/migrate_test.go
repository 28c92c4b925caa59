package workflows

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/runbooks"
)

type harness struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	f    *fakeacts.Fakes
	in   MigrateAppInput
	spec plan.AppSpec // the reviewed plan's spec, served by the static store
}

func newHarness(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) // a Monday
	f := &fakeacts.Fakes{}
	f.Register(env)
	env.RegisterWorkflowWithOptions(MigrateApp, registerOpts(MigrateAppWorkflowName))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: testWorkflowID})
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	return &harness{t: t, env: env, f: f, spec: testSpec(), in: signedStart("billing-api", "carl@example.com", start)}
}

func (h *harness) approve(d time.Duration, gate, who string) {
	at(h.env, d, func() { signal(h.env, SignalApprove, Approval{Stage: gate, Approver: who, Comment: "ok"}) })
}

func (h *harness) run() MigrateAppResult {
	h.t.Helper()
	if h.f.Plans == nil {
		h.f.Plans = &planstore.Static{Digest: testDigest, Specs: []plan.AppSpec{h.spec}}
	}
	h.env.ExecuteWorkflow(MigrateApp, h.in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatalf("workflow did not complete; stage %s", status(h.env).Stage)
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var res MigrateAppResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// approveAll approves every gate in order at generous times.
func (h *harness) approveAll() {
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
}

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	h.approveAll()
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s, want Done; history %+v", res.Outcome, res.Status.History)
	}
	if got := len(res.Status.Approvals); got != 3 {
		t.Errorf("approvals recorded = %d, want 3", got)
	}
	if w := h.f.Weights(); len(w) != 3 || w[0] != 10 || w[1] != 50 || w[2] != 100 {
		t.Errorf("traffic steps %v, want [10 50 100]", w)
	}
	for _, name := range []string{"DiscoverApp", "CheckDependencies", "TerraformPlan", "TerraformApply", "HealthCheck", "PowerOffSources", "FinalizeDecommission", "RunHook:smoke", "RunHook:final-sync"} {
		if h.f.Count(name) != 1 {
			t.Errorf("%s called %d times, want 1 (calls %v)", name, h.f.Count(name), h.f.Calls())
		}
	}
	if h.f.Count("TerraformDestroy") != 0 || h.f.Count("TrafficToDatacenter") != 0 {
		t.Errorf("rollback activities ran on the happy path: %v", h.f.Calls())
	}
	if res.Status.TrafficPercent != 100 {
		t.Errorf("traffic %d, want 100", res.Status.TrafficPercent)
	}
	var events []string
	for _, n := range h.f.Notes() {
		events = append(events, n.Event)
	}
	for _, e := range []string{"gate-waiting", "cutover-done", "decommission-done"} {
		if !strings.Contains(strings.Join(events, ","), e) {
			t.Errorf("no %s notification (got %v)", e, events)
		}
	}
}

func TestPlanGateRejected(t *testing.T) {
	h := newHarness(t)
	at(h.env, time.Hour, func() {
		signal(h.env, SignalReject, Approval{Stage: GatePlan, Approver: "ana@example.com", Comment: "too big"})
	})
	res := h.run()
	if res.Outcome != StageRejected {
		t.Fatalf("outcome %s, want Rejected", res.Outcome)
	}
	if h.f.Count("TerraformApply")+h.f.Count("TerraformDestroy") != 0 {
		t.Errorf("nothing was provisioned, yet %v", h.f.Calls())
	}
	if r := res.Status.Approvals; len(r) != 1 || r[0].Decision != "rejected" {
		t.Errorf("rejection not recorded: %+v", r)
	}
}

func TestCutoverGateRejectedDestroys(t *testing.T) {
	h := newHarness(t)
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalReject, Approval{Stage: GateCutover, Approver: "bo@example.com", Comment: "not now"})
	})
	res := h.run()
	if res.Outcome != StageRejected || h.f.Count("TerraformDestroy") != 1 {
		t.Fatalf("outcome %s, destroy %d: want Rejected and one destroy", res.Outcome, h.f.Count("TerraformDestroy"))
	}
	if h.f.Count("TrafficToDatacenter") != 0 {
		t.Errorf("traffic was never shifted; no traffic rollback expected")
	}
}

func TestDecommissionGateRejectedRollsBack(t *testing.T) {
	h := newHarness(t)
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	at(h.env, 48*time.Hour, func() {
		signal(h.env, SignalReject, Approval{Stage: GateDecommission, Approver: "ana@example.com", Comment: "keep DC"})
	})
	res := h.run()
	if res.Outcome != StageRejected || h.f.Count("TrafficToDatacenter") != 1 {
		t.Fatalf("outcome %s, calls %v", res.Outcome, h.f.Calls())
	}
}

func TestGateTimeoutRemindsAndNeverApproves(t *testing.T) {
	h := newHarness(t)
	// Nobody answers for 13 hours (reminders every 4 h), then bo approves.
	var stageAt12h string
	at(h.env, 12*time.Hour+time.Minute, func() { stageAt12h = status(h.env).Stage })
	h.approve(13*time.Hour, GatePlan, "bo@example.com")
	h.approve(14*time.Hour, GateCutover, "bo@example.com")
	h.approve(60*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if stageAt12h != StageApprovePlan {
		t.Errorf("stage after 12 h without approval = %s, want ApprovePlan", stageAt12h)
	}
	reminders := 0
	for _, n := range h.f.Notes() {
		if n.Event == "gate-reminder" && strings.Contains(n.Needed, "plan") {
			reminders++
		}
	}
	if reminders != 3 {
		t.Errorf("reminders = %d, want 3 (at 4, 8 and 12 h)", reminders)
	}
	if res.Outcome != StageDone {
		t.Errorf("outcome %s", res.Outcome)
	}
}

func TestUnauthorizedAndSeparationOfDuties(t *testing.T) {
	h := newHarness(t)
	at(h.env, 30*time.Minute, func() {
		signal(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "mallory@example.com"})
	})
	h.approve(time.Hour, GatePlan, "bo@example.com")
	// carl started the migration: he is not even an approver here; make him one to test separation of duties.
	h.spec.Approvers[GateCutover] = append(h.spec.Approvers[GateCutover], "carl@example.com")
	at(h.env, 90*time.Minute, func() {
		signal(h.env, SignalApprove, Approval{Stage: GateCutover, Approver: "carl@example.com"})
	})
	var stageAfter string
	at(h.env, 100*time.Minute, func() { stageAfter = status(h.env).Stage })
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if stageAfter != StageApproveCutover {
		t.Errorf("a refused approval moved the workflow on: stage %s", stageAfter)
	}
	audit := res.Status.Audit
	if len(audit) != 2 {
		t.Fatalf("audit = %+v, want 2 entries", audit)
	}
	if !strings.Contains(audit[0].Reason, "mallory@example.com is not an approver") {
		t.Errorf("audit[0] = %q", audit[0].Reason)
	}
	if !strings.Contains(audit[1].Reason, "separation of duties") {
		t.Errorf("audit[1] = %q", audit[1].Reason)
	}
	if res.Outcome != StageDone {
		t.Errorf("outcome %s", res.Outcome)
	}
}

func TestChangeWindowWait(t *testing.T) {
	h := newHarness(t)
	// Window: Saturdays 22:00 UTC for 4 h. Start Monday 10:00.
	h.spec.Cutover.Windows = []plan.Window{{Days: []time.Weekday{time.Saturday}, Start: "22:00", Duration: 4 * time.Hour, TimeZone: "UTC"}}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	var waiting *Waiting
	at(h.env, 3*time.Hour, func() { waiting = status(h.env).Waiting })
	h.approve(8*24*time.Hour, GateDecommission, "ana@example.com")
	h.run()
	if waiting == nil || waiting.Gate != GateWindowOverride || waiting.Required != 2 {
		t.Fatalf("after approval outside the window, waiting = %+v, want the window (override by 2)", waiting)
	}
	want := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	if !waiting.Until.Equal(want) {
		t.Errorf("window opens at %s, want %s", waiting.Until, want)
	}
	if !strings.Contains(waiting.Hint, "the cutover waits for the change window") {
		t.Errorf("hint %q does not say the cutover waits for its window", waiting.Hint)
	}
}

// saturdayWindow opens Saturdays 22:00 UTC for d; harness time starts on
// Monday 2026-11-23 10:00, so it first opens 5 days 12 hours in.
func saturdayWindow(d time.Duration) []plan.Window {
	return []plan.Window{{Days: []time.Weekday{time.Saturday}, Start: "22:00", Duration: d, TimeZone: "UTC"}}
}

// The window is checked before every traffic step: a cutover that
// outlasts it holds traffic where it is until the next window.
func TestWindowCheckedBeforeEveryStep(t *testing.T) {
	h := newHarness(t)
	h.spec.Cutover.Windows = saturdayWindow(time.Hour)
	h.spec.Cutover.Steps = []plan.Step{{Percent: 10, Bake: 2 * time.Hour}, {Percent: 50}, {Percent: 100}}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	var mid Status
	at(h.env, 5*24*time.Hour+15*time.Hour, func() { mid = status(h.env) }) // Sunday 01:00
	h.approve(14*24*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if mid.TrafficPercent != 10 || mid.Waiting == nil || mid.Waiting.Gate != GateWindowOverride ||
		!mid.Waiting.Until.Equal(time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)) || !strings.Contains(mid.Waiting.Hint, "the 50 % step") {
		t.Fatalf("after the window closed mid-cutover: traffic %d %%, waiting %+v", mid.TrafficPercent, mid.Waiting)
	}
	if res.Outcome != StageDone {
		t.Errorf("outcome %s", res.Outcome)
	}
}

// outside_window = "rollback": a step that would start after the window
// closed rolls the cutover back instead.
func TestWindowClosedRollsBackWhenThePlanSaysSo(t *testing.T) {
	h := newHarness(t)
	h.spec.Cutover.Windows = saturdayWindow(time.Hour)
	h.spec.Cutover.OutsideWindow = plan.OutsideWindowRollback
	h.spec.Cutover.Steps = []plan.Step{{Percent: 10, Bake: 2 * time.Hour}, {Percent: 100}}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	res := h.run()
	if res.Outcome != StageRolledBack || !strings.Contains(res.Status.RollbackReason, "change window closed before the 100 % step") {
		t.Fatalf("outcome %s, rollback reason %q", res.Outcome, res.Status.RollbackReason)
	}
}

// An emergency override of a closed window takes two distinct verified
// cutover approvers, not the starter, and is audited.
func TestWindowOverrideNeedsTwoApprovers(t *testing.T) {
	h := newHarness(t)
	h.spec.Cutover.Windows = saturdayWindow(4 * time.Hour)
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	var afterOne Status
	h.approve(3*time.Hour, GateWindowOverride, "ana@example.com")
	h.approve(3*time.Hour+time.Minute, GateWindowOverride, "ana@example.com") // the same person twice
	at(h.env, 3*time.Hour+2*time.Minute, func() { afterOne = status(h.env) })
	h.approve(4*time.Hour, GateWindowOverride, "bo@example.com")
	var afterTwo Status
	at(h.env, 4*time.Hour+time.Minute, func() { afterTwo = status(h.env) })
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if afterOne.Waiting == nil || afterOne.Waiting.Gate != GateWindowOverride || len(afterOne.Waiting.Approved) != 1 {
		t.Fatalf("one approver overrode the window: %+v", afterOne.Waiting)
	}
	if afterTwo.Stage != StageCutover || afterTwo.Waiting != nil && afterTwo.Waiting.Gate == GateWindowOverride {
		t.Fatalf("two approvers did not override: stage %s waiting %+v", afterTwo.Stage, afterTwo.Waiting)
	}
	var overrides int
	for _, a := range res.Status.Approvals {
		if a.Stage == GateWindowOverride && a.Verified {
			overrides++
		}
	}
	var audited, twice bool
	for _, a := range res.Status.Audit {
		audited = audited || a.Signal == GateWindowOverride && strings.Contains(a.Reason, "ana@example.com, bo@example.com")
		twice = twice || strings.Contains(a.Reason, "already approved")
	}
	if res.Outcome != StageDone || overrides != 2 || !audited || !twice {
		t.Fatalf("outcome %s, %d override approvals, audited %v, second approval by the same person refused %v: %+v",
			res.Outcome, overrides, audited, twice, res.Status.Audit)
	}
}

func applyErr() error {
	return temporal.NewNonRetryableApplicationError("apply failed: quota exceeded for CPUS in europe-west1", string(runbooks.ReasonTerraformApply), nil)
}

func TestStepFailsThenRetryResumesAtFailedStep(t *testing.T) {
	h := newHarness(t)
	h.f.Apply = func(n int) error {
		if n == 1 {
			return applyErr()
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	var blocked Status
	at(h.env, 90*time.Minute, func() { blocked = status(h.env) })
	at(h.env, 2*time.Hour, func() { signal(h.env, SignalRetry, Action{By: "bo@example.com"}) })
	h.approve(3*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if blocked.Stage != StageBlocked || blocked.LastError == nil || blocked.LastError.Reason != "terraform-apply-failed" {
		t.Fatalf("not parked with the apply reason: %+v", blocked.LastError)
	}
	if !strings.Contains(blocked.LastError.Runbook, "terraform-apply-failed.md") {
		t.Errorf("runbook link %q", blocked.LastError.Runbook)
	}
	if h.f.Count("TerraformApply") != 2 || h.f.Count("TerraformPlan") != 1 || h.f.Count("DiscoverApp") != 1 {
		t.Errorf("retry did not resume at the failed step: %v", h.f.Calls())
	}
	if res.Outcome != StageDone {
		t.Errorf("outcome %s", res.Outcome)
	}
}

// A retry of an apply parked because the plan changed since approval
// re-plans and returns to the plan gate, as the runbook says: the new plan
// is approved before anything is applied.
func TestRetryAfterPlanChangedReplans(t *testing.T) {
	h := newHarness(t)
	h.f.Apply = func(n int) error {
		if n == 1 {
			return temporal.NewNonRetryableApplicationError("terraform plan of app changed since it was approved", string(runbooks.ReasonTerraformPlanDrift), nil)
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	var gateAgain Status
	at(h.env, 2*time.Hour, func() { signal(h.env, SignalRetry, Action{By: "bo@example.com"}) })
	at(h.env, 150*time.Minute, func() { gateAgain = status(h.env) })
	h.approve(3*time.Hour, GatePlan, "ana@example.com")
	h.approve(4*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if gateAgain.Waiting == nil || gateAgain.Waiting.Gate != GatePlan {
		t.Fatalf("after the retry: stage %s waiting %+v, want the plan gate", gateAgain.Stage, gateAgain.Waiting)
	}
	if h.f.Count("TerraformPlan") != 2 || h.f.Count("TerraformApply") != 2 {
		t.Errorf("retry did not re-plan before applying: %v", h.f.Calls())
	}
	plans := 0
	for _, a := range res.Status.Approvals {
		if a.Stage == GatePlan {
			plans++
		}
	}
	if res.Outcome != StageDone || plans != 2 {
		t.Errorf("outcome %s, %d plan approvals", res.Outcome, plans)
	}
}

func TestSkipOnlyWhereAllowed(t *testing.T) {
	h := newHarness(t)
	h.f.Hook = func(hs plan.HookSpec) error {
		if hs.Name == "smoke" {
			return temporal.NewNonRetryableApplicationError("smoke test exited 1: GET /health 503", string(runbooks.ReasonHookFailed), nil)
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() { signal(h.env, SignalSkip, Action{By: "bo@example.com"}) }) // refused: not skippable
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "smoke test keeps failing"})
	})
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(res.Status.Audit) != 1 || !strings.Contains(res.Status.Audit[0].Reason, "does not allow skipping") {
		t.Errorf("refused skip not audited: %+v", res.Status.Audit)
	}
	if h.f.Count("TerraformDestroy") != 1 {
		t.Errorf("rollback did not destroy what was provisioned: %v", h.f.Calls())
	}
	if res.Status.RollbackReason != "smoke test keeps failing" {
		t.Errorf("rollback reason %q", res.Status.RollbackReason)
	}
}

func TestSkipAllowed(t *testing.T) {
	h := newHarness(t)
	h.spec.Skippable = []string{"hook:smoke"}
	h.f.Hook = func(hs plan.HookSpec) error {
		if hs.Name == "smoke" {
			return temporal.NewNonRetryableApplicationError("smoke failed", string(runbooks.ReasonHookFailed), nil)
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() { signal(h.env, SignalSkip, Action{By: "bo@example.com", Reason: "flaky"}) })
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if res.Outcome != StageDone || len(res.Status.Skipped) != 1 || res.Status.Skipped[0] != "hook:smoke" {
		t.Fatalf("outcome %s skipped %v", res.Outcome, res.Status.Skipped)
	}
}

func TestAutoRollbackFromSLOGate(t *testing.T) {
	h := newHarness(t)
	h.f.SLO = func(p int) activityResult {
		if p == 50 {
			return activityResult{Pass: false, Reason: "error ratio 0.31 > 0.01 on the GCP backend", ErrorRatio: 0.31}
		}
		return activityResult{Pass: true}
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if w := h.f.Weights(); len(w) != 3 || w[2] != 0 {
		t.Errorf("weights %v, want [10 50 0]", w)
	}
	// Traffic first, then destroy.
	ti, di := -1, -1
	for i, c := range h.f.Calls() {
		switch c {
		case "TrafficToDatacenter":
			ti = i
		case "TerraformDestroy":
			di = i
		}
	}
	if ti < 0 || di < 0 || ti > di {
		t.Errorf("saga order wrong: %v", h.f.Calls())
	}
	if !strings.Contains(res.Status.RollbackReason, "SLO gate failed at 50 %") {
		t.Errorf("reason %q", res.Status.RollbackReason)
	}
}

func TestRollbackDuringRetentionPowersSourcesOn(t *testing.T) {
	h := newHarness(t)
	h.spec.Rollback.Policy = "keep"
	h.approveAll()
	at(h.env, 72*time.Hour, func() { signal(h.env, SignalRollback, Action{By: "ana@example.com", Reason: "DC app still needed"}) })
	res := h.run()
	if res.Outcome != StageRolledBack {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if h.f.Count("PowerOnSources") != 1 || h.f.Count("TrafficToDatacenter") != 1 || h.f.Count("TerraformDestroy") != 0 {
		t.Errorf("saga with keep policy: %v", h.f.Calls())
	}
	if h.f.Count("FinalizeDecommission") != 0 {
		t.Errorf("final action ran after rollback")
	}
}

func TestRollbackRefusedAfterDecommission(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// A workflow whose decommission has completed refuses rollback and
	// records the attempt.
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) ([]AuditEntry, error) {
		m := &migration{decommissioned: true, spec: testSpec()}
		err := m.act(ctx, "rollback", Action{By: "ana@example.com", Reason: "too late"}, "")
		if err == nil || !strings.Contains(err.Error(), "decommission of billing-api completed") {
			return nil, fmt.Errorf("rollback after decommission: %v", err)
		}
		return m.st.Audit, nil
	}, registerOpts("refuse"))
	env.ExecuteWorkflow("refuse")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var audit []AuditEntry
	if err := env.GetWorkflowResult(&audit); err != nil || len(audit) != 1 {
		t.Fatalf("audit %+v %v", audit, err)
	}
}

func TestRollbackFailureParksAndRetries(t *testing.T) {
	h := newHarness(t)
	fixed := false
	h.f.Destroy = func(n int) error {
		if !fixed {
			return errors.New("googleapi: Error 503")
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() { signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "abandon"}) })
	var parked Status
	at(h.env, 5*time.Hour, func() { parked = status(h.env) })
	at(h.env, 6*time.Hour, func() { fixed = true; signal(h.env, SignalRetry, Action{By: "bo@example.com"}) })
	res := h.run()
	if parked.Stage != StageBlocked || parked.LastError == nil {
		t.Fatalf("failed rollback step did not park: %+v", parked)
	}
	if res.Outcome != StageRolledBack || h.f.Count("TerraformDestroy") < 2 {
		t.Fatalf("outcome %s calls %v", res.Outcome, h.f.Calls())
	}
}

func TestMalformedSignalIsAuditedNotFatal(t *testing.T) {
	h := newHarness(t)
	at(h.env, 10*time.Minute, func() { h.env.SignalWorkflow(SignalApprove, "not an object") })
	at(h.env, 20*time.Minute, func() {
		signal(h.env, SignalApprove, map[string]any{"stage": "plan", "approver": "bo@example.com", "extra": 1})
	})
	at(h.env, 30*time.Minute, func() { signal(h.env, SignalApprove, Approval{Stage: "launch", Approver: "bo@example.com"}) })
	h.approveAll()
	res := h.run()
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(res.Status.Audit) != 3 {
		t.Fatalf("audit %+v, want 3 refusals", res.Status.Audit)
	}
	for _, a := range res.Status.Audit[:2] {
		if !strings.Contains(a.Reason, "malformed JSON") {
			t.Errorf("audit %q", a.Reason)
		}
	}
	if !strings.Contains(res.Status.Audit[2].Reason, "is not a gate") {
		t.Errorf("audit %q", res.Status.Audit[2].Reason)
	}
}

func TestDependencyLeftBehindNeedsAcknowledgement(t *testing.T) {
	h := newHarness(t)
	h.f.Deps.LeftBehind = []string{"ledger-db"}
	h.approve(time.Hour, GateDependencies, "ana@example.com")
	h.approve(2*time.Hour, GatePlan, "bo@example.com")
	h.approve(3*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if res.Outcome != StageDone || len(res.Status.Approvals) != 4 || res.Status.Approvals[0].Stage != GateDependencies {
		t.Fatalf("outcome %s approvals %+v", res.Outcome, res.Status.Approvals)
	}
}

func TestUpdateApproveAnswersAtOnce(t *testing.T) {
	h := newHarness(t)
	var denied, accepted error
	var acceptedRec ApprovalRecord
	at(h.env, time.Hour, func() {
		h.env.UpdateWorkflow(UpdateApprove, "u1", &updateCB{done: func(v any, err error) { denied = err }},
			Approval{Stage: GatePlan, Approver: "mallory@example.com"})
		h.env.UpdateWorkflow(UpdateApprove, "u2", &updateCB{done: func(v any, err error) {
			accepted = err
			if r, ok := v.(*ApprovalRecord); ok {
				acceptedRec = *r
			}
		}, out: &ApprovalRecord{}}, signed(h.env, UpdateApprove, Approval{Stage: GatePlan, Approver: "bo@example.com"}))
	})
	var rejectedByValidator error
	at(h.env, 90*time.Minute, func() {
		h.env.UpdateWorkflow(UpdateApprove, "u3", &updateCB{done: func(v any, err error) { rejectedByValidator = err }}, Approval{Stage: "plan"})
	})
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(48*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if denied == nil || !strings.Contains(denied.Error(), "not an approver") {
		t.Errorf("unauthorized update: %v", denied)
	}
	if accepted != nil || acceptedRec.Decision != "approved" {
		t.Errorf("authorized update: %v %+v", accepted, acceptedRec)
	}
	if rejectedByValidator == nil || !strings.Contains(rejectedByValidator.Error(), "approver") {
		t.Errorf("validator: %v", rejectedByValidator)
	}
	if res.Outcome != StageDone || len(res.Status.Audit) != 1 {
		t.Errorf("outcome %s audit %+v", res.Outcome, res.Status.Audit)
	}
}

// TestEveryStageFailsThenRetrySkipOrRollback makes each stage's activity
// fail once, non-retryably, and answers the parked workflow with retry,
// skip (allowed for that stage) and rollback.
func TestEveryStageFailsThenRetrySkipOrRollback(t *testing.T) {
	stages := map[string]string{
		activities.DiscoverAppName:          StageDiscover,
		activities.CheckDependenciesName:    StageMapDependencies,
		activities.TerraformPlanName:        StagePlan,
		activities.TerraformApplyName:       StageProvision,
		activities.RunHookName:              StageSyncVerify, // the smoke test (first hook to run)
		activities.HealthCheckName:          StageSyncVerify,
		activities.ShiftTrafficName:         StageCutover,
		activities.WatchSLOName:             StageCutover,
		activities.PowerOffSourcesName:      StageDecommission,
		activities.FinalizeDecommissionName: StageDecommission,
	}
	for name, stage := range stages {
		for _, action := range []string{SignalRetry, SignalSkip, SignalRollback} {
			t.Run(name+"/"+action, func(t *testing.T) {
				h := newHarness(t)
				h.spec.Skippable = []string{stage}
				failed := false
				h.f.Fail = func(n string) error {
					if n == name && !failed {
						failed = true
						return temporal.NewNonRetryableApplicationError(n+" failed", "test-failure", nil)
					}
					return nil
				}
				var parked Status
				probe := func(at time.Duration) {
					at2 := at
					h.env.RegisterDelayedCallback(func() {
						st := status(h.env)
						if st.Stage == StageBlocked && parked.Stage == "" {
							parked = st
							signal(h.env, action, Action{By: "bo@example.com", Reason: "test " + action})
						}
					}, at2)
				}
				// Park points differ by stage: probe often; approve every
				// gate once it opens.
				for i := 1; i < 600; i++ {
					probe(time.Duration(i) * 30 * time.Minute)
				}
				h.approve(time.Hour+time.Minute, GatePlan, "bo@example.com")
				h.approve(2*time.Hour+time.Minute, GateCutover, "bo@example.com")
				h.approve(3*time.Hour+time.Minute, GatePlan, "bo@example.com") // late plan gates (after a retry)
				h.approve(4*time.Hour+time.Minute, GateCutover, "bo@example.com")
				h.approve(60*time.Hour, GateDecommission, "ana@example.com")
				h.approve(90*time.Hour, GateDecommission, "ana@example.com")
				res := h.run()
				if parked.LastError == nil || parked.LastError.Reason != "test-failure" {
					t.Fatalf("did not park on %s: %+v", name, parked.LastError)
				}
				want := StageDone
				if action == SignalRollback {
					want = StageRolledBack
				}
				if res.Outcome != want {
					t.Errorf("outcome %s, want %s (history %+v)", res.Outcome, want, res.Status.History)
				}
				if action == SignalSkip && len(res.Status.Skipped) != 1 {
					t.Errorf("skipped %v", res.Status.Skipped)
				}
			})
		}
	}
}
