package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/plan"
)

// migration is one MigrateApp run's state. Only workflow code touches it.
type migration struct {
	in   MigrateAppInput
	spec plan.AppSpec
	st   Status

	waiting     *Waiting        // open gate or wait
	decision    *ApprovalRecord // answer to the open gate
	parked      *step           // the step that failed and waits for an action
	action      string          // retry or skip, for the parked step
	actionBy    Action
	rollbackReq *Action // a rollback asked by a person
	released    bool    // the wave released this app's cutover

	// What the saga must undo.
	provisioned    bool
	trafficTouched bool
	sourcesOff     bool
	decommissioned bool
	finished       bool

	approvedPlanHash string
	notifying        int // notifications in flight
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

// MigrateApp moves one app from the datacenter to GCP through the eleven
// stages of DESIGN.md section 2. A failed step parks the workflow until a
// person sends retry, skip or rollback; rollback is a saga accepted until
// decommission completes.
func MigrateApp(ctx workflow.Context, in MigrateAppInput) (MigrateAppResult, error) {
	m := &migration{in: in, spec: in.Spec}
	m.st = Status{App: in.Spec.Name, Wave: in.Spec.Wave, Owner: in.Spec.Owner, StartedBy: in.StartedBy,
		History: []StageEvent{}, Approvals: []ApprovalRecord{}, Audit: []AuditEntry{}}
	if err := m.registerHandlers(ctx); err != nil {
		return MigrateAppResult{}, err
	}
	m.upsertStatic(ctx)

	outcome := m.forward(ctx)
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

// forward runs the steps in order and returns the terminal stage.
func (m *migration) forward(ctx workflow.Context) string {
	steps := m.steps()
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
		switch {
		case err == nil:
			i++
		case errors.As(err, &rb):
			return m.rollback(ctx, rb.reason)
		case errors.As(err, &rj):
			m.st.RollbackReason = rj.Error()
			if m.provisioned || m.trafficTouched {
				m.rollback(ctx, rj.Error())
			}
			return StageRejected
		default:
			switch m.park(ctx, s, err) {
			case "retry":
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

func (m *migration) checkRollback() error {
	if m.rollbackReq != nil {
		return errRollback{reason: m.rollbackReq.Reason}
	}
	return nil
}

func (m *migration) skippable(s step) bool {
	return slices.Contains(m.spec.Skippable, s.stage) || slices.Contains(m.spec.Skippable, s.name)
}

// exec runs one activity and waits for it or for a rollback request,
// whichever comes first; a rollback cancels the activity.
func (m *migration) exec(ctx workflow.Context, opts workflow.ActivityOptions, name string, in, out any) error {
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, opts))
	defer cancel()
	fut := workflow.ExecuteActivity(actx, name, in)
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
	if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return m.rollbackReq != nil }); err != nil {
		return err
	}
	return m.checkRollback()
}

// park shows why a step failed and waits for retry, skip or rollback.
func (m *migration) park(ctx workflow.Context, s step, err error) string {
	reason, msg := reasonOf(err)
	m.st.LastError = &StepError{Stage: s.stage, Reason: reason, Message: msg, Runbook: runbookLink(reason), At: workflow.Now(ctx)}
	m.parked = &s
	m.action = ""
	m.waiting = &Waiting{Gate: "retry", Since: workflow.Now(ctx),
		Hint: fmt.Sprintf("step %s failed (%s)", s.name, reason)}
	m.setStage(ctx, StageBlocked, s.name+": "+reason)
	m.notify(ctx, "parked", fmt.Sprintf("%s failed: retry, skip (if allowed) or rollback", s.name), reason, msg)
	_ = workflow.Await(ctx, func() bool { return m.action != "" || m.rollbackReq != nil })
	m.parked = nil
	m.waiting = nil
	if m.rollbackReq != nil {
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

// gate waits for an approval. It reminds approvers every GateReminder and
// never approves itself.
func (m *migration) gate(ctx workflow.Context, gate, evidence string) error {
	approvers := m.approvers(gate)
	m.decision = nil
	m.waiting = &Waiting{Gate: gate, Approvers: approvers, Since: workflow.Now(ctx), Hint: evidence}
	m.publish(ctx)
	needed := fmt.Sprintf("approve %s (approvers: %v)", gate, approvers)
	m.notify(ctx, "gate-waiting", needed, gateReason(gate), evidence)
	reminder := m.spec.GateReminder
	if reminder <= 0 {
		reminder = 24 * time.Hour
	}
	for {
		ok, err := workflow.AwaitWithTimeout(ctx, reminder, func() bool { return m.decision != nil || m.rollbackReq != nil })
		if err != nil {
			return err
		}
		if ok {
			break
		}
		m.notify(ctx, "gate-reminder", needed+fmt.Sprintf(" — waiting since %s", m.waiting.Since.Format(time.RFC3339)), gateReason(gate), evidence)
	}
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
