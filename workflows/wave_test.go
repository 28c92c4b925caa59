package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/runbooks"
)

func waveStore(specs []plan.AppSpec) *planstore.Static {
	w := plan.Wave{Name: "wave-1", Concurrency: 2, HoldCutoverForDeps: true}
	for _, s := range specs {
		w.Apps = append(w.Apps, s.Name)
	}
	return &planstore.Static{Digest: testDigest, Plan: &plan.Plan{Waves: []plan.Wave{w}}, Specs: specs}
}

func signedWaveStart(wave, who string, t time.Time) WaveInput {
	in := WaveInput{Wave: wave, PlanDigest: testDigest, StartedBy: who, IssuedAt: t}
	in.Signature = mustSign(identity.Statement{WorkflowID: WaveWorkflowID(wave), Kind: "start-wave", Stage: wave, By: who, Text: testDigest, IssuedAt: t})
	return in
}

// A wave started without a valid signature starts nothing.
func TestWaveForgedStartRefused(t *testing.T) {
	for name, mutate := range map[string]func(*WaveInput){
		"unsigned":      func(in *WaveInput) { in.Signature = "" },
		"other starter": func(in *WaveInput) { in.StartedBy = "bo@example.com" },
		"other digest":  func(in *WaveInput) { in.PlanDigest = "sha256:" + strings.Repeat("f", 64) },
		"not a person":  func(in *WaveInput) { in.StartedBy = "mallory@example.com" },
	} {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			f := &fakeacts.Fakes{}
			f.Register(env)
			env.RegisterWorkflowWithOptions(MigrateApp, registerOpts(MigrateAppWorkflowName))
			env.RegisterWorkflowWithOptions(Wave, registerOpts(WaveWorkflowName))
			specs := waveSpecs()
			for i := range specs {
				specs[i].AllowUnverified = false
			}
			f.Plans = waveStore(specs)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WaveWorkflowID("wave-1")})
			in := signedWaveStart("wave-1", "carl@example.com", env.Now())
			mutate(&in)
			env.ExecuteWorkflow(WaveWorkflowName, in)
			var ws WaveStatus
			if err := env.GetWorkflowResult(&ws); err != nil {
				t.Fatal(err)
			}
			if ws.Refused == "" || len(ws.StartOrder) != 0 || len(ws.Audit) != 1 {
				t.Errorf("forged wave start not refused: %+v", ws)
			}
			for _, c := range f.Calls() {
				if c != "ResolveWave" {
					t.Errorf("a refused wave ran %s", c)
				}
			}
		})
	}
}

func waveSpecs() []plan.AppSpec {
	mk := func(name string, deps ...string) plan.AppSpec {
		s := testSpec()
		s.Name, s.DependsOn, s.Hooks = name, deps, nil
		s.Bake, s.Decommission.Retention = time.Hour, time.Hour
		// The children are signalled by ID from the test: their approvals
		// go unsigned, which this plan accepts (marked unverified).
		s.AllowUnverified = true
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
				approveOpen(env, sp.Name, GatePlan, GateCutover, GateDecommission)
			}
		}, time.Duration(i)*30*time.Minute)
	}
	f.Plans = waveStore(specs)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WaveWorkflowID("wave-1")})
	env.ExecuteWorkflow(WaveWorkflowName, signedWaveStart("wave-1", "carl@example.com", env.Now()))
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("wave did not complete: %v", env.GetWorkflowError())
	}
	var ws WaveStatus
	if err := env.GetWorkflowResult(&ws); err != nil {
		t.Fatal(err)
	}
	for _, a := range ws.Apps {
		if a.State != AppDone {
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

// runHeldWave runs a wave of db and web (web depends on db, cutover held
// for it); drive is called every 30 minutes of workflow time.
func runHeldWave(t *testing.T, drive func(env *testsuite.TestWorkflowEnvironment, at time.Duration)) (WaveStatus, map[string]Status) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := &fakeacts.Fakes{}
	f.Register(env)
	env.RegisterWorkflowWithOptions(MigrateApp, registerOpts(MigrateAppWorkflowName))
	env.RegisterWorkflowWithOptions(Wave, registerOpts(WaveWorkflowName))
	specs := waveSpecs()
	specs = []plan.AppSpec{specs[0], specs[2]} // web (depends on api), db
	specs[0].DependsOn = []string{"db"}
	seen := map[string]Status{}
	for i := 1; i < 400; i++ {
		at := time.Duration(i) * 30 * time.Minute
		env.RegisterDelayedCallback(func() {
			for _, app := range []string{"web", "db"} {
				if v, err := env.QueryWorkflowByID(AppWorkflowID(app), QueryStatus); err == nil {
					var st Status
					if v.Get(&st) == nil && st.LastError != nil {
						seen[app+":"+st.LastError.Reason] = st
					}
				}
			}
			drive(env, at)
		}, at)
	}
	f.Plans = waveStore(specs)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: WaveWorkflowID("wave-1")})
	env.ExecuteWorkflow(WaveWorkflowName, signedWaveStart("wave-1", "carl@example.com", env.Now()))
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("wave did not complete: %v", env.GetWorkflowError())
	}
	var ws WaveStatus
	if err := env.GetWorkflowResult(&ws); err != nil {
		t.Fatal(err)
	}
	return ws, seen
}

