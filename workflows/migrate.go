package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// acts is only used for its method values: workflows call activities by
// method (the compiler checks every call), and the worker registers the
// real *activities.Activities under the same names.
var acts *activities.Activities

// migration is one MigrateApp run's state. Only workflow code touches it.
type migration struct {
	in     MigrateAppInput
	spec   plan.AppSpec
	digest string // the reviewed plan this run follows
	st     Status

	resolved    bool            // spec came from the worker's plan store
	seq         int             // gate and park openings; signatures name one
	waiting     *Waiting        // open gate or wait
	decision    *ApprovalRecord // answer to the open gate
	parked      *step           // the step that failed and waits for an action
	action      string          // retry or skip, for the parked step
	rollbackReq *Action         // a rollback asked by a person
	released    bool            // the wave released this app's cutover
	// cancelPending: the workflow was cancelled through Temporal and has
	// not parked for it yet (cancel.go).
	cancelPending bool

	// What the saga must undo.
	provisioned    bool
	trafficTouched bool
	// leftovers: the plan found resources an earlier run of the app left
	// (it may have moved traffic too); see leftoversVersion.
	leftovers bool
	stepStart time.Time // when the current traffic step began (metrics only)
	// windowOverridden: two approvers overrode the closed change window;
	// the cutover's remaining steps do not wait for it again.
	windowOverridden bool
	// depLost: the wave says a dependency this app's cutover is held for
	// will not cut over (why).
	depLost    string
	sourcesOff bool
	// replicating: MigratingVms of this app may exist (data =
	// "replicate"); a rollback abandons them. cutOver: the final sync or
	// catch-up ran, so writes may have moved to GCP.
	replicating bool
	cutOver     bool
	// Client names (clientdns.go): clientNamesOn, the app's client_dns
	// names move with this run's cutover; clientPrepared, their TTL may be
	// lowered; clientPointed, they may point at GCP; clientNames, their
	// records before the cutover.
	clientNamesOn bool
	// holdOtherWaves: the cutover waits for dependencies in other waves
	// (otherwaves.go).
	holdOtherWaves bool
	clientPrepared bool
	clientPointed  bool
	clientNames    []traffic.ClientNameState
	decommissioned bool
	finished       bool

	approvedPlanHash string
	runbookBase      string // the worker's runbook link prefix (ResolveApp)
	notifying        int    // notifications in flight
}

// step is one resumable unit of a stage. Retry resumes at the failed step.
type step struct {
	stage string
	name  string
	run   func(ctx workflow.Context) error
}

// errRollback ends the forward path and starts the rollback saga.
type errRollback struct{ reason string }

func (e errRollback) Error() string { return "rollback: " + e.reason }

// errRejected ends the migration after a gate was rejected.
type errRejected struct{ rec ApprovalRecord }

func (e errRejected) Error() string {
	return fmt.Sprintf("%s rejected by %s: %s", e.rec.Stage, e.rec.Approver, e.rec.Comment)
}

// errReplan sends the migration back to its first step: a newer reviewed
// plan changes this app.
type errReplan struct{ from, to string }

func (e errReplan) Error() string { return "plan changed from " + e.from + " to " + e.to }

