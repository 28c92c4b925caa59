package traffic_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/lbrig"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// call sends one compute API request to the fake and fails the test unless
// it is accepted.
func call(t *testing.T, g gcp.Config, method, path string, body any) map[string]any {
	t.Helper()
	return lbrig.Call(t, g, method, path, body)
}

type obj = map[string]any

// TestHealthAndGateThroughTheDataPlane runs what the workflow runs — health
// check, then 10/50/100 % with an SLO gate after each step — against
// gcpfake's data plane, then makes the GCP app fail: the gate fails and
// says where.
func TestHealthAndGateThroughTheDataPlane(t *testing.T) {
	ctx := context.Background()
	dcApp := newApp(t) // the datacenter app, reached over "hybrid connectivity"
	const dcEndpoint = "10.20.30.40:8080"
	s, g := fake(t, gcpfake.Options{DataPlane: true, Hybrid: func(ip string, port int) string {
		if net.JoinHostPort(ip, fmt.Sprint(port)) == dcEndpoint {
			return strings.TrimPrefix(dcApp.URL, "http://")
		}
		return ""
	}})
	const app = "billing-api"
	lbrig.Provision(t, s, g, app, []string{"billing-web-1", "billing-web-2"}, 0, dcEndpoint)
	spec := plan.AppSpec{Name: app, Zone: g.Zone,
		VMs: []plan.VMSpec{{Name: "billing-web-1", GCEName: "billing-web-1"}, {Name: "billing-web-2", GCEName: "billing-web-2"}},
		Cutover: plan.CutoverSpec{Strategy: "lb", DCEndpoints: []string{dcEndpoint},
			HealthCheck: plan.HealthCheck{Protocol: "http", Port: 8080, Path: "/healthz"},
			SLO:         plan.SLO{Requests: 40, MaxErrorRatio: 0.01}}}

	ic, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	insts, err := (&traffic.GCE{Instances: ic, Project: project, Zone: g.Zone}).List(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	probe := traffic.NewProbe(traffic.Config{})
	for _, h := range probe.CheckInstances(ctx, spec.Cutover.HealthCheck, insts) {
		if !h.Healthy {
			t.Fatalf("health check through the data plane: %s", h.Detail)
		}
	}

	targets, err := traffic.Targets(ctx, g, spec, insts)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 3 || targets[0].Name != "public" || !strings.HasPrefix(targets[0].URL, "http://"+gcpfake.LBPool+".") || !strings.HasSuffix(targets[0].URL, "/healthz") {
		t.Fatalf("targets = %+v, want the forwarding rule's address first, then both instances", targets)
	}
	lb := traffic.NewLB(urlMapsClient(t, g), traffic.Config{}, project, app)
	dcBefore := dcApp.hits.Load()
	for _, pct := range []int{10, 50, 100} {
		if err := lb.Shift(ctx, pct); err != nil {
			t.Fatal(err)
		}
		v, err := probe.Gate(ctx, spec.Cutover.SLO, targets)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Pass {
			t.Fatalf("gate at %d%%: %s", pct, v.Reason)
		}
		t.Logf("gate at %d%%: %d requests (public %d), p95 %s", pct, v.Requests, v.Targets[0].Requests, v.P95)
	}
	if dcApp.hits.Load() == dcBefore {
		t.Fatal("no request reached the datacenter app through the load balancer at 10 or 50 %")
	}

	// The GCP app breaks on one instance: the gate fails and names it.
	s.SetAppFault(project, "billing-web-2", gcpfake.AppFault{Status: 500})
	v, err := probe.Gate(ctx, spec.Cutover.SLO, targets)
	if err != nil {
		t.Fatal(err)
	}
	if v.Pass || !strings.Contains(v.Reason, "public (") || !strings.Contains(v.Reason, "gcp billing-web-2") || !strings.Contains(v.Reason, "500") {
		t.Fatalf("gate with a failing GCP app: pass=%v reason %q, want a failure naming public and billing-web-2 with 500", v.Pass, v.Reason)
	}
	t.Logf("failing gate: %s", v.Reason)

	// The rollback's first step: everything back to the datacenter, and
	// users see no error any more.
	if err := lb.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	v, err = probe.Gate(ctx, spec.Cutover.SLO, targets[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !v.Pass {
		t.Fatalf("public URL after rollback: %s", v.Reason)
	}
}

func TestPublicURLFromThePlanWins(t *testing.T) {
	spec := plan.AppSpec{Name: "x", Cutover: plan.CutoverSpec{Strategy: "lb", PublicURL: "https://x.example.com/"}}
	u, err := traffic.PublicURL(context.Background(), nil, project, spec)
	if err != nil || u != "https://x.example.com/" {
		t.Fatalf("PublicURL = %q, %v", u, err)
	}
}

func TestPublicURLMissingForwardingRule(t *testing.T) {
	_, g := fake(t, gcpfake.Options{DataPlane: true})
	spec := plan.AppSpec{Name: "nolb", Cutover: plan.CutoverSpec{Strategy: "lb"}}
	_, err := traffic.Targets(context.Background(), g, spec, nil)
	if err == nil || !traffic.IsPermanent(err) || !strings.Contains(err.Error(), traffic.ForwardingRuleName("nolb")) {
		t.Fatalf("err = %v, want a permanent error naming the forwarding rule", err)
	}
}
