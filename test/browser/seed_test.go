package browser

import (
	"context"
	"fmt"
	"github.com/ferrymigrate/ferry/planstore"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/workflows"
)

// seedQueue is where the seeded migrations run: the real MigrateApp
// workflow with test doubles registered under the real activity names, so
// some apps reach Done in seconds (the real stack's worker polls
// workflows.TaskQueue and is not involved).
const seedQueue = "ferry-browser-seed"

// doubles answer every activity at once; HealthCheck fails for failApp
// with the typed reason the real activity uses.
type doubles struct {
	failApp string
	plans   activities.Plans
}

func (d *doubles) spec(ctx context.Context, ref activities.PlanRef) plan.AppSpec {
	s, _ := d.plans.App(ctx, ref.App, ref.Digest)
	return s
}

// ResolveApp and ResolveWave are the real ones, over the stack's store.
func (d *doubles) ResolveApp(ctx context.Context, in activities.ResolveAppInput) (activities.ResolveAppResult, error) {
	return (&activities.Activities{Plans: d.plans}).ResolveApp(ctx, in)
}
func (d *doubles) ResolveWave(ctx context.Context, in activities.ResolveWaveInput) (activities.ResolveWaveResult, error) {
	return (&activities.Activities{Plans: d.plans}).ResolveWave(ctx, in)
}

func (d *doubles) DiscoverApp(context.Context, activities.DiscoverAppInput) (activities.DiscoverAppResult, error) {
	return activities.DiscoverAppResult{}, nil
}
func (d *doubles) CheckDependencies(context.Context, activities.CheckDependenciesInput) (activities.CheckDependenciesResult, error) {
	return activities.CheckDependenciesResult{}, nil
}
func (d *doubles) TerraformPlan(ctx context.Context, in activities.TerraformInput) (activities.TerraformPlanResult, error) {
	s := d.spec(ctx, in.Plan)
	return activities.TerraformPlanResult{Summary: activities.PlanSummary{Add: 2 * len(s.VMs), Hash: "seed-" + s.Name}}, nil
}
func (d *doubles) TerraformApply(context.Context, activities.TerraformApplyInput) (activities.TerraformApplyResult, error) {
	return activities.TerraformApplyResult{Changed: true}, nil
}
func (d *doubles) TerraformDestroy(context.Context, activities.TerraformInput) (activities.TerraformDestroyResult, error) {
	return activities.TerraformDestroyResult{}, nil
}
func (d *doubles) RunHook(context.Context, activities.RunHookInput) (activities.RunHookResult, error) {
	return activities.RunHookResult{}, nil
}
func (d *doubles) HealthCheck(ctx context.Context, in activities.HealthCheckInput) (activities.HealthCheckResult, error) {
	s := d.spec(ctx, in.Plan)
	if s.Name == d.failApp {
		return activities.HealthCheckResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("0 of %d instances of %s healthy on port 8080", len(s.VMs), s.Name), string(runbooks.ReasonHealthCheck), nil)
	}
	return activities.HealthCheckResult{Healthy: len(s.VMs)}, nil
}
func (d *doubles) ShiftTraffic(_ context.Context, in activities.ShiftTrafficInput) (activities.ShiftTrafficResult, error) {
	return activities.ShiftTrafficResult{GCPPercent: in.Percent, At: time.Now()}, nil
}
func (d *doubles) TrafficToDatacenter(context.Context, activities.TrafficToDatacenterInput) (activities.ShiftTrafficResult, error) {
	return activities.ShiftTrafficResult{}, nil
}
func (d *doubles) SLOGate(context.Context, activities.SLOGateInput) (activities.SLOGateResult, error) {
	return activities.SLOGateResult{Pass: true, Requests: 100}, nil
}
func (d *doubles) WatchSLO(context.Context, activities.WatchSLOInput) (activities.SLOGateResult, error) {
	return activities.SLOGateResult{Pass: true, Requests: 100, Evaluations: 1}, nil
}
func (d *doubles) PowerOffSources(context.Context, activities.SourcesInput) (activities.SourcesResult, error) {
	return activities.SourcesResult{}, nil
}
func (d *doubles) PowerOnSources(context.Context, activities.SourcesInput) (activities.SourcesResult, error) {
	return activities.SourcesResult{}, nil
}
func (d *doubles) FinalizeDecommission(context.Context, activities.SourcesInput) (activities.SourcesResult, error) {
	return activities.SourcesResult{}, nil
}
func (d *doubles) SendNotification(context.Context, activities.NotifyInput) error { return nil }

// The cutover's holds and client names: nothing to wait for, nothing to
// move.
func (d *doubles) DependencyProgress(context.Context, activities.DependencyProgressInput) (activities.DependencyProgressResult, error) {
	return activities.DependencyProgressResult{}, nil
}
func (d *doubles) PrepareClientDNS(context.Context, activities.ClientDNSInput) (activities.PrepareClientDNSResult, error) {
	return activities.PrepareClientDNSResult{}, nil
}
func (d *doubles) PointClientDNS(context.Context, activities.ClientDNSInput) (activities.PointClientDNSResult, error) {
	return activities.PointClientDNSResult{}, nil
}
func (d *doubles) RestoreClientDNS(context.Context, activities.RestoreClientDNSInput) (activities.ClientDNSResult, error) {
	return activities.ClientDNSResult{}, nil
}
func (d *doubles) FinalizeClientDNS(context.Context, activities.FinalizeClientDNSInput) (activities.ClientDNSResult, error) {
	return activities.ClientDNSResult{}, nil
}

