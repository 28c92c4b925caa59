package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/metrics"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/terraform"
)

// heartbeatEvery keeps long terraform runs visibly alive even when
// terraform reports nothing (an instance create waits on its own).
const heartbeatEvery = 5 * time.Second

// TerraformPlan re-checks the readiness of the app's VMs in vCenter (a
// not-ready VM fails it with reason vm-not-ready), renders the app's root
// module and runs terraform plan; the summary is the evidence of the
// approve-plan gate.
func (a *Activities) TerraformPlan(ctx context.Context, in TerraformInput) (TerraformPlanResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return TerraformPlanResult{}, err
	}
	// The gate's evidence is never produced for a not-ready VM, even when
	// the plan lets `skip` pass Discover.
	if err := a.recheckReadiness(ctx, spec); err != nil {
		return TerraformPlanResult{}, err
	}
	sum, err := withRunner(ctx, a, spec, "plan", runbooks.ReasonTerraformPlan, func(r *terraform.Runner) (terraform.PlanSummary, error) {
		sum, _, err := r.Plan(ctx)
		return sum, err
	})
	if err != nil {
		return TerraformPlanResult{}, err
	}
	activity.GetLogger(ctx).Info("terraform plan", "app", spec.Name, "add", sum.Add, "change", sum.Change, "destroy", sum.Destroy)
	return TerraformPlanResult{Summary: toSummary(sum)}, nil
}

// TerraformApply re-plans the app and applies that plan only when it is the
// approved one; an applied app is left as it is. It heartbeats progress.
func (a *Activities) TerraformApply(ctx context.Context, in TerraformApplyInput) (TerraformApplyResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return TerraformApplyResult{}, err
	}
	res, err := withRunner(ctx, a, spec, "apply", runbooks.ReasonTerraformApply, func(r *terraform.Runner) (terraform.ApplyResult, error) {
		return r.Apply(ctx, in.ApprovedPlanHash)
	})
	if err != nil {
		return TerraformApplyResult{}, err
	}
	if res.Resumed {
		activity.GetLogger(ctx).Info("terraform apply completed an interrupted apply", "app", spec.Name)
	}
	return TerraformApplyResult{Outputs: res.Outputs, InstanceIP: res.InstanceIP, Changed: res.Changed}, nil
}

// TerraformDestroy removes what the app's state holds (rollback with the
// destroy policy). It heartbeats progress.
func (a *Activities) TerraformDestroy(ctx context.Context, in TerraformInput) (TerraformDestroyResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return TerraformDestroyResult{}, err
	}
	n, err := withRunner(ctx, a, spec, "destroy", runbooks.ReasonTerraformDestroy, func(r *terraform.Runner) (int, error) {
		return r.Destroy(ctx)
	})
	return TerraformDestroyResult{Destroyed: n}, err
}

// withRunner runs op (plan, apply or destroy) on the app's terraform
// runner, owned by this activity, heartbeating (init + plan too can outlast
// a stage's heartbeat timeout on a busy worker) and measured; a failure is
// a Temporal error with reason.
func withRunner[T any](ctx context.Context, a *Activities, spec plan.AppSpec, op string, reason runbooks.Reason, run func(*terraform.Runner) (T, error)) (T, error) {
	r, err := a.runner(spec)
	if err != nil {
		var zero T
		return zero, err
	}
	r.Owner = owner(ctx)
	stop := heartbeat(ctx, r)
	done := measure(ctx, op)
	res, err := run(r)
	done(err)
	stop()
	logRecovered(ctx, spec.Name, r)
	if err != nil {
		return res, terraformError(ctx, err, reason)
	}
	return res, nil
}

// measure times one terraform command into ferry_terraform_seconds{op}
// and counts its failure in ferry_terraform_failed_total{op}.
func measure(ctx context.Context, op string) func(error) {
	began := time.Now()
	return func(err error) {
		metrics.TerraformDuration(ctx, op, time.Since(began))
		if err != nil {
			metrics.TerraformFailed(ctx, op)
		}
	}
}

func (a *Activities) runner(spec plan.AppSpec) (*terraform.Runner, error) {
	// A spec that cannot render is a plan error: never run terraform on it.
	if _, err := terraform.Render(spec, terraform.RenderOptions{GCP: a.GCP}); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonPlanInvalid), err)
	}
	r, err := terraform.NewRunner(a.Terraform, a.GCP, spec)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonTerraformPlan), err)
	}
	return r, nil
}

// owner names this activity attempt in the run marker terraform's runner
// writes next to the state, so the next attempt can recover a lock this
// one leaves if its worker dies mid-run.
func owner(ctx context.Context) *terraform.Owner {
	if !activity.IsActivity(ctx) {
		return nil
	}
	info := activity.GetInfo(ctx)
	host, _ := os.Hostname()
	return &terraform.Owner{WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		ActivityID: info.ActivityID, Attempt: info.Attempt, Worker: fmt.Sprintf("%s/%d", host, os.Getpid()),
		Started: time.Now().UTC()}
}

func logRecovered(ctx context.Context, app string, r *terraform.Runner) {
	for _, l := range r.Recovered {
		activity.GetLogger(ctx).Warn("recovered the terraform state lock left by an earlier attempt (worker lost)",
			"app", app, "lockID", l.ID, "activityID", l.Previous.ActivityID, "attempt", l.Previous.Attempt, "worker", l.Previous.Worker)
	}
}

// heartbeat records terraform's progress, and at least every few seconds
// the last progress seen, until stop is called.
func heartbeat(ctx context.Context, r *terraform.Runner) (stop func()) {
	var mu sync.Mutex
	last := terraform.Progress{Phase: "start", Message: "terraform starting"}
	r.Progress = func(p terraform.Progress) {
		mu.Lock()
		last = p
		mu.Unlock()
		activity.RecordHeartbeat(ctx, p)
	}
	return heartbeats(ctx, heartbeatEvery, func() any {
		mu.Lock()
		defer mu.Unlock()
		return last
	})
}

// terraformError maps runner errors to typed Temporal errors: terraform's
// own failures, lock conflicts and plan drift park the workflow with the
// right runbook; anything else (e.g. a cancelled context) is retryable.
func terraformError(ctx context.Context, err error, reason runbooks.Reason) error {
	if ctx.Err() != nil {
		// Cancelled or timed out: terraform stopped gracefully and a retry
		// resumes (orphans are adopted by the runner).
		return temporal.NewApplicationError(err.Error(), string(reason))
	}
	var locked *terraform.LockedError
	var drift *terraform.PlanDriftError
	var foreign *terraform.ForeignObjectError
	var tfe *terraform.Error
	switch {
	case errors.As(err, &foreign):
		return temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonTerraformForeign), nil)
	case errors.As(err, &locked):
		return temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonTerraformLocked), nil, locked.Who)
	case errors.As(err, &drift):
		return temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonTerraformPlanDrift), nil, toSummary(drift.Summary))
	case errors.As(err, &tfe):
		return temporal.NewNonRetryableApplicationError(err.Error(), string(reason), nil, tfe.Diagnostics)
	}
	return temporal.NewApplicationError(err.Error(), string(reason))
}

func toSummary(s terraform.PlanSummary) PlanSummary {
	return PlanSummary{Add: s.Add, Change: s.Change, Destroy: s.Destroy, Resources: s.Resources,
		MachineTypes: s.MachineTypes, MonthlyUSD: s.MonthlyUSDDelta, InState: s.InState, Hash: s.Hash}
}
