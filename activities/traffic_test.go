package activities

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

const cutoverProject = "ferry-cutover"

// cutoverRig is gcpfake holding an app's load balancer and instances, a
// local server per side (the app in the DC and on GCP), and a "public"
// server that splits requests between them by the URL map weights held in
// gcpfake, as the real load balancer would.
type cutoverRig struct {
	fake     *gcpfake.Server
	env      *testsuite.TestActivityEnvironment
	spec     plan.AppSpec
	gcpState atomic.Int32 // HTTP status the GCP app answers
}

func newCutoverRig(t *testing.T) *cutoverRig {
	t.Helper()
	ctx := context.Background()
	r := &cutoverRig{}
	r.gcpState.Store(200)
	s := gcpfake.StartT(t, gcpfake.Options{})
	r.fake = s
	g := gcp.Config{Project: cutoverProject, Region: "europe-west1", Zone: "europe-west1-b", ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint()}

	dcApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	t.Cleanup(dcApp.Close)
	gcpApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(r.gcpState.Load())) }))
	t.Cleanup(gcpApp.Close)
	app := "billing-api"
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ws, err := s.URLMapWeights(cutoverProject, traffic.URLMapName(app))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		dc, gw := ws[traffic.DCBackendName(app)], ws[traffic.GCPBackendName(app)]
		target := dcApp.URL
		if dc+gw > 0 && rand.IntN(dc+gw) < gw {
			target = gcpApp.URL
		}
		resp, err := http.Get(target + req.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(public.Close)

	gu, _ := url.Parse(gcpApp.URL)
	host, portS, _ := net.SplitHostPort(gu.Host)
	port, _ := strconv.Atoi(portS)
	r.spec = plan.AppSpec{Name: app, Project: cutoverProject, Region: "europe-west1", Zone: "europe-west1-b",
		VMs: []plan.VMSpec{{Ref: "vm-1", Name: "billing-api-01", GCEName: "billing-api-01"}, {Ref: "vm-2", Name: "billing-api-02", GCEName: "billing-api-02"}},
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyLB, PublicURL: public.URL + "/",
			HealthCheck: plan.HealthCheck{Protocol: "http", Port: port, Path: "/healthz"},
			SLO:         plan.SLO{Requests: 40, MaxErrorRatio: 0.02, MaxP95: 2 * time.Second}}}

	opts := g.ComputeOptions()
	bs, err := compute.NewBackendServicesRESTClient(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	for _, n := range []string{traffic.DCBackendName(app), traffic.GCPBackendName(app)} {
		if _, err := bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: cutoverProject,
			BackendServiceResource: &computepb.BackendService{Name: proto.String(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	um, err := compute.NewUrlMapsRESTClient(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer um.Close()
	base := "https://www.googleapis.com/compute/v1/projects/" + cutoverProject + "/global/backendServices/"
	if _, err := um.Insert(ctx, &computepb.InsertUrlMapRequest{Project: cutoverProject, UrlMapResource: &computepb.UrlMap{
		Name: proto.String(traffic.URLMapName(app)),
		DefaultRouteAction: &computepb.HttpRouteAction{WeightedBackendServices: []*computepb.WeightedBackendService{
			{BackendService: proto.String(base + traffic.DCBackendName(app)), Weight: proto.Uint32(100)},
			{BackendService: proto.String(base + traffic.GCPBackendName(app)), Weight: proto.Uint32(0)},
		}}}}); err != nil {
		t.Fatal(err)
	}
	ic, err := compute.NewInstancesRESTClient(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	for _, vm := range r.spec.VMs {
		if _, err := ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cutoverProject, Zone: r.spec.Zone, InstanceResource: &computepb.Instance{
			Name: proto.String(vm.GCEName), MachineType: proto.String("e2-small"),
			Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), InitializeParams: &computepb.AttachedDiskInitializeParams{
				SourceImage: proto.String("projects/debian-cloud/global/images/debian-12")}}},
			// The GCP app listens on loopback.
			NetworkInterfaces: []*computepb.NetworkInterface{{NetworkIP: proto.String(host)}},
		}}); err != nil {
			t.Fatal(err)
		}
	}

	var suite testsuite.WorkflowTestSuite
	r.env = suite.NewTestActivityEnvironment()
	r.env.RegisterActivity(&Activities{Plans: testPlans, GCP: g, Traffic: traffic.Config{ProbeConcurrency: 4}})
	return r
}

func (r *cutoverRig) weights(t *testing.T) (dc, gw int) {
	t.Helper()
	w, err := r.fake.URLMapWeights(cutoverProject, traffic.URLMapName(r.spec.Name))
	if err != nil {
		t.Fatal(err)
	}
	return w[traffic.DCBackendName(r.spec.Name)], w[traffic.GCPBackendName(r.spec.Name)]
}

func cutoverAppErr(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return ae
}

