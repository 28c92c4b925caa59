package workflows

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/runbooks"
)

// onlyResolved asserts nothing but plan resolution ran.
func onlyResolved(t *testing.T, calls []string) {
	t.Helper()
	for _, c := range calls {
		if c != "ResolveApp" {
			t.Errorf("a refused migration ran %s (calls %v)", c, calls)
		}
	}
}

func TestForgedStartRunsNothing(t *testing.T) {
	for name, mutate := range map[string]func(h *harness){
		"unsigned":            func(h *harness) { h.in.Signature = "" },
		"signed by another":   func(h *harness) { h.in.StartedBy = "bo@example.com" },
		"starter not in plan": func(h *harness) { h.in = signedStart("billing-api", "mallory@example.com", h.in.IssuedAt) },
		"signature for digest": func(h *harness) {
			h.in.PlanDigest = "sha256:" + strings.Repeat("0", 63) + "2"
			h.spec.Name = "billing-api"
		},
		"stale statement": func(h *harness) {
			h.in = signedStart("billing-api", "carl@example.com", h.in.IssuedAt.Add(-48*time.Hour))
		},
		"forged wave child": func(h *harness) { h.in.WaveWorkflowID, h.in.WaveToken = WaveWorkflowID("wave-1"), "x" },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			mutate(h)
			h.f.Plans = &planstore.Static{Digest: testDigest, Specs: []plan.AppSpec{h.spec}}
			h.env.ExecuteWorkflow(MigrateApp, h.in)
			var res MigrateAppResult
			if name == "signature for digest" {
				// The store does not hold that digest: parked, nothing ran.
				st := status(h.env)
				if st.Stage != StageBlocked || st.LastError == nil || st.LastError.Reason != string(runbooks.ReasonPlanDigestUnknown) {
					t.Fatalf("unknown digest: stage %s, error %+v", st.Stage, st.LastError)
				}
				onlyResolved(t, h.f.Calls())
				return
			}
			if err := h.env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != StageRefused {
				t.Fatalf("outcome %s, want Refused", res.Outcome)
			}
			if len(res.Status.Audit) != 1 || !strings.Contains(res.Status.Audit[0].Reason, "start refused") {
				t.Errorf("refusal not audited: %+v", res.Status.Audit)
			}
			onlyResolved(t, h.f.Calls())
		})
	}
}

func TestUnknownDigestParksThenResolvesOncePublished(t *testing.T) {
	h := newHarness(t)
	h.f.Plans = &planstore.Static{Digest: "sha256:" + strings.Repeat("9", 64), Specs: []plan.AppSpec{h.spec}}
	at(h.env, time.Minute, func() {
		st := status(h.env)
		if st.Stage != StageBlocked || st.LastError.Reason != string(runbooks.ReasonPlanDigestUnknown) {
			t.Errorf("stage %s, error %+v", st.Stage, st.LastError)
		}
		onlyResolved(t, h.f.Calls())
		h.f.Plans = &planstore.Static{Digest: testDigest, Specs: []plan.AppSpec{h.spec}} // published
		signalRaw(h.env, SignalRetry, Action{By: "anyone"})                              // harmless: re-reads the store
	})
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "test over"})
	})
	res := h.run()
	if res.Outcome != StageRolledBack || h.f.Count("TerraformPlan") != 1 {
		t.Fatalf("outcome %s, calls %v", res.Outcome, h.f.Calls())
	}
}

func TestUnsignedAndForgedApprovalsRefused(t *testing.T) {
	h := newHarness(t)
	at(h.env, 30*time.Minute, func() {
		// A raw signal naming a real approver, unsigned (the UI without --print-signal).
		signalRaw(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "bo@example.com"})
		// Signed by mallory's key in bo's name.
		st := status(h.env)
		stmt := identity.Statement{WorkflowID: testWorkflowID, RunID: st.RunID, Kind: "approve", Stage: GatePlan, Seq: st.Waiting.Seq, By: "bo@example.com", IssuedAt: h.env.Now()}
		sig, _ := identity.Sign(stmt, testkeys.Signer("mallory@example.com"))
		signalRaw(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "bo@example.com", Seq: st.Waiting.Seq, IssuedAt: stmt.IssuedAt, Signature: sig})
		// bo's real signature, but over another opening of the gate.
		stmt.Seq++
		sig, _ = identity.Sign(stmt, testkeys.Signer("bo@example.com"))
		signalRaw(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "bo@example.com", Seq: st.Waiting.Seq, IssuedAt: stmt.IssuedAt, Signature: sig})
		// bo's signature with the comment changed after signing.
		stmt.Seq--
		stmt.Text = "ok"
		sig, _ = identity.Sign(stmt, testkeys.Signer("bo@example.com"))
		signalRaw(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "bo@example.com", Comment: "ok, and delete prod", Seq: st.Waiting.Seq, IssuedAt: stmt.IssuedAt, Signature: sig})
	})
	var stageAfter string
	at(h.env, 40*time.Minute, func() { stageAfter = status(h.env).Stage })
	h.approve(time.Hour, GatePlan, "  Bo@Example.com ") // normalised
	at(h.env, 2*time.Hour, func() {
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "test over"})
	})
	res := h.run()
	if stageAfter != StageApprovePlan {
		t.Errorf("a refused approval moved the workflow on: %s", stageAfter)
	}
	if len(res.Status.Audit) != 4 {
		t.Fatalf("audit %+v, want 4 refusals", res.Status.Audit)
	}
	for i, want := range []string{"not signed", "does not verify", "does not verify", "does not verify"} {
		if !strings.Contains(res.Status.Audit[i].Reason, want) {
			t.Errorf("audit[%d] = %q, want %q", i, res.Status.Audit[i].Reason, want)
		}
	}
	if a := res.Status.Approvals; len(a) != 1 || !a[0].Verified || a[0].Approver != "bo@example.com" || a[0].KeyFingerprint == "" {
		t.Errorf("approvals %+v", a)
	}
}

