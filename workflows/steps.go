package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// defaultSteps is the traffic shift of a spec with none (the resolver
// always fills them in; the defaults live in package plan only).
func defaultSteps() []plan.Step {
	var out []plan.Step
	for _, p := range plan.DefaultSteps {
		out = append(out, plan.Step{Percent: p, Bake: plan.DefaultStepBake})
	}
	return out
}

// steps flattens the eleven stages into resumable steps. Where the app's
// data moves (replicate, sync) its strategy reorders and adds steps
// (data.go).
func (m *migration) steps(ctx workflow.Context) []step {
	var s []step
	add := func(stage, name string, fn func(workflow.Context) error) {
		s = append(s, step{stage: stage, name: name, run: fn})
	}
	add(StageDiscover, "discover", m.discover)
	add(StageMapDependencies, "map-dependencies", m.mapDependencies)
	add(StagePlan, "terraform-plan", m.terraformPlan)
	add(StageApprovePlan, "approve-plan", func(ctx workflow.Context) error {
		return m.gate(ctx, GatePlan, m.planEvidence())
	})
	data := m.dataStrategy(ctx)
	m.clientNamesOn = m.clientNamesVersion(ctx)
	m.holdOtherWaves = m.holdOtherWavesVersion(ctx)
	switch data {
	case plan.DataReplicate:
		m.replicateSteps(add)
	case plan.DataSync:
		m.syncSteps(add)
	default:
		m.provisionSteps(add)
		m.verifySteps(add)
		m.cutoverGate(add)
		for _, h := range m.hooks(plan.HookPreCutover) {
			add(StageCutover, "hook:"+h.Name, m.hook(h))
		}
		m.trafficSteps(add, m.cutoverSteps())
	}
	add(StageBake, "bake", func(ctx workflow.Context) error {
		return m.waitUntil(ctx, "bake", workflow.Now(ctx).Add(m.spec.Bake), "baking on 100 % GCP traffic; rollback stays one signal away")
	})
	add(StageApproveDecommission, "approve-decommission", func(ctx workflow.Context) error {
		return m.gate(ctx, GateDecommission, fmt.Sprintf("power off %d source VMs, keep them %s, then %s",
			len(m.spec.VMs), m.spec.Decommission.Retention, orDefault(m.spec.Decommission.FinalAction, "keep-off")))
	})
	if m.clientNamesOn {
		add(StageDecommission, stepClientDNSFinalize, func(ctx workflow.Context) error {
			return m.finalizeClientNames(ctx, m.exec)
		})
	}
	if data == plan.DataReplicate {
		add(StageDecommission, stepReplicationFinalize, m.finalizeReplication)
	}
	add(StageDecommission, "power-off-sources", m.powerOff)
	add(StageDecommission, "retention", func(ctx workflow.Context) error {
		return m.waitUntil(ctx, "retention", workflow.Now(ctx).Add(m.spec.Decommission.Retention),
			"source VMs are powered off and kept for the retention period; rollback still works")
	})
	add(StageDecommission, "final-action", m.finalAction)
	if data == plan.DataReplicate {
		add(StageDecommission, stepReplicationCleanup, m.cleanupReplication(false))
	}
	return s
}

type addStep = func(stage, name string, fn func(workflow.Context) error)

// provisionSteps: terraform apply between its hooks.
func (m *migration) provisionSteps(add addStep) {
	for _, h := range m.hooks(plan.HookPreProvision) {
		add(StageProvision, "hook:"+h.Name, m.hook(h))
	}
	add(StageProvision, "terraform-apply", m.terraformApply)
	for _, h := range m.hooks(plan.HookPostProvision) {
		add(StageProvision, "hook:"+h.Name, m.hook(h))
	}
}

// verifySteps: smoke tests, then the health check.
func (m *migration) verifySteps(add addStep) {
	for _, h := range m.hooks(plan.HookSmokeTest) {
		add(StageSyncVerify, "hook:"+h.Name, m.hook(h))
	}
	add(StageSyncVerify, "health-check", m.healthCheck)
}

