package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/identity"
)

// Signals arrive as raw payloads and are decoded here, so a malformed
// payload (say, typed by hand in the Temporal UI) is recorded in the audit
// list instead of being dropped by the SDK or panicking the workflow.

var knownGates = []string{GatePlan, GateCutover, GateDecommission, GateDependencies}

// GateDependencies is the acknowledgement asked for when a dependency stays
// behind in the datacenter.
const GateDependencies = "dependencies"

// decodeRaw decodes a JSON signal payload strictly.
func decodeRaw(raw converter.RawValue, v any) error {
	p := raw.Payload()
	if p == nil {
		return fmt.Errorf("empty payload")
	}
	if enc := string(p.GetMetadata()["encoding"]); enc != "" && enc != "json/plain" {
		return fmt.Errorf("payload encoding %q: send JSON", enc)
	}
	return DecodeStrict(p.GetData(), v)
}

// DecodeStrict decodes JSON, refusing unknown fields and trailing data.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON: trailing data after the object")
	}
	return nil
}

// validateApproval checks the shape of an approval; it does not check who.
func validateApproval(a Approval) error {
	if strings.TrimSpace(a.Approver) == "" {
		return fmt.Errorf(`"approver" is required, e.g. {"stage":"cutover","approver":"you@example.com","comment":"..."}`)
	}
	if !slices.Contains(knownGates, a.Stage) {
		return fmt.Errorf("stage %q is not a gate: use one of %s", a.Stage, strings.Join(knownGates, ", "))
	}
	if len(a.Comment) > 4096 || len(a.Approver) > 256 {
		return fmt.Errorf("approver or comment too long")
	}
	return nil
}

func validateAction(a Action) error {
	if strings.TrimSpace(a.By) == "" {
		return fmt.Errorf(`"by" is required, e.g. {"by":"you@example.com","reason":"..."}`)
	}
	if len(a.Reason) > 4096 || len(a.By) > 256 {
		return fmt.Errorf("by or reason too long")
	}
	return nil
}

// registerHandlers wires signals, updates and the status query.
func (m *migration) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return m.status(), nil }); err != nil {
		return err
	}
	approval := func(decision string) func(raw converter.RawValue, caller string) {
		return func(raw converter.RawValue, caller string) {
			var a Approval
			err := decodeRaw(raw, &a)
			if err == nil {
				err = validateApproval(a)
			}
			if err != nil {
				m.audit(ctx, decision, a.Approver, err.Error())
				return
			}
			_ = m.decide(ctx, decision, a, caller)
		}
	}
	action := func(kind string) func(raw converter.RawValue, caller string) {
		return func(raw converter.RawValue, _ string) {
			var a Action
			err := decodeRaw(raw, &a)
			if err == nil {
				err = validateAction(a)
			}
			if err != nil {
				m.audit(ctx, kind, a.By, err.Error())
				return
			}
			_ = m.act(ctx, kind, a)
		}
	}
	for name, fn := range map[string]func(converter.RawValue, string){
		SignalApprove:  approval("approve"),
		SignalReject:   approval("reject"),
		SignalRetry:    action("retry"),
		SignalSkip:     action("skip"),
		SignalRollback: action("rollback"),
	} {
		ch := workflow.GetSignalChannel(ctx, name)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var raw converter.RawValue
				ch.Receive(ctx, &raw)
				fn(raw, identity.SignalCaller(ctx, name))
			}
		})
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalReleaseCutover)
		for {
			ch.Receive(ctx, nil)
			m.released = true
		}
	})

	// Updates: the validator refuses malformed requests before they reach
	// history; the handler checks authorization and records refusals, so
	// the CLI hears at once and the audit keeps every attempt.
	for name, decision := range map[string]string{UpdateApprove: "approve", UpdateReject: "reject"} {
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, a Approval) (ApprovalRecord, error) {
				if err := m.decide(ctx, decision, a, identity.Caller(ctx)); err != nil {
					return ApprovalRecord{}, err
				}
				return m.st.Approvals[len(m.st.Approvals)-1], nil
			},
			workflow.UpdateHandlerOptions{Validator: func(a Approval) error { return validateApproval(a) }})
		if err != nil {
			return err
		}
	}
	for name, kind := range map[string]string{UpdateRetry: "retry", UpdateSkip: "skip", UpdateRollback: "rollback"} {
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, a Action) (string, error) {
				if err := m.act(ctx, kind, a); err != nil {
					return "", err
				}
				return kind + " accepted", nil
			},
			workflow.UpdateHandlerOptions{Validator: func(a Action) error { return validateAction(a) }})
		if err != nil {
			return err
		}
	}
	return nil
}

