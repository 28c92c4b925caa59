package plan

import (
	"strings"
	"testing"
)

// hcPlan is the three test apps, billing-api behind kind with a health
// check of protocol.
func hcPlan(kind, protocol string) string {
	lb := `load_balancer = "` + kind + `"`
	switch kind {
	case LBInternalHTTP:
		lb += "\n    proxy_only_subnet = \"proxy-only-europe-west1\""
	case LBInternalTCP:
		lb += "\n    dns {\n      managed_zone = \"corp\"\n      name = \"billing.corp.example.\"\n    }"
	}
	return `
gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api", "ledger", "reports"]
}

app "billing-api" {
  cutover {
    ` + lb + `
    health_check {
      protocol = "` + protocol + `"
      port     = 8443
    }
  }
}
`
}

func TestHealthCheckHTTPS(t *testing.T) {
	for _, c := range []struct{ kind, backend string }{
		{LBExternalHTTP, "HTTPS"},
		{LBInternalHTTP, "HTTPS"},
		{LBInternalTCP, "TCP"}, // passthrough: the check is https, the connections stay TCP
	} {
		specs, diags := resolveLB(t, t.TempDir(), hcPlan(c.kind, "https"))
		if diags.HasErrors() {
			t.Fatalf("%s: %v", c.kind, diags)
		}
		hc := byName(specs)["billing-api"].Cutover
		if hc.HealthCheck != (HealthCheck{Protocol: "https", Port: 8443, Path: "/"}) {
			t.Errorf("%s: health check %+v", c.kind, hc.HealthCheck)
		}
		if got := hc.BackendProtocol(); got != c.backend {
			t.Errorf("%s: backend protocol %s, want %s", c.kind, got, c.backend)
		}
		// The other apps keep the defaults: plain HTTP to their backends.
		if l := byName(specs)["ledger"].Cutover; l.HealthCheck.Protocol != "http" || l.BackendProtocol() != "HTTP" {
			t.Errorf("ledger: %+v, backend %s", l.HealthCheck, l.BackendProtocol())
		}
	}
}

func TestHealthCheckUnknownProtocol(t *testing.T) {
	src := hcPlan(LBExternalHTTP, "grpc")
	_, diags := resolveLB(t, t.TempDir(), src)
	line := 0
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, `protocol = "grpc"`) {
			line = i + 1
		}
	}
	found := false
	for _, d := range diags {
		if d.Summary != "Unknown health check protocol" {
			continue
		}
		found = true
		if d.Subject == nil || d.Subject.Start.Line != line || !strings.HasSuffix(d.Subject.Filename, "ferry.hcl") {
			t.Errorf("diagnostic at %v, want ferry.hcl line %d", d.Subject, line)
		}
		if !strings.Contains(d.Detail, `"grpc"`) || !strings.Contains(d.Detail, "http, https, tcp") {
			t.Errorf("detail: %s", d.Detail)
		}
	}
	if !found {
		t.Fatalf("grpc accepted: %v", diags)
	}
}