// seeded says what the dashboard must show.
type seeded struct {
	Done, WaitingPlan, Blocked []string
	NotStarted                 []string
}

// seed starts migrations on the seed queue: three run to Done, two wait
// for plan approval, one is blocked on a failed health check; the rest of
// the plan (but skip) is not started.
func seed(t *testing.T, st *stack, skip string) seeded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var pool []plan.AppSpec
	for _, s := range st.Specs {
		// Apps whose data moves (replicate, sync) take other steps than the
		// doubles answer: the seed leaves them not started.
		if s.Name != skip && s.Data.Strategy == plan.DataNone && len(s.Approvers[workflows.GatePlan]) > 0 && len(s.Approvers[workflows.GateCutover]) > 0 && len(s.Approvers[workflows.GateDecommission]) > 0 {
			pool = append(pool, s)
		}
	}
	if len(pool) < 6 {
		t.Fatalf("the dev plan has %d apps with approvers for every gate; the seed needs 6", len(pool))
	}
	var sd seeded
	for _, s := range pool[:3] {
		sd.Done = append(sd.Done, s.Name)
	}
	sd.WaitingPlan = []string{pool[3].Name, pool[4].Name}
	sd.Blocked = []string{pool[5].Name}
	for _, s := range st.Specs {
		if s.Name != skip && !slices.Contains(sd.Done, s.Name) && !slices.Contains(sd.WaitingPlan, s.Name) && !slices.Contains(sd.Blocked, s.Name) {
			sd.NotStarted = append(sd.NotStarted, s.Name)
		}
	}

	w := worker.New(st.C, seedQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.MigrateApp, workflow.RegisterOptions{Name: workflows.MigrateAppWorkflowName})
	store, err := planstore.Open(ctx, filepath.Join(st.StateDir, "plans"))
	if err != nil {
		t.Fatal(err)
	}
	w.RegisterActivity(&doubles{failApp: sd.Blocked[0], plans: planstore.NewResolver(store)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	for _, s := range pool[:6] {
		// The stack's published plan is fast: no bake, no retention, no windows.
		if _, err := startOn(ctx, st, seedQueue, s); err != nil {
			t.Fatalf("seed %s: %v", s.Name, err)
		}
	}
	for _, s := range pool[:3] {
		for _, gate := range []string{workflows.GatePlan, workflows.GateCutover, workflows.GateDecommission} {
			waitGate(t, ctx, st.C, s.Name, gate)
			approve(t, ctx, st, s, gate)
		}
		waitStage(t, ctx, st.C, s.Name, workflows.StageDone)
	}
	for _, a := range sd.WaitingPlan {
		waitGate(t, ctx, st.C, a, workflows.GatePlan)
	}
	b := pool[5]
	waitGate(t, ctx, st.C, b.Name, workflows.GatePlan)
	approve(t, ctx, st, b, workflows.GatePlan)
	waitStage(t, ctx, st.C, b.Name, workflows.StageBlocked)
	return sd
}

func status(ctx context.Context, c client.Client, app string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

func waitFor(t *testing.T, ctx context.Context, c client.Client, app, what string, ok func(workflows.Status) bool) workflows.Status {
	t.Helper()
	var last workflows.Status
	var lastErr error
	for {
		st, err := status(ctx, c, app)
		if err == nil && ok(st) {
			return st
		}
		if err == nil {
			last = st
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reached %s: last stage %q, waiting %+v, last error %+v, approvals %+v, refused %+v, query error %v", app, what, last.Stage, last.Waiting, last.LastError, last.Approvals, last.Audit, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitGate(t *testing.T, ctx context.Context, c client.Client, app, gate string) {
	t.Helper()
	waitFor(t, ctx, c, app, "gate "+gate, func(s workflows.Status) bool { return s.Waiting != nil && s.Waiting.Gate == gate })
}

func waitStage(t *testing.T, ctx context.Context, c client.Client, app, stage string) {
	t.Helper()
	waitFor(t, ctx, c, app, "stage "+stage, func(s workflows.Status) bool { return s.Stage == stage })
}

// approve sends the approve-update as the gate's first approver.
func approve(t *testing.T, ctx context.Context, st *stack, s plan.AppSpec, gate string) {
	t.Helper()
	approvers := s.Approvers[gate]
	if gate == workflows.GateDependencies {
		approvers = s.Approvers[workflows.GatePlan]
	}
	fc := person(st, approvers[0])
	a, err := fc.Approval(ctx, s.Name, "approve", gate, "seeded by the browser test")
	if err == nil {
		_, err = fc.Decide(ctx, s.Name, "approve", a)
	}
	if err != nil {
		t.Fatalf("approve %s of %s: %v", gate, s.Name, err)
	}
}