// cutoverGate: the approval, the change window and the wave's hold; with
// client names, their TTL lowered before and waited out after.
func (m *migration) cutoverGate(add addStep) {
	if m.clientNamesOn {
		add(StageApproveCutover, stepClientDNSPrepare, m.prepareClientNames)
	}
	add(StageApproveCutover, "approve-cutover", func(ctx workflow.Context) error {
		return m.gate(ctx, GateCutover, m.cutoverEvidence(workflow.Now(ctx)))
	})
	add(StageApproveCutover, "change-window", m.changeWindow)
	if m.in.HoldCutover {
		add(StageApproveCutover, stepHoldForDeps, m.holdForDependencies)
	}
	if m.holdOtherWaves {
		add(StageApproveCutover, stepHoldOtherWaves, m.holdForOtherWaves)
	}
	if m.clientNamesOn {
		add(StageApproveCutover, stepClientDNSWait, m.waitClientNames)
	}
}

// cutoverSteps is the plan's traffic shift (the defaults if it has none).
func (m *migration) cutoverSteps() []plan.Step {
	if steps := m.spec.Cutover.Steps; len(steps) > 0 {
		return steps
	}
	return defaultSteps()
}

// trafficSteps: each shift and its SLO gate, then the post-cutover hooks;
// client names move before the first shift or after the 100 % one
// (pointBeforeShift).
func (m *migration) trafficSteps(add addStep, steps []plan.Step) {
	early := m.clientNamesOn && m.pointBeforeShift()
	if early {
		add(StageCutover, stepClientDNSPoint, m.pointClientNames)
	}
	for i, st := range steps {
		add(StageCutover, fmt.Sprintf("shift-%d", st.Percent), m.shift(st.Percent))
		if m.clientNamesOn && !early && i == len(steps)-1 {
			add(StageCutover, stepClientDNSPoint, m.pointClientNames)
		}
		add(StageCutover, fmt.Sprintf("slo-gate-%d", st.Percent), m.sloGate(st))
	}
	add(StageCutover, "cutover-done", m.cutoverDone)
	for _, h := range m.hooks(plan.HookPostCutover) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (m *migration) hooks(at string) []plan.HookSpec {
	var out []plan.HookSpec
	for _, h := range m.spec.Hooks {
		if h.At == at {
			out = append(out, h)
		}
	}
	return out
}

func (m *migration) discover(ctx workflow.Context) error {
	var res activities.DiscoverAppResult
	err := m.exec(ctx, optsDiscover, acts.DiscoverApp, activities.DiscoverAppInput{Plan: m.ref()}, &res)
	if err != nil {
		return err
	}
	m.st.Evidence.Discovery = &res
	return nil
}

func (m *migration) mapDependencies(ctx workflow.Context) error {
	var res activities.CheckDependenciesResult
	err := m.exec(ctx, optsDependencies, acts.CheckDependencies, activities.CheckDependenciesInput{Plan: m.ref()}, &res)
	if err != nil {
		return err
	}
	m.st.Evidence.Dependencies = &res
	if len(res.LeftBehind) == 0 {
		return nil
	}
	return m.gate(ctx, GateDependencies, fmt.Sprintf("dependencies that stay in the datacenter: %s — acknowledge with approve stage %q",
		strings.Join(res.LeftBehind, ", "), GateDependencies))
}

func (m *migration) terraformPlan(ctx workflow.Context) error {
	var res activities.TerraformPlanResult
	if err := m.exec(ctx, optsTerraformPlan, acts.TerraformPlan, activities.TerraformInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	m.st.Evidence.Plan = &res.Summary
	m.approvedPlanHash = res.Summary.Hash
	if res.Summary.InState > 0 && !m.provisioned && leftoversVersion(ctx) {
		// An earlier run of this app was stopped (terminated, say) before
		// it could undo its work: what it left is this run's to undo too.
		m.provisioned, m.leftovers = true, true
	}
	return nil
}

// leftoversVersion: a run that finds resources an earlier run left
// (terraform's state holds them) counts them as provisioned, and its
// rollback puts traffic back in the datacenter before destroying them.
// Added after the first release; asked only when a plan finds leftovers
// before this run applied anything.
func leftoversVersion(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, "earlier-run-leftovers", workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

func (m *migration) planEvidence() string {
	p := m.st.Evidence.Plan
	if p == nil {
		return "terraform plan"
	}
	ev := fmt.Sprintf("terraform plan: %d to add, %d to change, %d to destroy; ~$%.0f/month", p.Add, p.Change, p.Destroy, p.MonthlyUSD)
	if m.leftovers {
		ev += fmt.Sprintf("; %d resources already exist (an earlier run left them; a rollback removes them and moves traffic back first)", p.InState)
	}
	return ev
}

func (m *migration) terraformApply(ctx workflow.Context) error {
	m.provisioned = true // from the first attempt on, something may exist
	var res activities.TerraformApplyResult
	err := m.exec(ctx, optsTerraformApply, acts.TerraformApply,
		activities.TerraformApplyInput{Plan: m.ref(), ApprovedPlanHash: m.approvedPlanHash}, &res)
	if err != nil {
		return err
	}
	m.st.Evidence.Apply = &res
	return nil
}

func (m *migration) hook(h plan.HookSpec) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		opts := optsHook
		if h.Timeout > 0 {
			opts.StartToCloseTimeout = h.Timeout + time.Minute
		}
		var res activities.RunHookResult
		if err := m.exec(ctx, opts, acts.RunHook, activities.RunHookInput{Plan: m.ref(), Hook: h.Name}, &res); err != nil {
			return err
		}
		m.st.Evidence.Hooks = append(m.st.Evidence.Hooks, res.Evidence)
		return nil
	}
}

func (m *migration) healthCheck(ctx workflow.Context) error {
	var res activities.HealthCheckResult
	if err := m.exec(ctx, optsHealth, acts.HealthCheck, activities.HealthCheckInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	m.st.Evidence.Health = &res
	return nil
}

func (m *migration) cutoverEvidence(now time.Time) string {
	var parts []string
	if r := m.replicationEvidence(now); r != "" {
		parts = append(parts, r)
	}
	if l := m.syncEvidence(); l != "" {
		parts = append(parts, l)
	}
	if h := m.st.Evidence.Health; h != nil {
		parts = append(parts, fmt.Sprintf("health: %d healthy, %d unhealthy", h.Healthy, h.Unhealthy))
	}
	if d := m.st.Evidence.Dependencies; d != nil && len(d.BlastRadius) > 0 {
		parts = append(parts, "blast radius: "+strings.Join(d.BlastRadius, ", "))
	}
	if len(parts) == 0 {
		return "cutover"
	}
	return strings.Join(parts, "; ")
}

// changeWindow holds an approved cutover until the app's change window
// opens, on a durable timer; two verified cutover approvers may override.
func (m *migration) changeWindow(ctx workflow.Context) error {
	open, next := m.spec.Cutover.WindowOpen(workflow.Now(ctx))
	if open {
		return nil
	}
	if next.IsZero() {
		return fmt.Errorf("the change windows of %s never open: fix the plan, then retry", m.spec.Name)
	}
	if windowVersion(ctx) == workflow.DefaultVersion {
		return m.waitUntil(ctx, "change-window", next,
			fmt.Sprintf("cutover approved; waiting for the change window that opens at %s", next.Format(time.RFC3339)))
	}
	return m.windowGate(ctx, next, "the cutover")
}

// stepInWindow checks the change window again before each traffic step:
// a cutover that outlasts its window does not shift more traffic outside
// it. Closed: it waits for the next window (traffic stays where it is) or
// rolls back, as the plan's outside_window says.
func (m *migration) stepInWindow(ctx workflow.Context, percent int) error {
	open, next := m.spec.Cutover.WindowOpen(workflow.Now(ctx))
	if open || m.windowOverridden || windowVersion(ctx) == workflow.DefaultVersion {
		return nil
	}
	what := fmt.Sprintf("the %d %% step", percent)
	if m.spec.Cutover.OutsideWindow == plan.OutsideWindowRollback {
		return errRollback{reason: fmt.Sprintf("the change window closed before %s (outside_window = %q)", what, plan.OutsideWindowRollback)}
	}
	if next.IsZero() {
		return fmt.Errorf("the change windows of %s never open: fix the plan, then retry", m.spec.Name)
	}
	return m.windowGate(ctx, next, what)
}

// windowVersion: the window checked before every traffic step, and the
// emergency override, came after the first release. Called only when a
// window is closed, so histories that never met one carry no marker.
func windowVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, "window-every-step", workflow.DefaultVersion, 1)
}

