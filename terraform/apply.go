package terraform

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// ApplyResult is what an apply did and what now exists.
type ApplyResult struct {
	Summary    PlanSummary
	Changed    bool
	Resumed    bool              // a partial earlier apply was completed
	InstanceIP map[string]string // GCE name -> internal IP
	Outputs    map[string]string
}

// Apply re-renders and re-plans the app, then applies that saved plan only
// if it is the approved one: the same full change set (hash), or — after
// an interrupted apply — the same module with what is left of the approved
// change set (Refines). Objects an interrupted apply created but did not
// save are adopted when labelled as this app's. Anything else is a
// PlanDriftError naming the differences. Applying an applied app changes
// nothing.
func (r *Runner) Apply(ctx context.Context, approvedHash string) (ApplyResult, error) {
	defer r.claim(ctx)()
	p, err := r.initPlan(ctx)
	if err != nil {
		return ApplyResult{}, err
	}
	res := ApplyResult{Summary: p.sum}
	if !p.sum.HasChanges() {
		return r.withOutputs(ctx, res)
	}
	approved := p.changes
	if p.sum.Hash != approvedHash {
		if approved, err = r.approvedChanges(ctx, approvedHash, p); err != nil {
			return res, err
		}
		if ok, diffs := Refines(p.changes, approved); !ok {
			return res, r.drift(approvedHash, p, diffs, "")
		}
		res.Resumed = true
	}
	if err := r.applyFile(ctx, p.file); err != nil {
		var tfe *Error
		adopt := []string(nil)
		if errors.As(err, &tfe) && ctx.Err() == nil {
			adopt = orphans(tfe.Diagnostics)
		}
		if len(adopt) == 0 {
			return res, err
		}
		res.Resumed = true
		if err := r.adoptAndApply(ctx, adopt, approvedHash, approved, tfe); err != nil {
			return res, err
		}
	}
	res.Changed = true
	return r.withOutputs(ctx, res)
}

// approvedChanges reads the approved change set for a plan p whose hash
// differs from the approved one; a different module, or no record, is
// drift already.
func (r *Runner) approvedChanges(ctx context.Context, approvedHash string, p planned) (ChangeSet, error) {
	if cfg := hashPart(approvedHash, 1); cfg == "" || cfg != hashPart(p.sum.Hash, 1) {
		return nil, r.drift(approvedHash, p, Diff(nil, p.changes), "the rendered module (resources, provider or its lock) differs from the approved one")
	}
	approved, err := r.loadChanges(ctx, approvedHash)
	if errors.Is(err, errNoRecord) {
		return nil, r.drift(approvedHash, p, Diff(nil, p.changes), "the approved plan's change set is not on record next to the state, so the difference cannot be shown")
	}
	return approved, err
}

func (r *Runner) drift(approvedHash string, p planned, diffs []ResourceDiff, why string) error {
	return &PlanDriftError{App: r.spec.Name, Approved: approvedHash, Now: p.sum.Hash, Summary: p.sum, Differences: diffs, Why: why}
}

func (r *Runner) applyFile(ctx context.Context, file string) error {
	tf, err := r.tf()
	if err != nil {
		return err
	}
	return r.untilLockSettles(ctx, func() error {
		s := newJSONStream(r.Progress)
		err := tf.ApplyJSON(ctx, s, tfexec.DirOrPlan(file), tfexec.LockTimeout(r.lockTimeout()))
		s.close()
		return r.fail("apply", err, s.errors())
	})
}

func (r *Runner) withOutputs(ctx context.Context, res ApplyResult) (ApplyResult, error) {
	tf, err := r.tf()
	if err != nil {
		return res, err
	}
	outs, err := tf.Output(ctx)
	if err != nil {
		return res, r.fail("output", err, nil)
	}
	res.Outputs = map[string]string{}
	for k, o := range outs {
		if k == "instance_ips" {
			_ = json.Unmarshal(o.Value, &res.InstanceIP)
			continue
		}
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			res.Outputs[k] = s
		}
	}
	return res, nil
}
