package activities

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/lbrig"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

const sloProject = "ferry-slo"

// sloRig is gcpfake's data plane serving an app through its load balancer
// at some GCP weight with users sending it traffic (internal/lbrig), and
// the activities pointed at it (compute and Monitoring).
type sloRig struct {
	fake *gcpfake.Server
	spec plan.AppSpec
	acts *Activities
}

func newSLORig(tb testing.TB, app string, gcpPercent int, watch plan.SLOWatch) *sloRig {
	tb.Helper()
	const dcEndpoint = "10.20.30.40:8080"
	s, err := gcpfake.Start(gcpfake.Options{DataPlane: true, Hybrid: lbrig.DCStandIn(tb, dcEndpoint)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	s.Monitoring().SetPeriod(100 * time.Millisecond)
	g := gcp.Config{Project: sloProject, Region: "europe-west1", Zone: "europe-west1-b", ComputeEndpoint: s.ComputeEndpoint(), MonitoringEndpoint: s.MonitoringEndpoint()}
	vms := []string{app + "-01", app + "-02"}
	lbrig.Users(tb, lbrig.Provision(tb, s, g, app, vms, gcpPercent, dcEndpoint), 2)
	return &sloRig{fake: s,
		spec: plan.AppSpec{Name: app, Project: sloProject, Region: g.Region, Zone: g.Zone,
			VMs: []plan.VMSpec{{Ref: "vm-1", Name: vms[0], GCEName: vms[0]}, {Ref: "vm-2", Name: vms[1], GCEName: vms[1]}},
			Cutover: plan.CutoverSpec{Strategy: traffic.StrategyLB, DCEndpoints: []string{dcEndpoint},
				HealthCheck: plan.HealthCheck{Protocol: "http", Port: lbrig.Port, Path: "/healthz"},
				SLO:         plan.SLO{Requests: 20, MaxErrorRatio: 0.05, MaxP95: 2 * time.Second, Watch: watch}}},
		acts: &Activities{Plans: testPlans, GCP: g, Traffic: traffic.Config{ProbeConcurrency: 4}}}
}

// breakGCP makes every GCP instance of the app answer 500.
func (r *sloRig) breakGCP(status int) {
	for _, vm := range r.spec.VMs {
		r.fake.SetAppFault(sloProject, vm.GCEName, gcpfake.AppFault{Status: status})
	}
}

func (r *sloRig) env() *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(r.acts)
	return env
}

// A breach injected a few seconds into a long bake ends the watch at once
// with the reason, long before the bake would have ended; first from the
// load balancer's own metrics alone (Cloud Monitoring through gcpfake's
// data plane), then from the synthetic probe alone.
func TestWatchSLOBreachMidBake(t *testing.T) {
	for _, tc := range []struct {
		name, source string
		watch        plan.SLOWatch
	}{
		{"load balancer metrics", "load balancer: 5xx ratio", plan.SLOWatch{Every: time.Second, Window: time.Minute, MinRequests: 20, Monitoring: &plan.MonitoringSLO{}}},
		{"probe", "probe: error ratio", plan.SLOWatch{Every: time.Second, Window: time.Minute, MinRequests: 20, Probe: true, ProbeRequests: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSLORig(t, "slo-app", 50, tc.watch)
			env := r.env()
			bake := 5 * time.Minute
			until := time.Now().Add(bake)
			broke := make(chan time.Time, 1)
			go func() {
				time.Sleep(3 * time.Second)
				r.breakGCP(500)
				broke <- time.Now()
			}()
			v, err := env.ExecuteActivity(WatchSLOName, WatchSLOInput{Plan: testRef(r.spec), Percent: 50, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			var res SLOGateResult
			if err := v.Get(&res); err != nil {
				t.Fatal(err)
			}
			if res.Pass || !strings.Contains(res.Reason, tc.source) || !strings.Contains(res.Reason, "at 50% GCP") {
				t.Fatalf("want a breach from %q, got pass=%v reason %q", tc.source, res.Pass, res.Reason)
			}
			if !time.Now().Before(until) {
				t.Fatalf("the watch ran the whole bake")
			}
			if len(res.Samples) < 2 || !res.Samples[0].Pass || res.Samples[len(res.Samples)-1].Pass || res.Evaluations != len(res.Samples) {
				t.Fatalf("samples: healthy before the breach, breached last: %+v", res.Samples)
			}
			at := <-broke
			// An evaluation that began just before the injection may see it.
			if last := res.Samples[len(res.Samples)-1]; last.At.Before(at.Add(-tc.watch.Every)) {
				t.Fatalf("breach seen at %s, an interval before it was injected at %s", last.At, at)
			}
		})
	}
}

// A healthy bake passes after watching it to its end; a watch resumed from
// its heartbeat (a worker died mid-bake) keeps the earlier samples and
// only watches what is left.
func TestWatchSLOHoldsAndResumes(t *testing.T) {
	r := newSLORig(t, "slo-ok", 50, plan.SLOWatch{Every: time.Second, Window: time.Minute, MinRequests: 20, Probe: true, ProbeRequests: 5, Monitoring: &plan.MonitoringSLO{}})
	env := r.env()
	earlier := watchProgress{Evaluations: 7, Samples: []traffic.SLOSample{{At: time.Now().Add(-time.Minute), Pass: true}, {At: time.Now().Add(-30 * time.Second), Pass: true}}}
	env.SetHeartbeatDetails(earlier)
	v, err := env.ExecuteActivity(WatchSLOName, WatchSLOInput{Plan: testRef(r.spec), Percent: 50, Until: time.Now().Add(2500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	var res SLOGateResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !res.Pass || res.Evaluations < 9 || len(res.Samples) != res.Evaluations-5 {
		t.Fatalf("pass=%v reason=%q evaluations %d samples %d: want a pass continuing the 7 earlier evaluations", res.Pass, res.Reason, res.Evaluations, len(res.Samples))
	}
	last := res.Samples[len(res.Samples)-1]
	if last.LB == nil || last.LB.Requests == 0 || last.Probe == nil || last.Probe.Requests != 15 {
		t.Fatalf("last sample measured nothing: %+v", last)
	}
}

// Prometheus burn-rate rules through the activity: the token comes from
// the worker's variable the plan names and reaches the server; a budget
// burning on both windows breaches at the first evaluation; the token is
// nowhere in the result.
func TestWatchSLOPrometheusBurnRate(t *testing.T) {
	const token = "prom-tok-8c1d2e3f4a5b"
	t.Setenv("FERRY_TEST_PROM_TOKEN", token)
	var sawToken atomic.Bool
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sawToken.Store(true)
		v := "1000" // requests in any window
		if strings.Contains(r.URL.Query().Get("query"), "5..") {
			v = "100" // 10 % errors: 100x the budget of a 99.9 % objective
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,%q]}]}}`, v)
	}))
	defer prom.Close()
	spec := plan.AppSpec{Name: "slo-prom", Cutover: plan.CutoverSpec{SLO: plan.SLO{MaxErrorRatio: 0.01, Watch: plan.SLOWatch{
		Every: time.Second, Window: time.Minute, MinRequests: 20,
		Prometheus: &plan.PrometheusBurnSLO{URL: prom.URL, Auth: plan.PromAuthBearer, BearerTokenEnv: "FERRY_TEST_PROM_TOKEN",
			Errors: `sum(increase(http_requests_total{code=~"5.."}[$window]))`, Total: `sum(increase(http_requests_total[$window]))`,
			Objective: 0.999, BurnRates: plan.DefaultBurnRates}}}}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Plans: testPlans})
	v, err := env.ExecuteActivity(WatchSLOName, WatchSLOInput{Plan: testRef(spec), Percent: 10, Until: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var res SLOGateResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Pass || !strings.Contains(res.Reason, "prometheus: error budget") || res.Evaluations != 1 || !sawToken.Load() {
		t.Fatalf("pass=%v reason %q evaluations %d", res.Pass, res.Reason, res.Evaluations)
	}
	if b := res.Samples[0].Burn; len(b) != 2 || math.Abs(b[0].LongBurn-100) > 1e-9 || !b[0].Breach || !b[1].Breach {
		t.Fatalf("burn samples %+v", b)
	}
	if raw, _ := json.Marshal(res); strings.Contains(string(raw), token) {
		t.Fatal("the token is in the result")
	}
}
