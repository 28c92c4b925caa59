package workflows

import (
	"context"
	"encoding/json"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

// fakes records activity calls and answers them; tests override answers.
type fakes struct {
	calls    []string
	apply    func(n int) error
	slo      func(percent int) activities.SLOGateResult
	hook     func(h plan.HookSpec) error
	destroy  func(n int) error
	deps     activities.CheckDependenciesResult
	nApply   int
	nDestroy int
	notes    []activities.NotifyInput
	weights  []int
	started  []string
}

func (f *fakes) count(name string) int {
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakes) register(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(activities.DiscoverAppName, func(ctx context.Context, in activities.DiscoverAppInput) (activities.DiscoverAppResult, error) {
		f.calls = append(f.calls, activities.DiscoverAppName)
		f.started = append(f.started, in.App)
		return activities.DiscoverAppResult{}, nil
	})
	reg(activities.CheckDependenciesName, func(ctx context.Context, in activities.CheckDependenciesInput) (activities.CheckDependenciesResult, error) {
		f.calls = append(f.calls, activities.CheckDependenciesName)
		return f.deps, nil
	})
	reg(activities.TerraformPlanName, func(ctx context.Context, in activities.TerraformInput) (activities.TerraformPlanResult, error) {
		f.calls = append(f.calls, activities.TerraformPlanName)
		return activities.TerraformPlanResult{Summary: activities.PlanSummary{Add: 5, Hash: "h1"}}, nil
	})
	reg(activities.TerraformApplyName, func(ctx context.Context, in activities.TerraformApplyInput) (activities.TerraformApplyResult, error) {
		f.calls = append(f.calls, activities.TerraformApplyName)
		f.nApply++
		if f.apply != nil {
			if err := f.apply(f.nApply); err != nil {
				return activities.TerraformApplyResult{}, err
			}
		}
		return activities.TerraformApplyResult{Changed: true}, nil
	})
	reg(activities.TerraformDestroyName, func(ctx context.Context, in activities.TerraformInput) (activities.TerraformDestroyResult, error) {
		f.calls = append(f.calls, activities.TerraformDestroyName)
		f.nDestroy++
		if f.destroy != nil {
			if err := f.destroy(f.nDestroy); err != nil {
				return activities.TerraformDestroyResult{}, err
			}
		}
		return activities.TerraformDestroyResult{Destroyed: 5}, nil
	})
	reg(activities.RunHookName, func(ctx context.Context, in activities.RunHookInput) (activities.RunHookResult, error) {
		f.calls = append(f.calls, activities.RunHookName+":"+in.Hook.Name)
		if f.hook != nil {
			if err := f.hook(in.Hook); err != nil {
				return activities.RunHookResult{}, err
			}
		}
		return activities.RunHookResult{Evidence: activities.HookEvidence{Name: in.Hook.Name, At: in.Hook.At, Output: "ok"}}, nil
	})
	reg(activities.HealthCheckName, func(ctx context.Context, in activities.HealthCheckInput) (activities.HealthCheckResult, error) {
		f.calls = append(f.calls, activities.HealthCheckName)
		return activities.HealthCheckResult{Healthy: len(in.Spec.VMs)}, nil
	})
	reg(activities.ShiftTrafficName, func(ctx context.Context, in activities.ShiftTrafficInput) (activities.ShiftTrafficResult, error) {
		f.calls = append(f.calls, activities.ShiftTrafficName)
		f.weights = append(f.weights, in.Percent)
		return activities.ShiftTrafficResult{GCPPercent: in.Percent}, nil
	})
	reg(activities.SLOGateName, func(ctx context.Context, in activities.SLOGateInput) (activities.SLOGateResult, error) {
		f.calls = append(f.calls, activities.SLOGateName)
		if f.slo != nil {
			return f.slo(in.Percent), nil
		}
		return activities.SLOGateResult{Pass: true, Requests: 20}, nil
	})
	reg(activities.TrafficToDatacenterName, func(ctx context.Context, in activities.TrafficToDatacenterInput) (activities.ShiftTrafficResult, error) {
		f.calls = append(f.calls, activities.TrafficToDatacenterName)
		f.weights = append(f.weights, 0)
		return activities.ShiftTrafficResult{GCPPercent: 0}, nil
	})
	for _, name := range []string{activities.PowerOffSourcesName, activities.PowerOnSourcesName, activities.FinalizeDecommissionName} {
		name := name
		reg(name, func(ctx context.Context, in activities.SourcesInput) (activities.SourcesResult, error) {
			f.calls = append(f.calls, name)
			return activities.SourcesResult{Actions: []string{name}}, nil
		})
	}
	reg(activities.NotifyName, func(ctx context.Context, in activities.NotifyInput) error {
		f.notes = append(f.notes, in)
		return nil
	})
}

func testSpec() plan.AppSpec {
	return plan.AppSpec{
		Name: "billing-api", Wave: "wave-1", Owner: "ana@example.com", Tier: "tier-1",
		VMs: []plan.VMSpec{{Ref: "vm-1", Name: "billing-api-1", NumCPU: 2, MemoryMB: 4096, DiskGB: 40}},
		Approvers: map[string][]string{
			GatePlan:         {"ana@example.com", "bo@example.com"},
			GateCutover:      {"ana@example.com", "bo@example.com"},
			GateDecommission: {"ana@example.com"},
		},
		Cutover: plan.CutoverSpec{Strategy: "lb", Steps: []plan.Step{{Percent: 10, Bake: time.Minute}, {Percent: 50, Bake: time.Minute}, {Percent: 100, Bake: time.Minute}}},
		Hooks: []plan.HookSpec{
			{Name: "final-sync", At: plan.HookPreCutover, Command: []string{"true"}, Timeout: time.Minute},
			{Name: "smoke", At: plan.HookSmokeTest, Command: []string{"true"}, Timeout: time.Minute},
		},
		Rollback:     plan.RollbackSpec{Policy: "destroy"},
		GateReminder: 4 * time.Hour,
		Bake:         24 * time.Hour,
		Decommission: plan.DecommissionSpec{Retention: 7 * 24 * time.Hour, FinalAction: "archive"},
	}
}

// signalJSON sends a signal the way the Temporal UI does: a JSON payload.
func signal(env *testsuite.TestWorkflowEnvironment, name string, v any) {
	b, _ := json.Marshal(v)
	env.SignalWorkflow(name, json.RawMessage(b))
}

func status(env *testsuite.TestWorkflowEnvironment) Status {
	v, err := env.QueryWorkflow(QueryStatus)
	if err != nil {
		panic(err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		panic(err)
	}
	return st
}

// at schedules fn at a point of workflow time.
func at(env *testsuite.TestWorkflowEnvironment, d time.Duration, fn func()) {
	env.RegisterDelayedCallback(fn, d)
}

type activityResult = activities.SLOGateResult

func registerOpts(name string) workflow.RegisterOptions { return workflow.RegisterOptions{Name: name} }

// updateCB adapts the test environment's update callbacks.
type updateCB struct {
	done func(v any, err error)
	out  any
}

func (u *updateCB) Accept()          {}
func (u *updateCB) Reject(err error) { u.done(nil, err) }
func (u *updateCB) Complete(success any, err error) {
	if err == nil && u.out != nil {
		if p, ok := success.(interface{ Get(any) error }); ok {
			_ = p.Get(u.out)
			u.done(u.out, nil)
			return
		}
		if r, ok := success.(ApprovalRecord); ok {
			*(u.out.(*ApprovalRecord)) = r
			u.done(u.out, nil)
			return
		}
	}
	u.done(success, err)
}
