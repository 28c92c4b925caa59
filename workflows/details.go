package workflows

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/textsafe"
)

// runbookLink links a reason's runbook under the base the worker reported
// when it resolved the spec (runbooks.DefaultBaseURL before that, and in
// histories from before it was reported).
func (m *migration) runbookLink(reason string) string {
	return runbooks.LinkAt(m.runbookBase, runbooks.Reason(reason))
}

func gateReason(gate string) string {
	switch gate {
	case GatePlan:
		return string(runbooks.ReasonGateApprovePlan)
	case GateCutover:
		return string(runbooks.ReasonGateApproveCutover)
	case GateDecommission:
		return string(runbooks.ReasonGateApproveDecommission)
	case GateDependencies:
		return string(runbooks.ReasonGateAckDependencies)
	case "change-window", GateWindowOverride:
		return string(runbooks.ReasonChangeWindow)
	case "retention":
		return string(runbooks.ReasonRetention)
	}
	return ""
}

// setStage records a stage change and publishes it.
func (m *migration) setStage(ctx workflow.Context, stage, note string) {
	if stage != m.st.Stage {
		MetricStage(ctx, stage)
	}
	m.st.Stage = stage
	m.st.History = append(m.st.History, StageEvent{Stage: stage, At: workflow.Now(ctx), Note: note})
	m.publish(ctx)
}

// publish upserts the search attributes and the current details.
func (m *migration) publish(ctx workflow.Context) {
	upd := []temporal.SearchAttributeUpdate{SAStage.ValueSet(m.st.Stage)}
	if w := m.waiting; w != nil {
		upd = append(upd, SAWaitingOn.ValueSet(waitingOn(w)), SAWaitingSince.ValueSet(w.Since))
	} else {
		upd = append(upd, SAWaitingOn.ValueUnset(), SAWaitingSince.ValueUnset())
	}
	if e := m.st.LastError; e != nil {
		// Search attributes are not encrypted: the reason code only; the
		// message lives in the (encrypted) status and details.
		upd = append(upd, SALastError.ValueSet(e.Reason))
	} else {
		upd = append(upd, SALastError.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, upd...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes", "error", err)
	}
	workflow.SetCurrentDetails(ctx, m.details())
}

func waitingOn(w *Waiting) string {
	if len(w.Approvers) > 0 {
		return w.Gate + ": " + strings.Join(w.Approvers, ",")
	}
	return w.Gate
}

func (m *migration) upsertStatic(ctx workflow.Context) {
	var cpu, disk int64
	for _, v := range m.spec.VMs {
		cpu += int64(v.NumCPU)
		disk += v.DiskGB
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx,
		SAApp.ValueSet(m.spec.Name), SAWave.ValueSet(m.spec.Wave), SAOwner.ValueSet(m.spec.Owner),
		SATier.ValueSet(m.spec.Tier), SAVMs.ValueSet(int64(len(m.spec.VMs))), SAVCPU.ValueSet(cpu),
		SADiskGB.ValueSet(disk))
}

// details is the markdown the Temporal UI shows: what the workflow waits
// for and the exact signal and JSON to send. Kept short: the UI frame is
// small.
func (m *migration) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** — stage **%s**", m.spec.Name, m.st.Stage)
	if m.st.TrafficPercent > 0 {
		fmt.Fprintf(&b, ", %d %% traffic on GCP", m.st.TrafficPercent)
	}
	b.WriteString("\n\n")
	w := m.waiting
	switch {
	case w == nil && m.finished:
		fmt.Fprintf(&b, "Finished: %s.", m.st.Stage)
	case w == nil:
		fmt.Fprintf(&b, "Working. Roll back with `ferry migrate rollback %s --reason ...` (add `--print-signal` for the JSON of signal `rollback`).", m.spec.Name)
	case len(w.Approvers) > 0:
		need := "one"
		if w.Required > 1 {
			need = fmt.Sprintf("%d (%d so far)", w.Required, len(w.Approved))
		}
		fmt.Fprintf(&b, "Waiting for **%s** approval (opening %d) since %s by %s of: %s. %s\n\n", w.Gate, w.Seq, w.Since.UTC().Format(time.RFC3339), need, mdSafe(strings.Join(w.Approvers, ", ")), mdSafe(w.Hint))
		fmt.Fprintf(&b, "Approvals are signed. Run `ferry migrate approve %s --stage %s --print-signal` and send signal `approve` with the JSON it prints (or run it without `--print-signal`).", m.spec.Name, w.Gate)
		if m.spec.AllowUnverified {
			fmt.Fprintf(&b, " This plan also accepts unsigned approvals, marked unverified:\n\n```json\n%s\n```", jsonOf(Approval{Stage: w.Gate, Approver: firstOr(w.Approvers, "you@example.com"), Comment: "..."}))
		}
	case w.Gate == "retry":
		e := m.st.LastError
		fmt.Fprintf(&b, "**Blocked**: %s\n\n", w.Hint)
		if e != nil {
			fmt.Fprintf(&b, "Error: %s\n\nRunbook: [%s](%s)\n\n", mdSafe(truncate(e.Message, 300)), e.Reason, e.Runbook)
			if m.spec.RunbookURL != "" {
				fmt.Fprintf(&b, "App runbook: %s\n\n", mdSafe(m.spec.RunbookURL))
			}
		}
		fmt.Fprintf(&b, "Run `ferry migrate retry|skip|rollback %s --print-signal` and send signal `retry`, `skip` or `rollback` with the JSON it prints (park %d).", m.spec.Name, w.Seq)
	default:
		fmt.Fprintf(&b, "Waiting: %s", mdSafe(w.Hint))
		if !w.Until.IsZero() {
			fmt.Fprintf(&b, " (until %s)", w.Until.UTC().Format(time.RFC3339))
		}
	}
	return b.String()
}

func firstOr(s []string, d string) string {
	if len(s) > 0 {
		return s[0]
	}
	return d
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// notify sends a notification; it never blocks the migration on failure.
func (m *migration) notify(ctx workflow.Context, event, needed, reason, detail string) {
	in := activities.NotifyInput{Event: event, App: m.spec.Name, Owner: m.spec.Owner, Stage: m.st.Stage, Needed: needed,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Runbook: reason, AppRunbook: m.spec.RunbookURL, Detail: truncate(detail, 1000)}
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, optsNotify), acts.SendNotification, in)
	m.notifying++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { m.notifying-- }()
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("notification failed", "event", event, "error", err)
		}
	})
}

// status is the query answer: the state plus what the workflow waits for.
func (m *migration) status() Status {
	st := m.st
	st.Waiting = m.waiting
	return st
}

// mdSafe escapes text from vCenter, the plan or errors for the markdown
// details the Temporal UI renders.
func mdSafe(s string) string { return textsafe.Markdown(s) }