func TestUnverifiedApprovalsWhereThePlanAllows(t *testing.T) {
	h := newHarness(t)
	h.spec.AllowUnverified = true
	at(h.env, time.Hour, func() { signalRaw(h.env, SignalApprove, Approval{Stage: GatePlan, Approver: "bo@example.com"}) })
	at(h.env, 2*time.Hour, func() {
		signalRaw(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "test over"})
	})
	res := h.run()
	if a := res.Status.Approvals; len(a) != 1 || a[0].Verified {
		t.Errorf("approvals %+v: want one, unverified", a)
	}
	if a := res.Status.Actions; len(a) != 1 || a[0].Verified || a[0].Kind != "rollback" {
		t.Errorf("actions %+v", a)
	}
}

func TestCutoverQuorum(t *testing.T) {
	h := newHarness(t)
	h.spec.Quorum = map[string]int{GateCutover: 2}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	h.approve(2*time.Hour, GateCutover, "bo@example.com")
	h.approve(2*time.Hour+time.Minute, GateCutover, "bo@example.com") // twice: refused
	var afterOne string
	at(h.env, 3*time.Hour, func() { afterOne = status(h.env).Stage })
	h.approve(4*time.Hour, GateCutover, "ana@example.com")
	h.approve(52*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if afterOne != StageApproveCutover {
		t.Errorf("one approval of two passed the cutover gate: %s", afterOne)
	}
	if res.Outcome != StageDone {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(res.Status.Audit) != 1 || !strings.Contains(res.Status.Audit[0].Reason, "already approved") {
		t.Errorf("audit %+v", res.Status.Audit)
	}
}

func TestActionsAuthorized(t *testing.T) {
	h := newHarness(t)
	h.f.Hook = func(hs plan.HookSpec) error {
		if hs.Name == "smoke" {
			return temporal.NewNonRetryableApplicationError("smoke failed", string(runbooks.ReasonHookFailed), nil)
		}
		return nil
	}
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() {
		signal(h.env, SignalRetry, Action{By: "mallory@example.com"})                          // not in the plan
		signalRaw(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "unsigned"})     // unsigned
		signal(h.env, SignalRollback, Action{By: "carl@example.com", Reason: "operator says"}) // operator: ok
	})
	res := h.run()
	if res.Outcome != StageRolledBack || res.Status.RollbackReason != "operator says" {
		t.Fatalf("outcome %s (%s)", res.Outcome, res.Status.RollbackReason)
	}
	if len(res.Status.Audit) != 2 || !strings.Contains(res.Status.Audit[0].Reason, "neither an approver nor an operator") || !strings.Contains(res.Status.Audit[1].Reason, "not signed") {
		t.Errorf("audit %+v", res.Status.Audit)
	}
}

func TestReleaseCutoverNeedsTheWaveToken(t *testing.T) {
	h := newHarness(t)
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 90*time.Minute, func() {
		signalRaw(h.env, SignalReleaseCutover, WaveMessage{App: "billing-api", Token: "guess"})
		signal(h.env, SignalRollback, Action{By: "bo@example.com", Reason: "test over"})
	})
	res := h.run()
	if len(res.Status.Audit) != 1 || !strings.Contains(res.Status.Audit[0].Reason, "wave token") {
		t.Errorf("audit %+v", res.Status.Audit)
	}
}

func TestNewerPlanReturnsToThePlanGate(t *testing.T) {
	h := newHarness(t)
	const newer = "sha256:0000000000000000000000000000000000000000000000000000000000000002"
	h.approve(time.Hour, GatePlan, "bo@example.com")
	at(h.env, 30*time.Minute, func() {
		// A reviewed change adds a hook; it is published while the app
		// waits at its plan gate: the cutover gate sees it when it opens.
		changed := h.spec
		changed.Hooks = append(slices.Clone(changed.Hooks), plan.HookSpec{Name: "warm-cache", At: plan.HookPostProvision, Command: []string{"true"}})
		h.f.Plans = &twoPlans{old: planstore.Static{Digest: testDigest, Specs: []plan.AppSpec{h.spec}},
			cur: planstore.Static{Digest: newer, Specs: []plan.AppSpec{changed}}}
	})
	h.approve(2*time.Hour, GatePlan, "bo@example.com") // the gate opens again
	h.approve(3*time.Hour, GateCutover, "bo@example.com")
	h.approve(52*time.Hour, GateDecommission, "ana@example.com")
	res := h.run()
	if res.Outcome != StageDone || res.Status.PlanDigest != newer {
		t.Fatalf("outcome %s, digest %s", res.Outcome, res.Status.PlanDigest)
	}
	if h.f.Count("TerraformPlan") != 2 || h.f.Count("RunHook:warm-cache") != 1 {
		t.Errorf("the newer plan was not re-planned and applied: %v", h.f.Calls())
	}
}

// twoPlans is a store holding an old and a current plan.
type twoPlans struct{ old, cur planstore.Static }

func (p *twoPlans) pick(d string) *planstore.Static {
	if d == p.cur.Digest {
		return &p.cur
	}
	return &p.old
}
func (p *twoPlans) App(ctx context.Context, app, d string) (plan.AppSpec, error) {
	return p.pick(d).App(ctx, app, d)
}
func (p *twoPlans) Wave(ctx context.Context, w, d string) (plan.Wave, []plan.AppSpec, error) {
	return p.pick(d).Wave(ctx, w, d)
}
func (p *twoPlans) Current(context.Context) (string, error) { return p.cur.Digest, nil }
