// Package fakeacts registers instant test doubles under ferry's real
// activity names, for workflow tests in the SDK test environment and on a
// dev server. Each double records its calls; tests change its answers.
package fakeacts

import (
	"context"
	"reflect"
	"sync"

	"go.temporal.io/sdk/activity"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

// Fakes answers every activity at once. The hooks change answers; they are
// called with the lock released.
type Fakes struct {
	mu       sync.Mutex
	calls    []string
	started  []string
	weights  []int
	notes    []activities.NotifyInput
	nApply   int
	nDestroy int

	Apply   func(n int) error
	Destroy func(n int) error
	Hook    func(h plan.HookSpec) error
	SLO     func(percent int) activities.SLOGateResult
	Deps    activities.CheckDependenciesResult
	// Data answers the data strategies' activities (data.go).
	Data DataFakes
	// ClientDNS answers the client names' activities (clientdns.go).
	ClientDNS ClientDNSFakes
	// Progress answers DependencyProgress; nil: every dependency is cut
	// over.
	Progress func(in activities.DependencyProgressInput) activities.DependencyProgressResult
	// Real names the activities the test registers itself (the real ones).
	Real map[string]bool
	// Fail, when set, is asked before every activity (but notifications)
	// runs; an error it returns is the activity's error.
	Fail func(name string) error
	// Plans is the reviewed plan store the doubles resolve specs from
	// (ResolveApp, ResolveWave, hooks, health checks), as the real ones do.
	Plans activities.Plans
	// Watch, when set, answers WatchSLO (see WatchUntilBreach); else
	// WatchSLO answers at once with SLO's verdict.
	Watch func(ctx context.Context, in activities.WatchSLOInput) (activities.SLOGateResult, error)
	// InState, when set, says how many of the app's resources terraform's
	// plan finds already there (an earlier run left them).
	InState func(app string) int
}

func (f *Fakes) spec(ctx context.Context, ref activities.PlanRef) plan.AppSpec {
	if f.Plans == nil {
		return plan.AppSpec{Name: ref.App}
	}
	s, _ := f.Plans.App(ctx, ref.App, ref.Digest)
	return s
}

// withFail wraps fn (func(ctx, in) (out, error) or func(ctx, in) error) so
// that Fail decides first.
func (f *Fakes) withFail(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if f.Fail != nil {
			if err := f.Fail(name); err != nil {
				out := make([]reflect.Value, t.NumOut())
				for i := 0; i < t.NumOut()-1; i++ {
					out[i] = reflect.Zero(t.Out(i))
				}
				out[t.NumOut()-1] = reflect.ValueOf(&err).Elem()
				return out
			}
		}
		return v.Call(args)
	}).Interface()
}

// Registry is what activities are registered on: a worker or a test
// environment.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

func (f *Fakes) record(name string) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
}

// Calls returns the activity calls so far, in order.
func (f *Fakes) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Count returns how often an activity (or "RunHook:<name>") ran.
func (f *Fakes) Count(name string) int {
	n := 0
	for _, c := range f.Calls() {
		if c == name {
			n++
		}
	}
	return n
}

// Started lists the apps in the order their discovery ran.
func (f *Fakes) Started() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.started...)
}

// Weights lists every traffic percentage set, rollbacks as 0.
func (f *Fakes) Weights() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.weights...)
}

// Notes lists the notifications sent.
func (f *Fakes) Notes() []activities.NotifyInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]activities.NotifyInput(nil), f.notes...)
}