// windowGate waits until the window opens at until, or until two distinct
// verified cutover approvers override it (audited), or a rollback.
func (m *migration) windowGate(ctx workflow.Context, until time.Time, what string) error {
	approvers := m.approvers(GateCutover)
	m.decision = nil
	m.seq++
	hint := fmt.Sprintf("%s waits for the change window that opens at %s; in an emergency two cutover approvers may override: 'ferry migrate approve %s --stage %s'",
		what, until.Format(time.RFC3339), m.spec.Name, GateWindowOverride)
	m.waiting = &Waiting{Gate: GateWindowOverride, Seq: m.seq, Approvers: approvers, Required: 2, Since: workflow.Now(ctx), Until: until, Hint: hint}
	m.publish(ctx)
	m.notify(ctx, "window-wait", fmt.Sprintf("nothing: %s starts when the window opens at %s", what, until.Format(time.RFC3339)),
		gateReason(GateWindowOverride), hint)
	for {
		opened, err := workflow.AwaitWithTimeout(ctx, until.Sub(workflow.Now(ctx)), func() bool { return m.decision != nil || m.interrupted() })
		if err != nil {
			return err
		}
		if !opened || m.interrupted() {
			break
		}
		d := *m.decision
		m.decision = nil
		if d.Decision == "rejected" { // an approver declines the override: keep waiting
			continue
		}
		m.windowOverridden = true // for the rest of this cutover
		by := strings.Join(m.waiting.Approved, ", ")
		m.st.Audit = append(m.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: GateWindowOverride, By: by,
			Reason: fmt.Sprintf("change window overridden for %s by %s (the window opens at %s)", what, by, until.Format(time.RFC3339))})
		m.notify(ctx, "window-override", "nothing: the cutover goes on outside its window", gateReason(GateWindowOverride),
			fmt.Sprintf("%s overrode the change window for %s", by, what))
		break
	}
	m.waiting = nil
	m.publish(ctx)
	return m.checkRollback()
}

