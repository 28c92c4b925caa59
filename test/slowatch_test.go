package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/lbrig"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

const (
	sloProject    = "ferry-slo-e2e"
	sloDCEndpoint = "10.20.30.40:8080"
	// sloBenchBake is the 50 % step's bake in the benchmark (the breach
	// comes halfway); the test's is longer, so that a loaded machine
	// cannot make it fail.
	sloBenchBake = 8 * time.Second
	sloTestBake  = 40 * time.Second
)

// sloStack is the dev server, gcpfake's data plane with Cloud Monitoring,
// and a worker running the real ShiftTraffic, WatchSLO and
// TrafficToDatacenter (the other activities are doubles).
type sloStack struct {
	c    client.Client
	fake *gcpfake.Server
	g    gcp.Config
	bake time.Duration // of the 50 % step
}

func sloSpec(s *plan.AppSpec, bake time.Duration) {
	s.Project, s.Zone, s.Region = sloProject, "europe-west1-b", "europe-west1"
	s.VMs = []plan.VMSpec{{Ref: "vm-1", Name: s.Name + "-01", GCEName: s.Name + "-01"}, {Ref: "vm-2", Name: s.Name + "-02", GCEName: s.Name + "-02"}}
	s.Cutover.DCEndpoints = []string{sloDCEndpoint}
	s.Cutover.HealthCheck = plan.HealthCheck{Protocol: "http", Port: lbrig.Port, Path: "/healthz"}
	s.Cutover.Steps = []plan.Step{{Percent: 10, Bake: time.Second}, {Percent: 50, Bake: bake}, {Percent: 100}}
	s.Cutover.SLO = plan.SLO{Requests: 20, MaxErrorRatio: 0.05, MaxP95: 2 * time.Second, Watch: plan.SLOWatch{
		Every: time.Second, Window: time.Minute, MinRequests: 20, Probe: true, ProbeRequests: 5, Monitoring: &plan.MonitoringSLO{}}}
}

func startSLOStack(tb testing.TB, bake time.Duration) *sloStack {
	tb.Helper()
	srv := startDevServer(tb)
	c := srv.Client(tb)
	fake, err := gcpfake.Start(gcpfake.Options{DataPlane: true, Hybrid: lbrig.DCStandIn(tb, sloDCEndpoint)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { fake.Close() })
	// Google writes load balancer points once a minute; the fake writes
	// them every 100 ms so the test sees its traffic at once.
	fake.Monitoring().SetPeriod(100 * time.Millisecond)
	g := gcp.Config{Project: sloProject, Region: "europe-west1", Zone: "europe-west1-b",
		ComputeEndpoint: fake.ComputeEndpoint(), MonitoringEndpoint: fake.MonitoringEndpoint()}
	plans := quickPlans{Edit: func(s *plan.AppSpec) { sloSpec(s, bake) }}
	acts := &activities.Activities{GCP: g, Plans: plans, Traffic: traffic.Config{ProbeConcurrency: 4}}
	real := []string{activities.ShiftTrafficName, activities.WatchSLOName, activities.TrafficToDatacenterName}
	f := &fakeacts.Fakes{Plans: plans, Real: map[string]bool{}}
	for _, n := range real {
		f.Real[n] = true
	}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	w.RegisterActivityWithOptions(acts.ShiftTraffic, activity.RegisterOptions{Name: activities.ShiftTrafficName})
	w.RegisterActivityWithOptions(acts.WatchSLO, activity.RegisterOptions{Name: activities.WatchSLOName})
	w.RegisterActivityWithOptions(acts.TrafficToDatacenter, activity.RegisterOptions{Name: activities.TrafficToDatacenterName})
	ferryworker.RegisterWorkflows(w)
	w.RegisterWorkflowWithOptions(rollbackFloor, workflow.RegisterOptions{Name: "RollbackFloor"})
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Stop)
	return &sloStack{c: c, fake: fake, g: g, bake: bake}
}

