package test

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/workflows"
)

// quickSpec is an app whose timers are all zero: it runs through every
// stage as fast as its activities and approvals allow.
func quickSpec(name string) plan.AppSpec {
	approvers := []string{"ana@example.com", "bo@example.com"}
	return plan.AppSpec{
		Name: name, Wave: "wave-1", Owner: "ana@example.com", Tier: "tier-2",
		VMs:       []plan.VMSpec{{Ref: "vm-1", Name: name + "-01", NumCPU: 2, MemoryMB: 4096, DiskGB: 40}},
		Approvers: map[string][]string{"plan": approvers, "cutover": approvers, "decommission": approvers},
		Operators: []string{"carl@example.com"},
		People: map[string][]string{"ana@example.com": {testkeys.AuthorizedKey("ana@example.com")},
			"bo@example.com": {testkeys.AuthorizedKey("bo@example.com")}, "carl@example.com": {testkeys.AuthorizedKey("carl@example.com")}},
		Cutover:      plan.CutoverSpec{Strategy: "lb", Steps: []plan.Step{{Percent: 10}, {Percent: 50}, {Percent: 100}}},
		Rollback:     plan.RollbackSpec{Policy: "destroy"},
		Decommission: plan.DecommissionSpec{FinalAction: "keep-off"},
	}
}

// driver approves whatever gate a migration waits on, as its approvers
// would (signed with keys, testKeys when nil), and records every approval
// it sent.
type driver struct {
	c    client.Client
	keys keys
	sent []workflows.Approval
	// skipped: the parks (by seq) the driver answered with skip.
	skipped map[int]bool
}

func (d *driver) status(ctx context.Context, app string) (workflows.Status, error) {
	var st workflows.Status
	v, err := d.c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// step sends at most one approval; it returns the stage it saw.
func (d *driver) step(ctx context.Context, app string, stopAt string) (string, error) {
	st, err := d.status(ctx, app)
	if err != nil {
		return "", err
	}
	w := st.Waiting
	if st.Stage != stopAt && w != nil && w.Gate == "retry" && st.LastError != nil &&
		st.LastError.Reason == string(runbooks.ReasonDependencyNotStarted) && len(st.Approvals) > 0 && !d.skipped[w.Seq] {
		// The tests start apps out of their waves' order: the app's
		// dependencies in earlier waves never start, so cut over without
		// them, as the runbook allows.
		return st.Stage, d.skip(ctx, app, st.Approvals[0].Approver, w.Seq)
	}
	if st.Stage == stopAt || w == nil || len(w.Approvers) == 0 {
		return st.Stage, nil
	}
	for _, a := range st.Approvals {
		if a.Stage == w.Gate && a.At.After(w.Since.Add(-time.Millisecond)) {
			return st.Stage, nil // already approved, not yet moved on
		}
	}
	who := w.Approvers[len(w.Approvers)-1]
	k := d.keys
	if k == nil {
		k = testKeys
	}
	ap, err := as(d.c, who, k).Approval(ctx, app, "approve", w.Gate, "driven by the test")
	if err != nil {
		return st.Stage, err
	}
	if err := d.c.SignalWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.SignalApprove, ap); err != nil {
		return st.Stage, err
	}
	d.sent = append(d.sent, ap)
	return st.Stage, nil
}

// skip answers the park seq with a signed skip by who.
func (d *driver) skip(ctx context.Context, app, who string, seq int) error {
	k := d.keys
	if k == nil {
		k = testKeys
	}
	a, err := as(d.c, who, k).Action(ctx, app, "skip", "test: the app's dependencies in earlier waves are not migrated in this test")
	if err != nil {
		return err
	}
	if err := d.c.SignalWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.SignalSkip, a); err != nil {
		return err
	}
	if d.skipped == nil {
		d.skipped = map[int]bool{}
	}
	d.skipped[seq] = true
	return nil
}

// run approves gates until the workflow ends or reaches stopAt.
func (d *driver) run(ctx context.Context, app, stopAt string) (string, error) {
	for {
		desc, err := d.c.DescribeWorkflowExecution(ctx, workflows.AppWorkflowID(app), "")
		if err == nil && desc.WorkflowExecutionInfo.CloseTime != nil {
			var res workflows.MigrateAppResult
			if err := d.c.GetWorkflow(ctx, workflows.AppWorkflowID(app), "").Get(ctx, &res); err != nil {
				return "", err
			}
			return res.Outcome, nil
		}
		stage, err := d.step(ctx, app, stopAt)
		if err == nil && stage == stopAt {
			return stage, nil
		}
		select {
		case <-ctx.Done():
			return stage, fmt.Errorf("%s stuck at %s: %w", app, stage, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