// decide applies an approval or rejection, or records why it was refused.
// caller is the sender's client identity when known (identity package),
// else "": a known identity must be the payload's approver.
func (m *migration) decide(ctx workflow.Context, decision string, a Approval, caller string) error {
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		m.audit(ctx, decision, a.Approver, reason)
		return fmt.Errorf("%s", reason)
	}
	if m.waiting == nil || m.waiting.Gate != a.Stage || m.decision != nil {
		open := "no gate is open"
		if m.waiting != nil && m.waiting.Approvers != nil {
			open = "the open gate is " + m.waiting.Gate
		}
		return refuse("%s for %s refused: %s", decision, a.Stage, open)
	}
	if caller != "" && caller != a.Approver {
		return refuse("%s refused: the request names %s as approver but was sent by %s (client identity): approve as yourself",
			decision, a.Approver, caller)
	}
	if !slices.Contains(m.waiting.Approvers, a.Approver) {
		return refuse("%s refused: %s is not an approver of %s for %s (approvers: %s)",
			decision, a.Approver, a.Stage, m.spec.Name, strings.Join(m.waiting.Approvers, ", "))
	}
	if a.Stage == GateCutover && decision == "approve" && a.Approver == m.in.StartedBy {
		return refuse("approve refused: %s started this migration and may not approve its cutover (separation of duties)", a.Approver)
	}
	rec := ApprovalRecord{Approval: a, Decision: decision + "d", At: workflow.Now(ctx)}
	if decision == "approve" {
		rec.Decision = "approved"
	} else {
		rec.Decision = "rejected"
	}
	m.st.Approvals = append(m.st.Approvals, rec)
	m.decision = &rec
	return nil
}

// act applies retry, skip or rollback, or records why it was refused.
func (m *migration) act(ctx workflow.Context, kind string, a Action) error {
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		m.audit(ctx, kind, a.By, reason)
		return fmt.Errorf("%s", reason)
	}
	switch kind {
	case "rollback":
		if m.decommissioned {
			return refuse("rollback refused: decommission of %s completed; the source VMs are gone or archived", m.spec.Name)
		}
		if m.finished {
			return refuse("rollback refused: the migration already ended (%s)", m.st.Stage)
		}
		if m.rollbackReq != nil {
			return nil // already rolling back: idempotent
		}
		if a.Reason == "" {
			return refuse(`rollback refused: give a reason, e.g. {"by":"you","reason":"5xx above budget"}`)
		}
		m.rollbackReq = &a
		return nil
	case "retry", "skip":
		if m.parked == nil {
			return refuse("%s refused: %s is not blocked (stage %s)", kind, m.spec.Name, m.st.Stage)
		}
		if kind == "skip" && !m.skippable(*m.parked) {
			return refuse("skip refused: the plan does not allow skipping %s for %s (plan: skippable = %v)", m.parked.name, m.spec.Name, m.spec.Skippable)
		}
		m.action = kind
		m.actionBy = a
		return nil
	}
	return refuse("unknown action %q", kind)
}

func (m *migration) audit(ctx workflow.Context, signal, by, reason string) {
	m.st.Audit = append(m.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: signal, By: by, Reason: reason})
	workflow.GetLogger(ctx).Warn("refused", "signal", signal, "by", by, "reason", reason)
}
