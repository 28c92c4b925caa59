package terraform

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/plan"
)

// An app whose VMs serve TLS themselves (health check https): the check is
// an https_health_check, and both backend services of a proxy LB (the
// instance groups and the datacenter's hybrid NEG) speak HTTPS on the
// named port "https". Behind the passthrough kind only the check changes.
func TestRenderHTTPSBackends(t *testing.T) {
	for _, kind := range []string{plan.LBExternalHTTP, plan.LBExternalHTTPS, plan.LBInternalHTTP, plan.LBInternalTCP} {
		s := lbKindSpec(t, kind)
		s.Cutover.HealthCheck = plan.HealthCheck{Protocol: "https", Port: 8443, Path: "/healthz"}
		files, err := Render(s, RenderOptions{GCP: fakeGCP})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		lb := string(files[FileLB])
		if !strings.Contains(lb, "https_health_check {\n    port         = 8443\n    request_path = \"/healthz\"\n  }") ||
			strings.Contains(lb, "http_health_check {") || strings.Contains(lb, "tcp_health_check") {
			t.Errorf("%s: want an https check on 8443:\n%s", kind, lb)
		}
		if kind == plan.LBInternalTCP {
			if strings.Contains(lb, `"HTTPS"`) || strings.Count(lb, `protocol              = "TCP"`) != 1 {
				t.Errorf("passthrough: the backend service stays TCP:\n%s", lb)
			}
			continue
		}
		if n := strings.Count(lb, `protocol              = "HTTPS"`); n != 2 || strings.Contains(lb, `"HTTP"`) {
			t.Errorf("%s: want both backend services (GCP and datacenter) on HTTPS, got %d:\n%s", kind, n, lb)
		}
		if !strings.Contains(lb, "named_port {\n    name = \"https\"\n    port = 8443\n  }") || !strings.Contains(lb, `port_name             = "https"`) {
			t.Errorf("%s: the named port and the port_name must agree on \"https\":\n%s", kind, lb)
		}
		if kind != plan.LBExternalHTTP {
			continue
		}
		path := filepath.Join("testdata", "lb-https-backend.golden")
		if *update {
			if err := os.WriteFile(path, files[FileLB], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if !bytes.Equal(files[FileLB], want) {
			t.Errorf("%s differs (go test -update rewrites it):\n%s", path, lb)
		}
	}
}