// MigrateApp moves one app from the datacenter to GCP through the eleven
// stages of DESIGN.md section 2. Its input names the app and the reviewed
// plan; the spec comes from the worker's plan store, and the start, every
// approval and every action are verified against keys the plan lists. A
// failed step parks the workflow until a person sends retry, skip or
// rollback; rollback is a saga accepted until decommission completes.
func MigrateApp(ctx workflow.Context, in MigrateAppInput) (MigrateAppResult, error) {
	info := workflow.GetInfo(ctx)
	m := &migration{in: in, digest: in.PlanDigest}
	m.spec.Name = in.App
	m.st = Status{App: in.App, PlanDigest: in.PlanDigest, RunID: signingRunID(info),
		StartedBy: identity.Normalize(in.StartedBy),
		History:   []StageEvent{}, Approvals: []ApprovalRecord{}, Audit: []AuditEntry{}}
	// Everything runs on a context a Temporal cancel does not reach: a
	// cancel names no verified person, so it only parks the migration
	// for one (cancel.go).
	root := ctx
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	if err := m.registerHandlers(ctx); err != nil {
		return MigrateAppResult{}, err
	}
	m.watchCancel(root, ctx)
	outcome := m.resolveSpec(ctx)
	if outcome == "" {
		if reason := m.verifyStart(ctx); reason != "" {
			m.audit(ctx, "start", m.st.StartedBy, reason)
			m.st.LastError = &StepError{Stage: StageDiscover, Reason: string(runbooks.ReasonStartRefused), Message: reason,
				Runbook: m.runbookLink(string(runbooks.ReasonStartRefused)), At: workflow.Now(ctx)}
			outcome = StageRefused
		}
	}
	if outcome == "" {
		m.upsertStatic(ctx)
		outcome = m.forward(ctx)
	}
	m.finished = true
	m.waiting = nil
	m.setStage(ctx, outcome, "")
	if outcome == StageDone {
		_ = workflow.UpsertTypedSearchAttributes(ctx, SADoneAt.ValueSet(workflow.Now(ctx)))
	}
	// Let notifications and in-flight update handlers finish before the
	// run closes.
	_ = workflow.Await(ctx, func() bool { return m.notifying == 0 && workflow.AllHandlersFinished(ctx) })
	return MigrateAppResult{Outcome: outcome, Status: m.status()}, nil
}

func (m *migration) ref() activities.PlanRef {
	return activities.PlanRef{App: m.in.App, Digest: m.digest}
}

