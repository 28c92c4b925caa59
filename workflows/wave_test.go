package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
)

func waveSpecs() []plan.AppSpec {
	mk := func(name string, deps ...string) plan.AppSpec {
		s := testSpec()
		s.Name, s.DependsOn, s.Hooks = name, deps, nil
		s.Bake, s.Decommission.Retention = time.Hour, time.Hour
		return s
	}
	return []plan.AppSpec{mk("web", "api"), mk("api", "db"), mk("db"), mk("batch")}
}

func TestWaveOrder(t *testing.T) {
	order, err := WaveOrder(waveSpecs())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"batch", "db", "api", "web"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	cyc := waveSpecs()
	cyc[2].DependsOn = []string{"web"}
	if _, err := WaveOrder(cyc); err == nil {
		t.Error("cycle not reported")
	}
}

func TestWaveConcurrencyCapAndDependencyOrder(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeacts.Fakes{}
	f.Register(env)
	env.RegisterWorkflowWithOptions(MigrateApp, registerOpts(MigrateAppWorkflowName))
	env.RegisterWorkflowWithOptions(Wave, registerOpts(WaveWorkflowName))
	specs := waveSpecs()
	maxRunning := 0
	var order []string
	// Every 30 minutes: record the wave, and approve whatever gate is open.
	for i := 1; i < 200; i++ {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryStatus)
			if err == nil {
				var ws WaveStatus
				if v.Get(&ws) == nil {
					maxRunning = max(maxRunning, ws.Running)
					order = ws.Order
				}
			}
			for _, sp := range specs {
				for _, g := range []string{GatePlan, GateCutover, GateDecommission} {
					who := "bo@example.com"
					if g == GateDecommission {
						who = "ana@example.com"
					}
					_ = env.SignalWorkflowByID(AppWorkflowID(sp.Name), SignalApprove, Approval{Stage: g, Approver: who})
				}
			}
		}, time.Duration(i)*30*time.Minute)
	}
	env.ExecuteWorkflow(WaveWorkflowName, WaveInput{Wave: plan.Wave{Name: "wave-1", Concurrency: 2, HoldCutoverForDeps: true}, Specs: specs, StartedBy: "carl@example.com"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("wave did not complete: %v", env.GetWorkflowError())
	}
	var ws WaveStatus
	if err := env.GetWorkflowResult(&ws); err != nil {
		t.Fatal(err)
	}
	for _, a := range ws.Apps {
		if a.State != "done" {
			t.Errorf("%s ended %s (%s)", a.App, a.State, a.Error)
		}
	}
	if maxRunning > 2 {
		t.Errorf("%d apps in flight, cap is 2", maxRunning)
	}
	if maxRunning < 2 {
		t.Errorf("never 2 apps in flight: the cap is not used")
	}
	// Children start in dependency order.
	if !slices.Equal(ws.StartOrder, []string{"batch", "db", "api", "web"}) {
		t.Errorf("start order %v (wave order %v)", ws.StartOrder, order)
	}
}