func TestCutoverStepsGateFailureAndRollback(t *testing.T) {
	r := newCutoverRig(t)

	if _, err := r.env.ExecuteActivity(HealthCheckName, HealthCheckInput{Plan: testRef(r.spec)}); err != nil {
		t.Fatalf("health check: %v", err)
	}
	for _, p := range []int{10, 50} {
		v, err := r.env.ExecuteActivity(ShiftTrafficName, ShiftTrafficInput{Plan: testRef(r.spec), Percent: p})
		if err != nil {
			t.Fatalf("shift %d: %v", p, err)
		}
		var res ShiftTrafficResult
		if err := v.Get(&res); err != nil || res.GCPPercent != p {
			t.Fatalf("shift %d result %+v %v", p, res, err)
		}
		if dc, gw := r.weights(t); dc != 100-p || gw != p {
			t.Fatalf("after shift %d gcpfake holds dc=%d gcp=%d", p, dc, gw)
		}
		v, err = r.env.ExecuteActivity(SLOGateName, SLOGateInput{Plan: testRef(r.spec), Percent: p})
		if err != nil {
			t.Fatalf("gate at %d: %v", p, err)
		}
		var g SLOGateResult
		if err := v.Get(&g); err != nil || !g.Pass || g.Requests != 120 || len(g.MeasuredFrom) != 3 {
			t.Fatalf("gate at %d: %+v %v", p, g, err)
		}
	}

	// The GCP app breaks: the gate fails with a reason, not an error.
	r.gcpState.Store(503)
	v, err := r.env.ExecuteActivity(SLOGateName, SLOGateInput{Plan: testRef(r.spec), Percent: 50})
	if err != nil {
		t.Fatalf("a failing gate must not be an error: %v", err)
	}
	var g SLOGateResult
	if err := v.Get(&g); err != nil {
		t.Fatal(err)
	}
	if g.Pass || !strings.Contains(g.Reason, "at 50% GCP") || !strings.Contains(g.Reason, "gcp billing-api-01") ||
		!strings.Contains(g.Reason, "503") || !strings.Contains(g.Reason, "public") || g.ErrorRatio < 0.5 {
		t.Fatalf("gate verdict: %+v", g)
	}

	// Rollback: 100 % datacenter with exactly one patch.
	patches := r.fake.RequestCount(http.MethodPatch, "urlMaps")
	_, err = r.env.ExecuteActivity(TrafficToDatacenterName, TrafficToDatacenterInput{Plan: testRef(r.spec)})
	if err != nil {
		t.Fatal(err)
	}
	if dc, gw := r.weights(t); dc != 100 || gw != 0 {
		t.Fatalf("after rollback dc=%d gcp=%d", dc, gw)
	}
	if n := r.fake.RequestCount(http.MethodPatch, "urlMaps") - patches; n != 1 {
		t.Fatalf("rollback used %d patches", n)
	}

	// Health check of broken instances: retryable, reason and details.
	_, err = r.env.ExecuteActivity(HealthCheckName, HealthCheckInput{Plan: testRef(r.spec)})
	ae := cutoverAppErr(t, err)
	var hr HealthCheckResult
	if ae.Type() != string(runbooks.ReasonHealthCheck) || ae.NonRetryable() || ae.Details(&hr) != nil || hr.Unhealthy != 2 {
		t.Fatalf("unhealthy: %v (type %s, details %+v)", err, ae.Type(), hr)
	}
}

func TestCutoverErrors(t *testing.T) {
	r := newCutoverRig(t)

	// No URL map for this app: not retried.
	other := r.spec
	other.Name = "no-such-app"
	_, err := r.env.ExecuteActivity(ShiftTrafficName, ShiftTrafficInput{Plan: testRef(other), Percent: 10})
	if ae := cutoverAppErr(t, err); ae.Type() != string(runbooks.ReasonTrafficShift) || !ae.NonRetryable() {
		t.Fatalf("missing url map: %v", err)
	}
	// GCE answering 503 to the patch: retried (the client itself retries
	// reads, not writes).
	if err := r.fake.Faults().Add(gcpfake.Fault{Method: http.MethodPatch, PathRegexp: "urlMaps", Status: 503}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.env.ExecuteActivity(ShiftTrafficName, ShiftTrafficInput{Plan: testRef(r.spec), Percent: 10}); err == nil {
		t.Fatal("shift through a failing API succeeded")
	}
	_, err = r.env.ExecuteActivity(TrafficToDatacenterName, TrafficToDatacenterInput{Plan: testRef(r.spec)})
	if err == nil {
		// Already at 100 % DC: no patch needed, so the fault is not hit.
		_, err = r.env.ExecuteActivity(ShiftTrafficName, ShiftTrafficInput{Plan: testRef(r.spec), Percent: 10})
	}
	if ae := cutoverAppErr(t, err); ae.Type() != string(runbooks.ReasonTrafficShift) || ae.NonRetryable() {
		t.Fatalf("503: %v", err)
	}
	r.fake.Faults().Clear()
	// Prometheus unreachable: the gate could not measure, an error.
	spec := r.spec
	spec.Cutover.SLO.PrometheusURL = "http://127.0.0.1:1"
	spec.Cutover.SLO.PrometheusQuery = "up"
	_, err = r.env.ExecuteActivity(SLOGateName, SLOGateInput{Plan: testRef(spec), Percent: 10})
	if ae := cutoverAppErr(t, err); ae.Type() != string(runbooks.ReasonSLOGate) || ae.NonRetryable() {
		t.Fatalf("prometheus down: %v", err)
	}
	// Nothing to probe.
	spec = r.spec
	spec.Cutover.PublicURL = ""
	spec.VMs = nil
	_, err = r.env.ExecuteActivity(SLOGateName, SLOGateInput{Plan: testRef(spec), Percent: 10})
	if ae := cutoverAppErr(t, err); ae.Type() != string(runbooks.ReasonSLOGate) || !ae.NonRetryable() {
		t.Fatalf("nothing to probe: %v", err)
	}
}