// Register adds every double under its real activity name.
func (f *Fakes) Register(r Registry) {
	reg := func(name string, fn any) {
		if !f.Real[name] {
			if name != activities.NotifyName {
				fn = f.withFail(name, fn)
			}
			r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
		}
	}
	// Plans are resolved by the real activities over the test's store
	// (read when called: tests set Plans after registering).
	reg(activities.ResolveAppName, func(ctx context.Context, in activities.ResolveAppInput) (activities.ResolveAppResult, error) {
		f.record(activities.ResolveAppName)
		return (&activities.Activities{Plans: f.Plans}).ResolveApp(ctx, in)
	})
	reg(activities.ResolveWaveName, func(ctx context.Context, in activities.ResolveWaveInput) (activities.ResolveWaveResult, error) {
		f.record(activities.ResolveWaveName)
		return (&activities.Activities{Plans: f.Plans}).ResolveWave(ctx, in)
	})
	reg(activities.DiscoverAppName, func(ctx context.Context, in activities.DiscoverAppInput) (activities.DiscoverAppResult, error) {
		f.record(activities.DiscoverAppName)
		f.mu.Lock()
		f.started = append(f.started, in.Plan.App)
		f.mu.Unlock()
		return activities.DiscoverAppResult{}, nil
	})
	reg(activities.CheckDependenciesName, func(ctx context.Context, in activities.CheckDependenciesInput) (activities.CheckDependenciesResult, error) {
		f.record(activities.CheckDependenciesName)
		return f.Deps, nil
	})
	reg(activities.TerraformPlanName, func(ctx context.Context, in activities.TerraformInput) (activities.TerraformPlanResult, error) {
		f.record(activities.TerraformPlanName)
		sum := activities.PlanSummary{Add: 5, Hash: "h1"}
		if f.InState != nil {
			sum.InState = f.InState(in.Plan.App)
		}
		return activities.TerraformPlanResult{Summary: sum}, nil
	})
	reg(activities.TerraformApplyName, func(ctx context.Context, in activities.TerraformApplyInput) (activities.TerraformApplyResult, error) {
		f.record(activities.TerraformApplyName)
		f.mu.Lock()
		f.nApply++
		n := f.nApply
		f.mu.Unlock()
		if f.Apply != nil {
			if err := f.Apply(n); err != nil {
				return activities.TerraformApplyResult{}, err
			}
		}
		return activities.TerraformApplyResult{Changed: true}, nil
	})
	reg(activities.TerraformDestroyName, func(ctx context.Context, in activities.TerraformInput) (activities.TerraformDestroyResult, error) {
		f.record(activities.TerraformDestroyName)
		f.mu.Lock()
		f.nDestroy++
		n := f.nDestroy
		f.mu.Unlock()
		if f.Destroy != nil {
			if err := f.Destroy(n); err != nil {
				return activities.TerraformDestroyResult{}, err
			}
		}
		return activities.TerraformDestroyResult{Destroyed: 5}, nil
	})
	reg(activities.RunHookName, func(ctx context.Context, in activities.RunHookInput) (activities.RunHookResult, error) {
		f.record(activities.RunHookName + ":" + in.Hook)
		h := plan.HookSpec{Name: in.Hook}
		for _, x := range f.spec(ctx, in.Plan).Hooks {
			if x.Name == in.Hook {
				h = x
			}
		}
		if f.Hook != nil {
			if err := f.Hook(h); err != nil {
				return activities.RunHookResult{}, err
			}
		}
		return activities.RunHookResult{Evidence: activities.HookEvidence{Name: h.Name, At: h.At, Output: "ok"}}, nil
	})
	reg(activities.HealthCheckName, func(ctx context.Context, in activities.HealthCheckInput) (activities.HealthCheckResult, error) {
		f.record(activities.HealthCheckName)
		return activities.HealthCheckResult{Healthy: len(f.spec(ctx, in.Plan).VMs)}, nil
	})
	reg(activities.ShiftTrafficName, func(ctx context.Context, in activities.ShiftTrafficInput) (activities.ShiftTrafficResult, error) {
		f.record(activities.ShiftTrafficName)
		f.mu.Lock()
		f.weights = append(f.weights, in.Percent)
		f.mu.Unlock()
		return activities.ShiftTrafficResult{GCPPercent: in.Percent}, nil
	})
	reg(activities.SLOGateName, func(ctx context.Context, in activities.SLOGateInput) (activities.SLOGateResult, error) {
		f.record(activities.SLOGateName)
		if f.SLO != nil {
			return f.SLO(in.Percent), nil
		}
		return activities.SLOGateResult{Pass: true, Requests: 20}, nil
	})
	f.registerWatchSLO(reg)
	reg(activities.TrafficToDatacenterName, func(ctx context.Context, in activities.TrafficToDatacenterInput) (activities.ShiftTrafficResult, error) {
		f.record(activities.TrafficToDatacenterName)
		f.mu.Lock()
		f.weights = append(f.weights, 0)
		f.mu.Unlock()
		return activities.ShiftTrafficResult{GCPPercent: 0}, nil
	})
	for _, name := range []string{activities.PowerOffSourcesName, activities.PowerOnSourcesName, activities.FinalizeDecommissionName} {
		reg(name, func(ctx context.Context, in activities.SourcesInput) (activities.SourcesResult, error) {
			f.record(name)
			return activities.SourcesResult{Actions: []string{name}}, nil
		})
	}
	f.registerData(reg)
	f.registerClientDNS(reg)
	reg(activities.DependencyProgressName, func(ctx context.Context, in activities.DependencyProgressInput) (activities.DependencyProgressResult, error) {
		f.record(activities.DependencyProgressName)
		if f.Progress != nil {
			return f.Progress(in), nil
		}
		s := f.spec(ctx, in.Plan)
		return activities.DependencyProgressResult{Watched: s.DependsOn, CutOver: s.DependsOn}, nil
	})
	reg(activities.NotifyName, func(ctx context.Context, in activities.NotifyInput) error {
		f.mu.Lock()
		f.notes = append(f.notes, in)
		f.mu.Unlock()
		return nil
	})
}
