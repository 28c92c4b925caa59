package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// DiscoverApp re-reads the app's VMs from vCenter and compares them with
// the plan. Drift fails the activity without retry (reason inventory-drift)
// and carries the DiscoverAppResult, VMs and drift, as the error's details,
// so the workflow can park and show what changed. A VM that is not ready
// for Compute Engine (readiness), unless the reviewed plan accepts the
// finding, fails it the same way with reason vm-not-ready. vCenter errors keep their
// reason; only transient ones are retried.
func (a *Activities) DiscoverApp(ctx context.Context, in DiscoverAppInput) (DiscoverAppResult, error) {
	log := activity.GetLogger(ctx)
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return DiscoverAppResult{}, err
	}
	app := spec.Name
	c, err := inventory.Connect(ctx, a.VCenter)
	if err != nil {
		return DiscoverAppResult{}, vcenterActivityError(err)
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()

	opts := a.VCenter.Grouping
	opts.App = app
	inv, err := inventory.Discover(ctx, c, opts)
	if err != nil {
		return DiscoverAppResult{}, vcenterActivityError(err)
	}
	res := DiscoverAppResult{VMs: inv.VMs}
	planned := make([]inventory.PlannedVM, 0, len(spec.VMs))
	for _, p := range spec.VMs {
		planned = append(planned, inventory.PlannedVM{Ref: p.Ref, Name: p.Name, NumCPU: p.NumCPU, MemoryMB: p.MemoryMB, DiskGB: p.DiskGB, DataDisksGB: p.DataDisksGB})
	}
	for _, d := range inventory.DetectDrift(planned, inv.VMs) {
		res.Drift = append(res.Drift, Drift{Kind: d.Kind, VMRef: d.VMRef, VMName: d.VMName, Detail: d.Detail})
	}
	rep := plan.Readiness(spec, inv.VMs)
	res.Readiness = &rep
	log.Info("discovered app", "app", app, "vms", len(res.VMs), "drift", len(res.Drift), "readiness", rep.Verdict)
	if len(res.Drift) > 0 {
		return res, temporal.NewNonRetryableApplicationError(driftMessage(app, res.Drift), string(runbooks.ReasonInventoryDrift), nil, res)
	}
	if err := notReadyError(app, rep, res); err != nil {
		return res, err
	}
	return res, nil
}

func driftMessage(app string, drift []Drift) string {
	lines := make([]string, 0, len(drift))
	for _, d := range drift {
		lines = append(lines, d.Kind+": "+d.Detail)
	}
	return fmt.Sprintf("app %s drifted from the plan in vCenter (%d change(s)): %s. Update ferry.hcl (run 'ferry discover' to see the VMs) or revert the change in vCenter, then retry",
		app, len(drift), strings.Join(lines, "; "))
}

// vcenterActivityError keeps the inventory error's reason as the
// application error type; auth, permission, TLS and unknown-datacenter
// errors are not retried, network and transient faults are.
func vcenterActivityError(err error) error {
	var ie *inventory.Error
	if errors.As(err, &ie) {
		if ie.Retryable() {
			return temporal.NewApplicationError(ie.Error(), string(ie.Reason))
		}
		return temporal.NewNonRetryableApplicationError(ie.Error(), string(ie.Reason), nil)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// Bad options (e.g. an invalid name rule) will not fix themselves.
	return temporal.NewNonRetryableApplicationError("discover: "+err.Error(), string(runbooks.ReasonVCenterFault), nil)
}