// stepHoldForDeps is the step that holds a wave app's cutover until its
// dependencies in the wave are cut over.
const stepHoldForDeps = "dependencies-cut-over"

// DefaultHoldTimeout is how long a cutover waits for its dependencies
// when the plan does not say (cutover { hold_timeout }).
const DefaultHoldTimeout = 72 * time.Hour

// holdTimeout is the plan's hold_timeout, else DefaultHoldTimeout.
func (m *migration) holdTimeout() time.Duration {
	if t := m.spec.Cutover.HoldTimeout; t > 0 {
		return t
	}
	return DefaultHoldTimeout
}

// holdForDependencies waits for the wave's release. It never waits
// forever: a dependency that rolls back, is rejected or fails parks this
// app at once (dependency-lost), and a hold longer than the plan's
// hold_timeout parks it too (dependency-hold-timeout); either way the
// owners are notified and decide: retry (hold again), skip (cut over
// without them) or rollback.
func (m *migration) holdForDependencies(ctx workflow.Context) error {
	if m.released {
		return nil
	}
	m.waiting = &Waiting{Gate: stepHoldForDeps, Since: workflow.Now(ctx),
		Hint: "cutover held until this app's dependencies in the wave are cut over: " + strings.Join(m.spec.DependsOn, ", ")}
	m.publish(ctx)
	if workflow.GetVersion(ctx, "hold-timeout", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		err := workflow.Await(ctx, func() bool { return m.released || m.interrupted() })
		m.waiting = nil
		if err != nil {
			return err
		}
		return m.checkRollback()
	}
	timeout := m.holdTimeout()
	m.waiting.Until = workflow.Now(ctx).Add(timeout)
	m.publish(ctx)
	_, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool { return m.released || m.interrupted() || m.depLost != "" })
	m.waiting = nil
	if err != nil {
		return err
	}
	if err := m.checkRollback(); err != nil || m.released {
		return err
	}
	if lost := m.depLost; lost != "" {
		m.depLost = ""
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s will not cut over: %s; retry holds again, skip cuts over without it, rollback stops here",
			m.spec.Name+"'s dependency", lost), string(runbooks.ReasonDependencyLost), nil)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the cutover of %s waited %s for its dependencies (%s) to cut over: check them with 'ferry wave status'; retry holds again, skip cuts over without them",
		m.spec.Name, timeout, strings.Join(m.spec.DependsOn, ", ")), string(runbooks.ReasonDependencyHoldTimeout), nil)
}

