package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/internal/testcert"
)

const lbPlan = `
gcp {
  project = "p"
  region  = "europe-west1"
}

wave "wave-1" {
  apps = ["billing-api", "ledger", "reports"]
}

app "billing-api" {
  cutover {
    load_balancer = "external-https"
    public_url    = "https://billing.example.com/"
    tls {
      cert_file = "certs/billing.pem"
      key_file  = "certs/billing.key"
    }
  }
}

app "ledger" {
  cutover {
    load_balancer     = "internal-http"
    proxy_only_subnet = "proxy-only-europe-west1"
    port              = 8080
  }
}

app "reports" {
  cutover {
    load_balancer = "internal-tcp"
    dns {
      managed_zone = "corp"
      name         = "reports-db.corp.example."
    }
  }
}
`

func resolveLB(t *testing.T, dir, src string) ([]AppSpec, hcl.Diagnostics) {
	t.Helper()
	p, diags := Parse(filepath.Join(dir, "ferry.hcl"), []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	specs, diags := Resolve(p, loadInventory(t), testDeps())
	return specs, diags
}

func byName(specs []AppSpec) map[string]AppSpec {
	out := map[string]AppSpec{}
	for _, s := range specs {
		out[s.Name] = s
	}
	return out
}

func TestLoadBalancerKinds(t *testing.T) {
	dir := t.TempDir()
	pair := testcert.New(t, "billing.example.com")
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{pair.CertFile: "certs/billing.pem", pair.KeyFile: "certs/billing.key"} {
		b, _ := os.ReadFile(from)
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	specs, diags := resolveLB(t, dir, lbPlan)
	if errs := errorsExcept(diags, "No approvers"); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			t.Errorf("warning: %s: %s", d.Summary, d.Detail)
		}
	}
	m := byName(specs)
	b := m["billing-api"].Cutover
	if b.LoadBalancer() != LBExternalHTTPS || b.FrontendPort() != 443 || b.Strategy != "lb" ||
		b.LB.TLS.CertFile != filepath.Join(dir, "certs/billing.pem") || b.LB.TLS.KeyFile != filepath.Join(dir, "certs/billing.key") {
		t.Errorf("billing-api: %+v", b.LB)
	}
	l := m["ledger"].Cutover
	if l.LoadBalancer() != LBInternalHTTP || l.FrontendPort() != 8080 || l.LB.ProxyOnlySubnet != "proxy-only-europe-west1" || len(l.Steps) != 3 {
		t.Errorf("ledger: %+v steps %v", l.LB, l.Steps)
	}
	r := m["reports"].Cutover
	if r.LoadBalancer() != LBInternalTCP || r.Strategy != "dns" || len(r.Steps) != 1 || r.Steps[0].Percent != 100 ||
		r.HealthCheck.Protocol != "tcp" || r.FrontendPort() != r.HealthCheck.Port || len(r.DCEndpoints) == 0 {
		t.Errorf("reports: %+v steps %v hc %+v dc %v", r.LB, r.Steps, r.HealthCheck, r.DCEndpoints)
	}
	if Weighted(LBInternalTCP) || !Weighted(LBInternalHTTP) {
		t.Error("Weighted")
	}
	// The default is today's shape.
	if (CutoverSpec{}).LoadBalancer() != LBExternalHTTP || (CutoverSpec{}).FrontendPort() != 80 {
		t.Error("zero CutoverSpec is not external-http on 80")
	}
}

func TestSelfManagedCertificateChecks(t *testing.T) {
	dir := t.TempDir()
	a, b := testcert.New(t, "a.example.com"), testcert.New(t, "b.example.com")
	src := strings.NewReplacer(`"certs/billing.pem"`, `"`+a.CertFile+`"`, `"certs/billing.key"`, `"`+b.KeyFile+`"`).Replace(lbPlan)
	_, diags := resolveLB(t, dir, src)
	errs := errorsExcept(diags, "No approvers")
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "are not a pair") || errs[0].Subject == nil {
		t.Fatalf("mismatched pair: %v", errs)
	}
	for _, d := range diags {
		if strings.Contains(d.Detail, "PRIVATE KEY") || strings.Contains(d.Detail, string(b.KeyPEM[30:60])) {
			t.Fatalf("a diagnostic quotes the key: %s", d.Detail)
		}
	}
	// Files this machine cannot read are a warning: the worker may hold them.
	src = strings.NewReplacer(`"certs/billing.pem"`, `"/nonexistent/billing.pem"`, `"certs/billing.key"`, `"/nonexistent/billing.key"`).Replace(lbPlan)
	_, diags = resolveLB(t, dir, src)
	if errs := errorsExcept(diags, "No approvers"); len(errs) > 0 {
		t.Fatal(errs)
	}
	warned := false
	for _, d := range diags {
		warned = warned || (d.Severity == hcl.DiagWarning && strings.Contains(d.Detail, "/nonexistent/billing.pem"))
	}
	if !warned {
		t.Fatalf("no warning for an unreadable cert_file: %v", diags)
	}
}