// resolveSpec reads the app's reviewed spec from the worker's plan store.
// A digest the store does not hold parks (nothing runs) until retry, once
// the reviewed plan is published, or rollback. It returns "" when resolved,
// else the terminal stage.
func (m *migration) resolveSpec(ctx workflow.Context) string {
	s := step{stage: StageDiscover, name: "resolve-plan", run: func(ctx workflow.Context) error {
		var res activities.ResolveAppResult
		if err := m.exec(ctx, optsResolve, acts.ResolveApp, activities.ResolveAppInput{Plan: m.ref()}, &res); err != nil {
			return err
		}
		m.spec = res.Spec
		m.runbookBase = res.RunbookBase
		m.resolved = true
		return nil
	}}
	m.setStage(ctx, StageDiscover, "resolve plan "+shortDigest(m.digest))
	for {
		err := m.checkRollback()
		if err == nil {
			err = s.run(ctx)
		}
		if err == nil {
			return ""
		}
		if _, ok := err.(errRollback); ok {
			return m.rollback(ctx, m.rollbackReq.Reason)
		}
		if m.park(ctx, s, err, false) == "rollback" {
			return m.rollback(ctx, m.rollbackReq.Reason)
		}
	}
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// verifyStart checks who started this migration: a wave that is this
// run's parent (and verified its own start), or a person whose signed
// start statement verifies against the plan. It returns why not, or "".
func (m *migration) verifyStart(ctx workflow.Context) string {
	info := workflow.GetInfo(ctx)
	if m.in.WaveWorkflowID != "" {
		p := info.ParentWorkflowExecution
		if p == nil || p.ID != m.in.WaveWorkflowID || p.ID != WaveWorkflowID(m.spec.Wave) || m.in.WaveToken == "" {
			return fmt.Sprintf("start refused: the input says wave %s started it, but this run's parent is not that wave (the plan puts %s in wave %s)",
				m.in.WaveWorkflowID, m.spec.Name, m.spec.Wave)
		}
		m.st.StartVerified = true
		return ""
	}
	m.in.WaveToken, m.in.HoldCutover = "", false
	if info.WorkflowExecution.ID != AppWorkflowID(m.spec.Name) {
		return fmt.Sprintf("start refused: a migration of %s runs as workflow %s, not %s", m.spec.Name, AppWorkflowID(m.spec.Name), info.WorkflowExecution.ID)
	}
	by := m.st.StartedBy
	if by == "" {
		return "start refused: no startedBy: start with 'ferry migrate start APP', which signs as you"
	}
	if !m.mayAct(by) {
		return fmt.Sprintf("start refused: %s is neither an approver nor an operator of %s in the reviewed plan", by, m.spec.Name)
	}
	verified, _, err := m.verify(ctx, identity.Statement{WorkflowID: info.WorkflowExecution.ID, Kind: "start", Stage: m.spec.Name,
		By: by, Text: m.digest, IssuedAt: m.in.IssuedAt}, m.in.Signature)
	if err != nil {
		return "start refused: " + err.Error()
	}
	m.st.StartVerified = verified
	return ""
}

// forward runs the steps in order and returns the terminal stage.
func (m *migration) forward(ctx workflow.Context) string {
	steps := m.steps(ctx)
	for i := 0; i < len(steps); {
		s := steps[i]
		if s.stage != m.st.Stage {
			m.setStage(ctx, s.stage, s.name)
		}
		err := m.checkRollback()
		if err == nil {
			err = s.run(ctx)
		}
		var rb errRollback
		var rj errRejected
		var rp errReplan
		switch {
		case err == nil:
			i++
		case errors.As(err, &rp):
			// A newer reviewed plan changes this app: start over from
			// discovery with it, back through the plan gate.
			m.setStage(ctx, StageDiscover, rp.Error()+": back to the plan gate")
			steps = m.steps(ctx)
			i = 0
		case errors.As(err, &rb):
			return m.rollback(ctx, rb.reason)
		case errors.As(err, &rj):
			m.st.RollbackReason = rj.Error()
			if m.provisioned || m.trafficTouched || m.replicating || m.clientPrepared || m.clientPointed {
				m.rollback(ctx, rj.Error())
			}
			return StageRejected
		default:
			reason, _ := reasonOf(err)
			switch m.park(ctx, s, err, false) {
			case "retry":
				if j := m.replanOnRetry(ctx, steps, reason); j >= 0 {
					i = j
					m.setStage(ctx, steps[j].stage, "retry of "+s.name+": the plan changed since it was approved; re-plan, back to the plan gate")
					continue
				}
				m.setStage(ctx, s.stage, "retry of "+s.name)
			case "skip":
				m.st.Skipped = append(m.st.Skipped, s.name)
				i++
			case "rollback":
				return m.rollback(ctx, m.rollbackReq.Reason)
			}
		}
	}
	return StageDone
}

// replanOnRetry: a retry of an apply parked because terraform's plan no
// longer matches the approved one goes back to terraform-plan and the plan
// gate, as the runbook says (re-running apply with the old hash would only
// park again). It returns the index of the terraform-plan step, or -1.
// Added after the first release: behind a version marker, so migrations
// parked by older workers keep retrying the apply when they replay.
func (m *migration) replanOnRetry(ctx workflow.Context, steps []step, reason string) int {
	if reason != string(runbooks.ReasonTerraformPlanDrift) {
		return -1
	}
	if workflow.GetVersion(ctx, "replan-on-retry", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return -1
	}
	for j, st := range steps {
		if st.name == "terraform-plan" {
			return j
		}
	}
	return -1
}

// checkRollback returns what interrupts the forward path: a person's
// rollback, or a Temporal cancel not yet parked for (cancel.go).
func (m *migration) checkRollback() error {
	if m.rollbackReq != nil {
		return errRollback{reason: m.rollbackReq.Reason}
	}
	if m.cancelPending {
		return m.errCancelRequested()
	}
	return nil
}

// interrupted: a wait on the forward path ends early (checkRollback says
// why).
func (m *migration) interrupted() bool { return m.rollbackReq != nil || m.cancelPending }

// skippable: what the plan lists, and always the hold for dependencies
// (skipping it is the explicit decision to cut over without them).
func (m *migration) skippable(s step) bool {
	return slices.Contains(m.spec.Skippable, s.stage) || slices.Contains(m.spec.Skippable, s.name) || s.name == stepHoldForDeps || s.name == stepHoldOtherWaves
}

// exec runs one activity and waits for it or for a rollback request,
// whichever comes first; a rollback cancels the activity.
func (m *migration) exec(ctx workflow.Context, opts workflow.ActivityOptions, activity, in, out any) error {
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, opts))
	defer cancel()
	fut := workflow.ExecuteActivity(actx, activity, in)
	if err := workflow.Await(ctx, func() bool { return fut.IsReady() || m.rollbackReq != nil }); err != nil {
		return err
	}
	if !fut.IsReady() {
		cancel()
		return m.checkRollback()
	}
	return fut.Get(ctx, out)
}

