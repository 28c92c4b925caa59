package traffic_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/internal/testcert"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// An instance that serves TLS itself, with a certificate that is not for
// its address (httptest's): its https health check connects over TLS and
// does not verify, as GCP's does; http on the same port is unhealthy. The
// public URL probe keeps verifying: the same server is refused there.
func TestInstanceProbeOverTLS(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	pn, _ := strconv.Atoi(port)
	in := traffic.Instance{Name: "web-1", Status: "RUNNING", Address: host}

	// A probe that trusts a configured CA (not the instance's) and one
	// with the system roots only: instance probes skip verification in both.
	pair := testcert.New(t, "shop.example.test")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pair.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]traffic.Config{"system roots": {}, "probe root CAs": {ProbeRootCAs: caFile}} {
		probe := traffic.NewProbe(cfg)
		hc := plan.HealthCheck{Protocol: "https", Port: pn, Path: "/healthz"}
		if h := probe.CheckInstances(ctx, hc, []traffic.Instance{in})[0]; !h.Healthy || !strings.Contains(h.Detail, "GET https://") {
			t.Errorf("%s: https instance probe: %+v", name, h)
		}
		hc.Path = "/missing"
		if h := probe.CheckInstances(ctx, hc, []traffic.Instance{in})[0]; h.Healthy {
			t.Errorf("%s: a 404 over TLS is healthy: %+v", name, h)
		}
		hc = plan.HealthCheck{Protocol: "http", Port: pn, Path: "/healthz"}
		if h := probe.CheckInstances(ctx, hc, []traffic.Instance{in})[0]; h.Healthy {
			t.Errorf("%s: plain HTTP to a TLS port is healthy: %+v", name, h)
		}

		// The public URL (what users reach) still verifies the certificate.
		v, err := probe.Gate(ctx, plan.SLO{Requests: 3}, []traffic.Target{{Name: "public", URL: srv.URL + "/healthz"}})
		if err != nil {
			t.Fatal(err)
		}
		if v.Pass || !strings.Contains(v.Reason, "certificate") {
			t.Errorf("%s: the public URL probe accepted an unknown CA: %+v", name, v)
		}

		// The SLO gate probes the instances of an https app as their
		// health checks do, and still verifies the public URL next to them.
		spec := plan.AppSpec{Cutover: plan.CutoverSpec{HealthCheck: plan.HealthCheck{Protocol: "https", Port: pn, Path: "/healthz"}}}
		targets := traffic.GateTargets(spec, []traffic.Instance{in})
		if len(targets) != 1 || !targets[0].Instance {
			t.Fatalf("%s: gate targets of an https app %+v, want its instance marked", name, targets)
		}
		if v, err := probe.Gate(ctx, plan.SLO{Requests: 3, MaxErrorRatio: 0.01}, targets); err != nil || !v.Pass {
			t.Errorf("%s: SLO gate over an https instance: %+v %v", name, v, err)
		}
		spec.Cutover.PublicURL = srv.URL + "/healthz"
		if v, err := probe.Gate(ctx, plan.SLO{Requests: 3, MaxErrorRatio: 0.01}, traffic.GateTargets(spec, []traffic.Instance{in})); err != nil || v.Pass {
			t.Errorf("%s: the gate passed with the public URL's certificate unverified: %+v %v", name, v, err)
		}
	}
}