func (m *migration) shift(percent int) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		if err := m.stepInWindow(ctx, percent); err != nil {
			return err
		}
		m.trafficTouched = true
		m.stepStart = workflow.Now(ctx)
		var res activities.ShiftTrafficResult
		if err := m.exec(ctx, optsTraffic, acts.ShiftTraffic, activities.ShiftTrafficInput{Plan: m.ref(), Percent: percent}, &res); err != nil {
			return err
		}
		m.st.TrafficPercent = res.GCPPercent
		m.publish(ctx)
		return nil
	}
}

// sloGate bakes a step, measures it, and rolls back on a failed gate:
// through the bake (watchSLO, slowatch.go), or once after it in histories
// from before that.
func (m *migration) sloGate(st plan.Step) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		if sloWatchVersion(ctx) != workflow.DefaultVersion {
			return m.watchSLO(ctx, st)
		}
		if err := m.waitUntil(ctx, "bake", workflow.Now(ctx).Add(st.Bake), fmt.Sprintf("baking %d %% on GCP before the SLO gate", st.Percent)); err != nil {
			return err
		}
		var res activities.SLOGateResult
		if err := m.exec(ctx, optsSLO, acts.SLOGate, activities.SLOGateInput{Plan: m.ref(), Percent: st.Percent}, &res); err != nil {
			return err
		}
		m.st.Evidence.SLO = append(m.st.Evidence.SLO, res)
		if !m.stepStart.IsZero() {
			MetricStepDuration(ctx, strconv.Itoa(st.Percent), workflow.Now(ctx).Sub(m.stepStart))
		}
		if !res.Pass {
			return errRollback{reason: fmt.Sprintf("SLO gate failed at %d %%: %s (automatic rollback)", st.Percent, res.Reason)}
		}
		return nil
	}
}

func (m *migration) cutoverDone(ctx workflow.Context) error {
	_ = workflow.UpsertTypedSearchAttributes(ctx, SACutoverAt.ValueSet(workflow.Now(ctx)))
	m.notify(ctx, "cutover-done", "nothing: traffic is 100 % on GCP; bake, then approve decommission", "", "")
	if m.in.WaveWorkflowID != "" {
		f := workflow.SignalExternalWorkflow(ctx, m.in.WaveWorkflowID, "", SignalAppCutover, WaveMessage{App: m.spec.Name, Token: m.in.WaveToken})
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("could not tell the wave about the cutover", "wave", m.in.WaveWorkflowID, "error", err)
		}
	}
	return nil
}

func (m *migration) powerOff(ctx workflow.Context) error {
	m.sourcesOff = true
	var res activities.SourcesResult
	return m.exec(ctx, optsVSphere, acts.PowerOffSources, activities.SourcesInput{Plan: m.ref(), Date: workflow.Now(ctx)}, &res)
}

func (m *migration) finalAction(ctx workflow.Context) error {
	var res activities.SourcesResult
	if err := m.exec(ctx, optsVSphere, acts.FinalizeDecommission, activities.SourcesInput{Plan: m.ref(), Date: workflow.Now(ctx)}, &res); err != nil {
		return err
	}
	m.decommissioned = true
	m.notify(ctx, "decommission-done", "nothing: the source VMs are retired", "", strings.Join(res.Actions, "; "))
	return nil
}