// sleep is a durable timer that a rollback interrupts.
func (m *migration) sleep(ctx workflow.Context, d time.Duration) error {
	if d <= 0 {
		return m.checkRollback()
	}
	if _, err := workflow.AwaitWithTimeout(ctx, d, m.interrupted); err != nil {
		return err
	}
	return m.checkRollback()
}

// park shows why a step failed and waits for a person's action: retry,
// skip (if allowed) or rollback on the forward path; retry or skip in the
// rollback saga (saga), which a rollback request started already.
func (m *migration) park(ctx workflow.Context, s step, err error, saga bool) string {
	reason, msg := reasonOf(err)
	stage, runbook := s.stage, reason
	hint, note := fmt.Sprintf("step %s failed (%s)", s.name, reason), s.name+": "+reason
	needed := fmt.Sprintf("%s failed: retry, skip (if allowed) or rollback", s.name)
	if saga {
		stage, runbook = StageRollingBack, string(runbooks.ReasonRollbackFailed)
		hint, note = fmt.Sprintf("rollback step %s failed (%s)", s.name, reason), "rollback: "+s.name+": "+reason
		needed = fmt.Sprintf("rollback step %s failed: fix it, then retry (or skip)", s.name)
	} else {
		MetricPark(ctx, reason)
	}
	if reason == string(runbooks.ReasonCancelRequested) {
		hint, note = "cancelled through Temporal during step "+s.name+": waits for a verified retry or rollback", s.name+": "+reason
		needed = "the migration was cancelled through Temporal, which names no verified person: roll back or retry (signed)"
	}
	m.cancelPending = false // this park is the pause a cancel asks for
	m.st.LastError = &StepError{Stage: stage, Reason: reason, Message: msg, Runbook: m.runbookLink(runbook), At: workflow.Now(ctx)}
	m.parked = &s
	m.action = ""
	m.seq++
	m.waiting = &Waiting{Gate: "retry", Seq: m.seq, Since: workflow.Now(ctx), Hint: hint}
	m.setStage(ctx, StageBlocked, note)
	m.notify(ctx, "parked", needed, runbook, msg)
	_ = workflow.Await(ctx, func() bool { return m.action != "" || !saga && m.rollbackReq != nil })
	m.parked = nil
	m.waiting = nil
	if !saga && m.rollbackReq != nil {
		return "rollback"
	}
	act := m.action
	m.action = ""
	m.st.LastError = nil
	return act
}

// reasonOf extracts the typed reason of an activity error.
func reasonOf(err error) (reason, msg string) {
	var app *temporal.ApplicationError
	var to *temporal.TimeoutError
	var ce *temporal.CanceledError
	switch {
	case errors.As(err, &app):
		reason = app.Type()
		msg = app.Error()
	case errors.As(err, &to):
		reason, msg = "activity-timeout", to.Error()
	case errors.As(err, &ce):
		reason, msg = "canceled", ce.Error()
	default:
		reason, msg = "unknown", err.Error()
	}
	if reason == "" || reason == "ApplicationError" || reason == "GenericError" {
		reason = "unknown"
	}
	return reason, msg
}