// breachRun migrates app with users on its load balancer, waits until
// the 50 % step has baked half its bake, makes the GCP instances answer
// 500, and returns the time from the breach to 100 % datacenter and when
// the bake would have ended.
func (st *sloStack) breachRun(ctx context.Context, tb testing.TB, app string) (breachToDC time.Duration, bakeEnd, dcAt time.Time) {
	tb.Helper()
	spec := quickSpec(app)
	sloSpec(&spec, st.bake)
	lbURL := lbrig.Provision(tb, st.fake, st.g, app, []string{spec.VMs[0].GCEName, spec.VMs[1].GCEName}, 0, sloDCEndpoint)
	stopUsers := lbrig.Users(tb, lbURL, 2)
	defer stopUsers()
	if _, err := startQuick(ctx, st.c, app); err != nil {
		tb.Fatal(err)
	}
	d := &driver{c: st.c}
	if _, err := d.run(ctx, app, workflows.StageCutover); err != nil {
		tb.Fatal(err)
	}
	var at50 time.Time
	for at50.IsZero() {
		w, err := st.fake.URLMapWeights(sloProject, traffic.URLMapName(app))
		if err != nil {
			tb.Fatal(err)
		}
		if w[traffic.GCPBackendName(app)] == 50 {
			at50 = time.Now()
			break
		}
		if ctx.Err() != nil {
			tb.Fatalf("%s never reached 50 %%: %v", app, w)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(st.bake / 2)
	for _, vm := range spec.VMs {
		st.fake.SetAppFault(sloProject, vm.GCEName, gcpfake.AppFault{Status: 500})
	}
	t0 := time.Now()
	st.waitDC(ctx, tb, app)
	return time.Since(t0), at50.Add(st.bake), time.Now()
}

// waitDC polls gcpfake until app's URL map sends everything to the DC.
func (st *sloStack) waitDC(ctx context.Context, tb testing.TB, app string) {
	for ctx.Err() == nil {
		w, err := st.fake.URLMapWeights(sloProject, traffic.URLMapName(app))
		if err == nil && w[traffic.DCBackendName(app)] == 100 && w[traffic.GCPBackendName(app)] == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	tb.Fatalf("%s never went back to 100 %% datacenter", app)
}

// TestSLOBreachMidBakeRollsBack: on the dev server, with the real traffic
// and SLO watch activities against gcpfake's load balancer, a breach
// injected halfway through the 50 % step's bake sends all traffic back to
// the datacenter before the bake would have ended, and the migration ends
// rolled back with the breach as its reason and the samples as evidence.
func TestSLOBreachMidBakeRollsBack(t *testing.T) {
	st := startSLOStack(t, sloTestBake)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const app = "slo-breach"
	_, bakeEnd, dcAt := st.breachRun(ctx, t, app)
	if !dcAt.Before(bakeEnd) {
		t.Fatalf("100 %% datacenter at %s, after the bake's end %s", dcAt, bakeEnd)
	}
	var res workflows.MigrateAppResult
	if err := st.c.GetWorkflow(ctx, workflows.AppWorkflowID(app), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	ev := res.Status.Evidence.SLO
	if res.Outcome != workflows.StageRolledBack || !strings.Contains(res.Status.RollbackReason, "SLO gate failed at 50 % during the bake") || len(ev) != 2 || ev[1].Pass {
		t.Fatalf("outcome %s, reason %q, evidence %+v", res.Outcome, res.Status.RollbackReason, ev)
	}
	if last := ev[1].Samples[len(ev[1].Samples)-1]; last.Pass || (last.LB == nil && last.Probe == nil) {
		t.Fatalf("breaching sample %+v", last)
	}

	// A person's rollback during a healthy bake cancels the running watch.
	const app2 = "slo-signal"
	spec := quickSpec(app2)
	sloSpec(&spec, st.bake)
	lbrig.Users(t, lbrig.Provision(t, st.fake, st.g, app2, []string{spec.VMs[0].GCEName, spec.VMs[1].GCEName}, 0, sloDCEndpoint), 2)
	if _, err := startQuick(ctx, st.c, app2); err != nil {
		t.Fatal(err)
	}
	d := &driver{c: st.c}
	if _, err := d.run(ctx, app2, workflows.StageCutover); err != nil {
		t.Fatal(err)
	}
	var bakeUntil time.Time
	for bakeUntil.IsZero() {
		s, err := d.status(ctx, app2)
		if err != nil {
			t.Fatal(err)
		}
		if s.TrafficPercent == 50 && s.Waiting != nil && s.Waiting.Gate == "bake" {
			bakeUntil = s.Waiting.Until
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := rollbackAs(ctx, st.c, app2, "ana@example.com", testKeys, "users report errors"); err != nil {
		t.Fatal(err)
	}
	st.waitDC(ctx, t, app2)
	if !time.Now().Before(bakeUntil) {
		t.Errorf("the rollback waited for the watch to end at %s", bakeUntil)
	}
	if err := st.c.GetWorkflow(ctx, workflows.AppWorkflowID(app2), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.StageRolledBack || len(res.Status.Evidence.SLO) != 1 {
		t.Fatalf("outcome %s, evidence %+v: want rolled back with the 10 %% watch only", res.Outcome, res.Status.Evidence.SLO)
	}
}

// BenchmarkSLOBreachToDatacenter measures, on the dev server with the
// real activities against gcpfake, the time from a breach injected
// halfway through a bake (every GCP instance starts answering 500) to
// 100 % datacenter in gcpfake's URL map; median of 20 runs, with the
// watch evaluating every second (the plan's minimum; the default is 15 s).
// The floor, measured in the same run, is the rollback signal to 100 %
// datacenter (a workflow that runs TrafficToDatacenter on the signal), so
// the ratio is the cost of noticing the breach on top of acting on it.
// Anchor: the gate before this watch noticed a breach only at the end of
// the bake (here 4 s later; a 10-minute bake: up to 10 minutes). Run it
// on an otherwise idle machine: evaluations and activity tasks share its
// cores.
func BenchmarkSLOBreachToDatacenter(b *testing.B) {
	st := startSLOStack(b, sloBenchBake)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	const runs = 20
	for i := 0; i < b.N; i++ {
		var breach, floor []time.Duration
		late := 0 // back in the DC only after the bake would have ended
		for r := range runs {
			d, bakeEnd, dcAt := st.breachRun(ctx, b, fmt.Sprintf("sb-%d-%d", i, r))
			breach = append(breach, d)
			if !dcAt.Before(bakeEnd) {
				late++
			}

			fname := fmt.Sprintf("sbfloor-%d-%d", i, r)
			fspec := quickSpec(fname)
			sloSpec(&fspec, st.bake)
			lbrig.Provision(b, st.fake, st.g, fname, []string{fspec.VMs[0].GCEName, fspec.VMs[1].GCEName}, 0, sloDCEndpoint)
			s, closeFn, err := traffic.New(ctx, traffic.Config{}, st.g, fspec)
			if err == nil {
				err = s.Shift(ctx, 50)
				_ = closeFn()
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fname, TaskQueue: workflows.TaskQueue}, "RollbackFloor",
				activities.TrafficToDatacenterInput{Plan: activities.PlanRef{App: fname, Digest: quickDigest}}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let it reach its Receive
			t0 := time.Now()
			if err := st.c.SignalWorkflow(ctx, fname, "", workflows.SignalRollback, nil); err != nil {
				b.Fatal(err)
			}
			st.waitDC(ctx, b, fname)
			floor = append(floor, time.Since(t0))
		}
		mb, mf := median(breach), median(floor)
		b.ReportMetric(mb.Seconds(), "median-s")
		b.ReportMetric(mf.Seconds(), "floor-median-s")
		b.ReportMetric(mb.Seconds()/mf.Seconds(), "ratio")
		fmt.Printf("BenchmarkSLOBreachToDatacenter: breach halfway through a %s bake -> 100%% datacenter: median %s over %d runs (min %s, max %s; SLO evaluated every 1s); floor (rollback signal -> 100%% DC) %s; ratio %.2f; the gate at the bake's end would have noticed %s after the breach; %d of %d runs back in the DC only after the bake's end\n",
			st.bake, mb.Round(time.Millisecond), runs, minDur(breach).Round(time.Millisecond), maxDur(breach).Round(time.Millisecond), mf.Round(time.Millisecond), mb.Seconds()/mf.Seconds(), st.bake/2, late, runs)
	}
}

func minDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxDur(d []time.Duration) time.Duration {
	m := d[0]
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
