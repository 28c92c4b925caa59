package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/codec"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/textsafe"
)

// Signals arrive as raw payloads and are decoded here, so a malformed
// payload (say, typed by hand in the Temporal UI) is recorded in the audit
// list instead of being dropped by the SDK or panicking the workflow.

var knownGates = []string{GatePlan, GateCutover, GateDecommission, GateDependencies, GateWindowOverride}

// GateDependencies is the acknowledgement asked for when a dependency stays
// behind in the datacenter.
const GateDependencies = "dependencies"

// GateWindowOverride is the emergency override of a closed change window,
// open while a cutover waits for its window: two distinct cutover
// approvers, each verified, neither the migration's starter.
const GateWindowOverride = "window-override"

// decodeRaw decodes a JSON signal payload strictly.
func decodeRaw(raw converter.RawValue, v any) error {
	p := raw.Payload()
	if p == nil {
		return fmt.Errorf("empty payload")
	}
	if enc := string(p.GetMetadata()["encoding"]); enc == codec.EncodingRefused {
		return fmt.Errorf("plaintext payload refused: this worker requires payloads encrypted with the ferry codec key (send it from the Temporal UI with the codec server configured, or with the ferry CLI)")
	} else if enc != "" && enc != "json/plain" {
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
		return fmt.Errorf(`"approver" is required: produce the JSON with 'ferry migrate approve APP --stage STAGE --print-signal'`)
	}
	if !slices.Contains(knownGates, a.Stage) {
		return fmt.Errorf("stage %q is not a gate: use one of %s", a.Stage, strings.Join(knownGates, ", "))
	}
	if len(a.Comment) > 4096 || len(a.Approver) > 256 || len(a.Signature) > 4096 {
		return fmt.Errorf("approver, comment or signature too long")
	}
	return nil
}

