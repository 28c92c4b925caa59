package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/runbooks"
)

// PlanRef names an app of a reviewed plan. It is all an activity input says
// about the plan: the activity resolves the spec (VMs, hooks, final
// actions) from the worker's own plan store, so a workflow input, a signal
// or a forged task cannot choose what the worker executes.
type PlanRef struct {
	App    string `json:"app"`
	Digest string `json:"digest"`
}

// Plans resolves reviewed plans by digest: the worker's plan store
// (planstore.Resolver) or, in tests, planstore.Static.
type Plans interface {
	App(ctx context.Context, app, digest string) (plan.AppSpec, error)
	Wave(ctx context.Context, wave, digest string) (plan.Wave, []plan.AppSpec, error)
	Current(ctx context.Context) (string, error)
}

// spec resolves the app's spec from the plan store.
func (a *Activities) spec(ctx context.Context, ref PlanRef) (plan.AppSpec, error) {
	if a.Plans == nil {
		return plan.AppSpec{}, temporal.NewNonRetryableApplicationError(
			"this worker has no plan store: start it with FERRY_PLAN_STORE set to where 'ferry plan publish' puts reviewed plans",
			string(runbooks.ReasonPlanDigestUnknown), nil)
	}
	s, err := a.Plans.App(ctx, ref.App, ref.Digest)
	if err != nil {
		return plan.AppSpec{}, planError(err)
	}
	return s, nil
}

// planError classifies a plan store error for the workflow.
func planError(err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	if errors.Is(err, planstore.ErrNotFound) || errors.Is(err, planstore.ErrNotInPlan) || errors.Is(err, planstore.ErrInvalid) {
		return temporal.NewNonRetryableApplicationError(err.Error()+" (runbook: "+runbooks.Link(runbooks.ReasonPlanDigestUnknown)+")",
			string(runbooks.ReasonPlanDigestUnknown), nil)
	}
	return fmt.Errorf("plan store: %w", err) // transient: retried
}

// ResolveAppInput asks for one app's reviewed spec.
type ResolveAppInput struct {
	Plan PlanRef `json:"plan"`
}

// ResolveAppResult is the app's spec from the reviewed plan, and the
// digest of a newer published plan whose spec for this app differs.
type ResolveAppResult struct {
	Spec   plan.AppSpec `json:"spec"`
	Latest string       `json:"latest,omitempty"`
	// RunbookBase is the worker's prefix of runbook links
	// (FERRY_RUNBOOK_BASE_URL), recorded here so that workflow code never
	// reads it from a package global.
	RunbookBase string `json:"runbookBase,omitempty"`
}

// ResolveApp reads the app's spec from the worker's plan store.
func (a *Activities) ResolveApp(ctx context.Context, in ResolveAppInput) (ResolveAppResult, error) {
	s, err := a.spec(ctx, in.Plan)
	if err != nil {
		return ResolveAppResult{}, err
	}
	res := ResolveAppResult{Spec: s, RunbookBase: runbooks.BaseURL()}
	cur, err := a.Plans.Current(ctx)
	if err != nil || cur == "" || cur == in.Plan.Digest {
		return res, nil // a newer plan is news, not a failure
	}
	if next, err := a.Plans.App(ctx, in.Plan.App, cur); err == nil && !planstore.SameSpec(s, next) {
		res.Latest = cur
	}
	return res, nil
}

// ResolveWaveInput asks for a wave of a reviewed plan.
type ResolveWaveInput struct {
	Wave   string `json:"wave"`
	Digest string `json:"digest"`
}

// ResolveWaveResult is the wave and the specs of its apps.
type ResolveWaveResult struct {
	Wave  plan.Wave      `json:"wave"`
	Specs []plan.AppSpec `json:"specs"`
}

// ResolveWave reads a wave from the worker's plan store.
func (a *Activities) ResolveWave(ctx context.Context, in ResolveWaveInput) (ResolveWaveResult, error) {
	if a.Plans == nil {
		_, err := a.spec(ctx, PlanRef{})
		return ResolveWaveResult{}, err
	}
	w, specs, err := a.Plans.Wave(ctx, in.Wave, in.Digest)
	if err != nil {
		return ResolveWaveResult{}, planError(err)
	}
	return ResolveWaveResult{Wave: w, Specs: specs}, nil
}
