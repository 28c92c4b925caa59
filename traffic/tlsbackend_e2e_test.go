package traffic_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// TestHTTPSBackendsApply: an app whose VMs serve TLS themselves (health
// check https on 8443), behind an external Application LB. The real
// terraform and google provider apply its module against gcpfake (no diff
// on re-plan); the load balancer reaches the datacenter endpoint and then
// the GCE instance over TLS (either one answers nothing to plain HTTP);
// the instance health check passes over TLS; the SLO gate passes through
// the load balancer.
func TestHTTPSBackendsApply(t *testing.T) {
	if testing.Short() {
		t.Skip("a terraform apply and destroy (minutes): not in -short")
	}
	ctx := context.Background()
	dc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "dc shop") }))
	t.Cleanup(dc.Close)
	const dcEndpoint = "10.20.0.61:8443"
	_, cfg, g := tfEnv(t, func(ip string, port int) string {
		if net.JoinHostPort(ip, strconv.Itoa(port)) == dcEndpoint {
			return dc.Listener.Addr().String()
		}
		return ""
	})
	spec := kindSpec("shop", plan.LBExternalHTTP, 8443, dcEndpoint)
	spec.Cutover.HealthCheck = plan.HealthCheck{Protocol: "https", Port: 8443, Path: "/healthz"}
	r, res := provision(t, cfg, g, spec)
	for _, bs := range []string{"shop-gcp", "shop-dc"} {
		if p := call(t, g, "GET", "global/backendServices/"+bs, nil)["protocol"]; p != "HTTPS" {
			t.Fatalf("backend service %s: protocol %v, want HTTPS", bs, p)
		}
	}

	url := "http://" + res.Outputs["lb_ip"] + "/healthz"
	st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if got := servedBy(t, http.DefaultClient, url, 10); got["dc"] != 10 {
		t.Fatalf("before the cutover, through TLS to the datacenter: %v", got)
	}
	if err := st.Shift(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if got := servedBy(t, http.DefaultClient, url, 10); got["gcp"] != 10 {
		t.Fatalf("at 100 %%, through TLS to the instance: %v", got)
	}

	ic, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	insts, err := (&traffic.GCE{Instances: ic, Project: project, Zone: tfZone}).List(ctx, spec)
	if err != nil || len(insts) != 1 {
		t.Fatalf("instances: %v %v", insts, err)
	}
	probe := traffic.NewProbe(traffic.Config{})
	if h := probe.CheckInstances(ctx, spec.Cutover.HealthCheck, insts)[0]; !h.Healthy {
		t.Fatalf("https health check of the instance: %s", h.Detail)
	}
	plain := spec.Cutover.HealthCheck
	plain.Protocol = "http"
	if h := probe.CheckInstances(ctx, plain, insts)[0]; h.Healthy {
		t.Fatalf("the instance answers plain HTTP on its TLS port: %s", h.Detail)
	}
	gate(t, probe, g, spec, plan.SLO{Requests: 10, MaxErrorRatio: 0}, url)
	destroy(t, r)
}