func validateAction(a Action) error {
	if strings.TrimSpace(a.By) == "" {
		return fmt.Errorf(`"by" is required: produce the JSON with 'ferry migrate retry|skip|rollback APP --print-signal'`)
	}
	if len(a.Reason) > 4096 || len(a.By) > 256 || len(a.Signature) > 4096 {
		return fmt.Errorf("by, reason or signature too long")
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
		return func(raw converter.RawValue, caller string) {
			var a Action
			err := decodeRaw(raw, &a)
			if err == nil {
				err = validateAction(a)
			}
			if err != nil {
				m.audit(ctx, kind, a.By, err.Error())
				return
			}
			_ = m.act(ctx, kind, a, caller)
		}
	}
	for name, fn := range map[string]func(converter.RawValue, string){
		SignalApprove:        approval("approve"),
		SignalReject:         approval("reject"),
		SignalRetry:          action("retry"),
		SignalSkip:           action("skip"),
		SignalRollback:       action("rollback"),
		SignalReleaseCutover: func(raw converter.RawValue, _ string) { m.release(ctx, raw) },
		SignalDependencyLost: func(raw converter.RawValue, _ string) { m.dependencyLost(ctx, raw) },
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
				if err := m.act(ctx, kind, a, identity.Caller(ctx)); err != nil {
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

// release handles the wave's release-cutover: only the wave that started
// this app knows the token.
func (m *migration) release(ctx workflow.Context, raw converter.RawValue) {
	var msg WaveMessage
	if err := decodeRaw(raw, &msg); err != nil || m.in.WaveToken == "" || msg.Token != m.in.WaveToken {
		m.audit(ctx, "release-cutover", "", "release-cutover refused: it does not carry this app's wave token (only the wave that started it can release its cutover)")
		return
	}
	m.released = true
}

// dependencyLost handles the wave's news that a dependency of this held
// app rolled back, was rejected or failed: it will not cut over.
func (m *migration) dependencyLost(ctx workflow.Context, raw converter.RawValue) {
	var msg WaveMessage
	if err := decodeRaw(raw, &msg); err != nil || m.in.WaveToken == "" || msg.Token != m.in.WaveToken {
		m.audit(ctx, SignalDependencyLost, "", "dependency-lost refused: it does not carry this app's wave token")
		return
	}
	m.depLost = textsafe.Line(msg.Reason)
}

// mayAct reports whether the plan lets this person act on the app: its
// approvers (of any gate) and its operators.
func mayAct(spec plan.AppSpec, who string) bool {
	if slices.Contains(spec.Operators, who) {
		return true
	}
	for _, people := range spec.Approvers {
		if slices.Contains(people, who) {
			return true
		}
	}
	return false
}

func (m *migration) mayAct(who string) bool { return mayAct(m.spec, who) }

// verify checks a person's signed statement against the keys the reviewed
// plan lists for them.
func (m *migration) verify(ctx workflow.Context, s identity.Statement, sig string) (verified bool, fingerprint string, err error) {
	return verifySigned(workflow.Now(ctx), s, sig, m.spec.People[s.By], m.spec.AllowUnverified)
}

// verifySigned checks a signed statement against authorized keys at the
// workflow's time now. An unsigned statement passes, unverified, only with
// allowUnverified; a bad or stale signature never passes.
func verifySigned(now time.Time, s identity.Statement, sig string, keys []string, allowUnverified bool) (verified bool, fingerprint string, err error) {
	if strings.TrimSpace(sig) == "" {
		if allowUnverified {
			return false, "", nil
		}
		return false, "", fmt.Errorf("%s by %s is not signed: the reviewed plan requires signed actions; produce it with the ferry CLI (for the UI: --print-signal prints the JSON to paste)", s.Kind, s.By)
	}
	if d := now.Sub(s.IssuedAt); s.IssuedAt.IsZero() || d > identity.MaxSkew || d < -identity.MaxSkew {
		return false, "", fmt.Errorf("%s by %s was signed at %s, too far from now (%s): sign it again", s.Kind, s.By, s.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	fp, err := identity.Verify(s, sig, keys)
	if err != nil {
		return false, "", fmt.Errorf("%s by %s: %v", s.Kind, s.By, err)
	}
	return true, fp, nil
}

func (m *migration) statement(ctx workflow.Context, kind, stage string, seq int, by, text string, at time.Time) identity.Statement {
	info := workflow.GetInfo(ctx)
	return identity.Statement{WorkflowID: info.WorkflowExecution.ID, RunID: signingRunID(info),
		Kind: kind, Stage: stage, Seq: seq, By: by, Text: text, IssuedAt: at}
}

// signingRunID is the run that signed approvals and actions name: the run
// as it was started. A Temporal reset gives the workflow a new run ID but
// keeps this one (the SDK's OriginalRunID), so the approvals given before
// the reset point still verify when the new run replays them, and the
// run goes on instead of failing its workflow tasks as nondeterministic.
// Another migration of the same app (a new start) has another one, so a
// statement signed for one run never counts in the next. For a run that
// was never reset it is the run ID itself, so histories replay as before.
func signingRunID(info *workflow.Info) string {
	if info.OriginalRunID != "" {
		return info.OriginalRunID
	}
	return info.WorkflowExecution.RunID
}

// decide applies an approval or rejection, or records why it was refused.
// caller is the sender's client identity when known (identity package):
// it must be the approver named in the payload.
func (m *migration) decide(ctx workflow.Context, decision string, a Approval, caller string) error {
	approver := identity.Normalize(a.Approver)
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		m.audit(ctx, decision, approver, reason)
		return fmt.Errorf("%s", reason)
	}
	w := m.waiting
	if w == nil || w.Gate != a.Stage || m.decision != nil || w.Approvers == nil {
		open := "no gate is open"
		if w != nil && w.Approvers != nil {
			open = "the open gate is " + w.Gate
		}
		return refuse("%s for %s refused: %s", decision, a.Stage, open)
	}
	if caller != "" && identity.Normalize(caller) != approver {
		return refuse("%s refused: the request names %s as approver but was sent by %s (client identity): approve as yourself",
			decision, approver, caller)
	}
	if !slices.Contains(w.Approvers, approver) {
		return refuse("%s refused: %s is not an approver of %s for %s (approvers: %s)",
			decision, approver, a.Stage, m.spec.Name, strings.Join(w.Approvers, ", "))
	}
	if a.Seq != 0 && a.Seq != w.Seq {
		return refuse("%s refused: it answers opening %d of the %s gate; the open one is %d (produce it again)", decision, a.Seq, a.Stage, w.Seq)
	}
	verified, fp, err := m.verify(ctx, m.statement(ctx, decision, a.Stage, w.Seq, approver, a.Comment, a.IssuedAt), a.Signature)
	if err != nil {
		return refuse("%s refused: %v", decision, err)
	}
	if (a.Stage == GateCutover || a.Stage == GateWindowOverride) && decision == "approve" && approver == m.st.StartedBy {
		return refuse("approve refused: %s started this migration and may not approve its cutover (separation of duties)", approver)
	}
	if a.Stage == GateWindowOverride && !verified {
		return refuse("approve refused: overriding a change window needs verified approvals; sign with 'ferry migrate approve APP --stage %s'", GateWindowOverride)
	}
	if decision == "approve" && slices.Contains(w.Approved, approver) {
		return refuse("approve refused: %s already approved this opening of the %s gate; %d of %d approvals so far", approver, a.Stage, len(w.Approved), w.Required)
	}
	a.Approver = approver
	rec := ApprovalRecord{Approval: a, Decision: "approved", At: workflow.Now(ctx), Verified: verified, KeyFingerprint: fp}
	if decision == "reject" {
		rec.Decision = "rejected"
	}
	rec.Signature = "" // verified above; the record keeps the key's fingerprint
	m.st.Approvals = append(m.st.Approvals, rec)
	if decision == "reject" {
		m.decision = &rec
		return nil
	}
	w.Approved = append(w.Approved, approver)
	if len(w.Approved) >= w.Required {
		m.decision = &rec
	} else {
		m.publish(ctx)
	}
	return nil
}

// act applies retry, skip or rollback, or records why it was refused.
func (m *migration) act(ctx workflow.Context, kind string, a Action, caller string) error {
	by := identity.Normalize(a.By)
	refuse := func(format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		m.audit(ctx, kind, by, reason)
		return fmt.Errorf("%s", reason)
	}
	if caller != "" && identity.Normalize(caller) != by {
		return refuse("%s refused: the request names %s but was sent by %s (client identity): act as yourself", kind, by, caller)
	}
	verified, fp := false, ""
	if m.resolved {
		if !m.mayAct(by) {
			return refuse("%s refused: %s is neither an approver nor an operator of %s in the reviewed plan", kind, by, m.spec.Name)
		}
		seq := 0
		if kind != "rollback" && m.waiting != nil {
			seq = m.waiting.Seq
		}
		var err error
		if verified, fp, err = m.verify(ctx, m.statement(ctx, kind, "", seq, by, a.Reason, a.IssuedAt), a.Signature); err != nil {
			return refuse("%s refused: %v", kind, err)
		}
	} else if kind == "skip" {
		return refuse("skip refused: the reviewed plan is not resolved yet; publish it and retry")
	}
	// Before the plan is resolved no key is known: retry only re-reads the
	// plan store and rollback ends a run that did nothing, so both are
	// accepted, recorded as unverified.
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
			return refuse(`rollback refused: give a reason, e.g. --reason "5xx above budget"`)
		}
		a.By = by
		m.rollbackReq = &a
	case "retry", "skip":
		if m.parked == nil {
			return refuse("%s refused: %s is not blocked (stage %s)", kind, m.spec.Name, m.st.Stage)
		}
		if kind == "skip" && !m.skippable(*m.parked) {
			return refuse("skip refused: the plan does not allow skipping %s for %s (plan: skippable = %v)", m.parked.name, m.spec.Name, m.spec.Skippable)
		}
		m.action = kind
	default:
		return refuse("unknown action %q", kind)
	}
	m.st.Actions = append(m.st.Actions, ActionRecord{Kind: kind, By: by, Reason: a.Reason, At: workflow.Now(ctx), Verified: verified, KeyFingerprint: fp})
	return nil
}

func (m *migration) audit(ctx workflow.Context, signal, by, reason string) {
	m.st.Audit = append(m.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: signal, By: by, Reason: reason})
	workflow.GetLogger(ctx).Warn("refused", "signal", signal, "by", by, "reason", reason)
}