func (m *migration) approvers(gate string) []string {
	if gate == GateDependencies {
		return m.spec.Approvers[GatePlan]
	}
	return m.spec.Approvers[gate]
}

// gate waits for approvals: Quorum distinct approvers of the gate (one
// rejection ends it). Before it opens the plan and cutover gates, it checks
// the plan store for a newer reviewed plan that changes this app, and if
// there is one, goes back to discovery with it rather than silently using
// it. It reminds approvers every GateReminder and never approves itself.
func (m *migration) gate(ctx workflow.Context, gate, evidence string) error {
	if gate == GatePlan || gate == GateCutover {
		if err := m.checkNewerPlan(ctx); err != nil {
			return err
		}
	}
	approvers := m.approvers(gate)
	required := max(1, m.spec.Quorum[gate])
	if gate == GateDependencies {
		required = 1
	}
	m.decision = nil
	m.seq++
	since := workflow.Now(ctx)
	m.waiting = &Waiting{Gate: gate, Seq: m.seq, Approvers: approvers, Required: required, Since: since, Hint: evidence}
	m.publish(ctx)
	needed := fmt.Sprintf("approve %s (approvers: %v)", gate, approvers)
	if required > 1 {
		needed = fmt.Sprintf("approve %s: %d of %v", gate, required, approvers)
	}
	m.notify(ctx, "gate-waiting", needed, gateReason(gate), evidence)
	reminder := m.spec.GateReminder
	if reminder <= 0 {
		reminder = 24 * time.Hour
	}
	for {
		ok, err := workflow.AwaitWithTimeout(ctx, reminder, func() bool { return m.decision != nil || m.interrupted() })
		if err != nil {
			return err
		}
		if ok {
			break
		}
		m.notify(ctx, "gate-reminder", needed+fmt.Sprintf(" — waiting since %s", m.waiting.Since.Format(time.RFC3339)), gateReason(gate), evidence)
	}
	MetricGateWait(ctx, gate, workflow.Now(ctx).Sub(since))
	m.waiting = nil
	if err := m.checkRollback(); err != nil {
		return err
	}
	d := *m.decision
	m.decision = nil
	if d.Decision == "rejected" {
		return errRejected{rec: d}
	}
	m.publish(ctx)
	return nil
}

// checkNewerPlan asks the plan store whether a newer reviewed plan changes
// this app; if so it adopts it and returns errReplan.
func (m *migration) checkNewerPlan(ctx workflow.Context) error {
	var res activities.ResolveAppResult
	if err := m.exec(ctx, optsResolve, acts.ResolveApp, activities.ResolveAppInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	if res.Latest == "" || res.Latest == m.digest {
		return nil
	}
	var next activities.ResolveAppResult
	if err := m.exec(ctx, optsResolve, acts.ResolveApp, activities.ResolveAppInput{Plan: activities.PlanRef{App: m.in.App, Digest: res.Latest}}, &next); err != nil {
		return err
	}
	from := m.digest
	m.spec, m.digest = next.Spec, res.Latest
	m.st.PlanDigest = m.digest
	m.notify(ctx, "plan-changed", "review the new terraform plan at the plan gate", "", "plan "+shortDigest(from)+" → "+shortDigest(m.digest))
	return errReplan{from: shortDigest(from), to: shortDigest(m.digest)}
}

// waitUntil waits on a durable timer, showing why.
func (m *migration) waitUntil(ctx workflow.Context, gate string, until time.Time, hint string) error {
	d := until.Sub(workflow.Now(ctx))
	if d <= 0 {
		return nil
	}
	m.waiting = &Waiting{Gate: gate, Since: workflow.Now(ctx), Until: until, Hint: hint}
	m.publish(ctx)
	err := m.sleep(ctx, d)
	m.waiting = nil
	m.publish(ctx)
	return err
}
