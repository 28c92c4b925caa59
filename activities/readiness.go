package activities

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/readiness"
	"github.com/ferrymigrate/ferry/runbooks"
)

// A not-ready VM cannot pass the plan gate. DiscoverApp assesses the VMs it
// reads from vCenter and refuses (reason vm-not-ready) before the
// dependency check and terraform plan; TerraformPlan, the last step before
// the gate, assesses them again, so a migration whose plan lets `skip`
// pass Discover still cannot reach the gate with a not-ready VM. Both use
// plan.Readiness, the function plan validate reports with, and honour the
// findings the reviewed plan accepts (accept_readiness).

// notReadyError is the non-retryable refusal: which VMs, why, and how to
// fix them; details carries what was discovered (the evidence).
func notReadyError(app string, rep readiness.AppReport, details any) error {
	blocking := rep.Blocking()
	if len(blocking) == 0 {
		return nil
	}
	var parts []string
	checks := map[string]bool{}
	var codes []string
	for _, v := range blocking {
		for _, f := range v.Findings {
			parts = append(parts, fmt.Sprintf("VM %s (%s) [%s]: %s; fix: %s", v.Name, v.Ref, f.Check, f.Reason, f.Fix))
			if !checks[f.Check] {
				checks[f.Check] = true
				codes = append(codes, fmt.Sprintf("%q", f.Check))
			}
		}
	}
	msg := fmt.Sprintf("app %s has %d VM(s) not ready for Compute Engine, so its migration cannot pass the plan gate: %s. Fix the VMs in vCenter and retry, or have reviewers accept the risk with accept_readiness = [%s] in app %q of ferry.hcl, publish the reviewed plan and restart (runbook: %s)",
		app, len(blocking), strings.Join(parts, "; "), strings.Join(codes, ", "), app, runbooks.Link(runbooks.ReasonVMNotReady))
	return temporal.NewNonRetryableApplicationError(msg, string(runbooks.ReasonVMNotReady), nil, details)
}

// CheckReadinessResult is TerraformPlan's re-check, for its error details.
type CheckReadinessResult struct {
	Readiness readiness.AppReport `json:"readiness"`
}

// recheckReadiness re-reads the app's VMs from vCenter and refuses
// not-ready ones. A worker without vCenter settings cannot check, and says
// so in its log; it could not have discovered the app either.
func (a *Activities) recheckReadiness(ctx context.Context, spec plan.AppSpec) error {
	if a.VCenter.URL == "" {
		activity.GetLogger(ctx).Warn("no vCenter configured: readiness not re-checked before the plan gate", "app", spec.Name)
		return nil
	}
	c, err := inventory.Connect(ctx, a.VCenter)
	if err != nil {
		return vcenterActivityError(err)
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	opts := a.VCenter.Grouping
	opts.App = spec.Name
	opts.UsageWindow = -1 // readiness needs no usage history
	inv, err := inventory.Discover(ctx, c, opts)
	if err != nil {
		return vcenterActivityError(err)
	}
	rep := plan.Readiness(spec, inv.VMs)
	return notReadyError(spec.Name, rep, CheckReadinessResult{Readiness: rep})
}
