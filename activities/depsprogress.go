package activities

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/runbooks"
)

// More names shared with package workflows (see migrated.go): the time of
// the cutover, the reason code of the last error, and the stages a
// migration ends in without reaching GCP.
const (
	saCutoverAt       = "FerryCutoverAt"
	saLastError       = "FerryLastError"
	stageRollingBack  = "RollingBack"
	stageRolledBack   = "RolledBack"
	stageRejected     = "Rejected"
	stageRefused      = "Refused"
	reasonRollbackBad = "rollback-failed"
)

// DependencyProgressInput names the app whose dependencies are checked.
type DependencyProgressInput struct {
	Plan PlanRef `json:"plan"`
}

// DependencyProgressResult says where the app's dependencies in earlier
// waves of the reviewed plan stand: cut over (on GCP: baking, waiting for
// the decommission, done), pending (before their cutover), not started
// (no migration yet) or lost (rolled back, rejected, refused, or failing
// to roll back).
type DependencyProgressResult struct {
	Watched    []string `json:"watched,omitempty"`
	CutOver    []string `json:"cutOver,omitempty"`
	Pending    []string `json:"pending,omitempty"`    // "app (stage)"
	NotStarted []string `json:"notStarted,omitempty"` // "app (wave)"
	Lost       []string `json:"lost,omitempty"`       // "app (stage)"
}

// WaveOrderer is what a plan store knows of the order of a plan's waves
// (planstore's stores do); without it no dependency counts as earlier.
type WaveOrderer interface {
	WaveOrder(ctx context.Context, digest string) ([]string, error)
}

// DependencyProgress reads, from Temporal visibility, how far the app's
// dependencies in earlier waves of its plan have come (the plan's
// depends_on and the flows' dependencies, as resolved into the reviewed
// spec). The workflow holds the app's cutover until they are cut over.
// Dependencies of the same wave are the wave's hold; those of later
// waves, or not in the plan, the dependencies gate's.
func (a *Activities) DependencyProgress(ctx context.Context, in DependencyProgressInput) (DependencyProgressResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return DependencyProgressResult{}, err
	}
	var res DependencyProgressResult
	o, ok := a.Plans.(WaveOrderer)
	if !ok || len(spec.DependsOn) == 0 {
		return res, nil
	}
	order, err := o.WaveOrder(ctx, in.Plan.Digest)
	if err != nil {
		return res, err
	}
	mine := slices.Index(order, spec.Wave)
	waveOf := map[string]string{}
	for _, d := range spec.DependsOn {
		ds, err := a.Plans.App(ctx, d, in.Plan.Digest)
		if err != nil {
			continue // not in the plan: the dependencies gate named it
		}
		if i := slices.Index(order, ds.Wave); i < 0 || mine < 0 || i >= mine {
			continue
		}
		res.Watched = append(res.Watched, d)
		waveOf[d] = ds.Wave
	}
	if len(res.Watched) == 0 {
		return res, nil
	}
	v := a.visibility(ctx)
	if v == nil {
		return res, temporal.NewNonRetryableApplicationError("the worker has no Temporal client to read its dependencies' progress", string(runbooks.ReasonUnknown), nil)
	}
	runs, err := newestRuns(ctx, v, activity.GetInfo(ctx).Namespace)
	if err != nil {
		return res, err
	}
	for _, d := range res.Watched {
		r, ok := runs[d]
		switch {
		case !ok:
			res.NotStarted = append(res.NotStarted, fmt.Sprintf("%s (%s)", d, waveOf[d]))
		case slices.Contains([]string{stageRollingBack, stageRolledBack, stageRejected, stageRefused}, r.stage) || r.lastError == reasonRollbackBad:
			res.Lost = append(res.Lost, fmt.Sprintf("%s (%s)", d, r.stage))
		case r.cutOver:
			res.CutOver = append(res.CutOver, d)
		default:
			res.Pending = append(res.Pending, fmt.Sprintf("%s (%s)", d, r.stage))
		}
	}
	return res, nil
}

// appRun is the newest migration run of an app, as visibility shows it.
type appRun struct {
	start     time.Time
	stage     string
	lastError string
	cutOver   bool
}

// newestRuns reads the newest migration run of every app.
func newestRuns(ctx context.Context, v Visibility, namespace string) (map[string]appRun, error) {
	newest := map[string]appRun{}
	var token []byte
	for {
		resp, err := v.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: migratedQuery, PageSize: 1000, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list migrations in namespace %s (%s): %w", namespace, migratedQuery, err)
		}
		for _, info := range resp.GetExecutions() {
			app := keyword(info, saApp)
			if app == "" {
				continue
			}
			start := info.GetStartTime().AsTime()
			if old, ok := newest[app]; ok && !start.After(old.start) {
				continue
			}
			var at time.Time
			if p := info.GetSearchAttributes().GetIndexedFields()[saCutoverAt]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &at)
			}
			newest[app] = appRun{start: start, stage: keyword(info, saStage), lastError: keyword(info, saLastError), cutOver: !at.IsZero()}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return newest, nil
}