func approveOpen(env *testsuite.TestWorkflowEnvironment, app string, gates ...string) {
	for _, g := range gates {
		who := "bo@example.com"
		if g == GateDecommission {
			who = "ana@example.com"
		}
		_ = env.SignalWorkflowByID(AppWorkflowID(app), SignalApprove, Approval{Stage: g, Approver: who})
	}
}

// A wave never hangs on a dependency that rolled back: its held dependant
// is told at once (parked, dependency-lost, with the runbook), and an
// operator's skip cuts it over alone.
func TestWaveTellsADependantItsDependencyRolledBack(t *testing.T) {
	ws, seen := runHeldWave(t, func(env *testsuite.TestWorkflowEnvironment, at time.Duration) {
		switch {
		case at == 30*time.Minute:
			approveOpen(env, "db", GatePlan)
		case at == time.Hour:
			_ = env.SignalWorkflowByID(AppWorkflowID("db"), SignalRollback, Action{By: "carl@example.com", Reason: "db replication broke"})
		case at == 3*time.Hour:
			_ = env.SignalWorkflowByID(AppWorkflowID("web"), SignalSkip, Action{By: "carl@example.com", Reason: "web can call db across the interconnect"})
		}
		approveOpen(env, "web", GatePlan, GateCutover, GateDecommission)
	})
	st, ok := seen["web:"+string(runbooks.ReasonDependencyLost)]
	if !ok || !strings.Contains(st.LastError.Message, "db ended "+string(AppRolledBack)) || st.Stage != StageBlocked {
		t.Fatalf("web was not told that db rolled back: %+v", seen)
	}
	states := map[string]AppState{}
	for _, a := range ws.Apps {
		states[a.App] = a.State
	}
	if states["db"] != AppRolledBack || states["web"] != AppDone {
		t.Fatalf("wave ended %v", states)
	}
}

// A hold never lasts forever: past hold_timeout the dependant parks
// (dependency-hold-timeout) and its owners decide.
func TestWaveHoldTimesOut(t *testing.T) {
	ws, seen := runHeldWave(t, func(env *testsuite.TestWorkflowEnvironment, at time.Duration) {
		approveOpen(env, "web", GatePlan, GateCutover, GateDecommission)
		if at == 100*time.Hour { // db never got past its plan gate
			_ = env.SignalWorkflowByID(AppWorkflowID("web"), SignalRollback, Action{By: "carl@example.com", Reason: "move with db next wave"})
			_ = env.SignalWorkflowByID(AppWorkflowID("db"), SignalRollback, Action{By: "carl@example.com", Reason: "next wave"})
		}
	})
	if _, ok := seen["web:"+string(runbooks.ReasonDependencyHoldTimeout)]; !ok {
		t.Fatalf("web's hold did not time out: %+v", seen)
	}
	for _, a := range ws.Apps {
		if a.State != AppRolledBack {
			t.Errorf("%s ended %s", a.App, a.State)
		}
	}
}
