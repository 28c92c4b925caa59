package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/runbooks"
)

// A Temporal cancel (temporal workflow cancel, the UI's Cancel, or a
// cancel of the wave that started the migration) names no person ferry
// can verify: anyone who may write to the namespace can send one. So it
// neither rolls back nor lets the migration go on. The command that runs
// when it comes finishes; the migration then parks at the next step
// boundary, or ends the wait it is in (a gate, a bake, a window, a hold),
// with reason cancel-requested, and waits for a verified retry, skip or
// rollback. Once the decommission completed nothing can be undone, and
// the cleanup runs to its end. Every cancel is in the audit list.
//
// Workflow code runs on a disconnected context from the start, so a
// cancel reaches no activity, timer or wait by itself; only watchCancel
// sees it. Before the first release a cancel made the forward loop spin
// until the deadlock detector failed the task, so no recorded history
// completed through one: this needs no version marker.

const cancelBy = "temporal (unverified cancel)"

// watchCancel waits on the workflow's own context (root) for a cancel and
// answers it on ctx, which a cancel does not reach.
func (m *migration) watchCancel(root, ctx workflow.Context) {
	workflow.Go(root, func(root workflow.Context) {
		if err := workflow.Await(root, func() bool { return m.finished }); err == nil {
			return
		}
		m.cancelRequested(ctx)
	})
}

// cancelRequested records a cancel and, where it still matters, asks the
// forward path to park for a person's decision.
func (m *migration) cancelRequested(ctx workflow.Context) {
	const why = "cancel requested through Temporal: it names no verified person, so ferry does not roll back or go on because of it"
	var then string
	switch {
	case m.finished:
		return
	case m.decommissioned:
		then = "ignored: the decommission completed, only cleanup remains and it runs to its end"
	case m.rollbackReq != nil:
		then = "ignored: a rollback is already running"
	case m.parked != nil:
		then = "the migration is parked already and waits for a person's retry, skip or rollback"
	default:
		then = "it parks at the next step boundary for a person's retry or rollback"
		m.cancelPending = true
	}
	m.st.Audit = append(m.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: "cancel", By: cancelBy, Reason: why + "; " + then})
	workflow.GetLogger(ctx).Warn("cancel requested through Temporal", "app", m.spec.Name, "then", then)
	m.publish(ctx)
}

// errCancelRequested is the park reason of a cancel.
func (m *migration) errCancelRequested() error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"the workflow was cancelled through Temporal (temporal workflow cancel, or its wave was cancelled); a cancel names no verified person, so ferry parks here instead of rolling back: an approver or operator of %s sends a signed rollback ('ferry migrate rollback %s --reason ...') or retry to go on ('ferry migrate retry %s --reason ...')",
		m.spec.Name, m.spec.Name, m.spec.Name),
		string(runbooks.ReasonCancelRequested), nil)
}
