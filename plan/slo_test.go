package plan

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The slo block documented in docs/plan.md, in the example plan, resolves
// to what it says; without one, the watch has its defaults.
func TestSLOWatchResolves(t *testing.T) {
	src, err := os.ReadFile("../examples/ferry.hcl")
	if err != nil {
		t.Fatal(err)
	}
	old := "    slo {\n      requests        = 200\n      max_error_ratio = 0.005\n      max_p95         = \"300ms\"\n    }\n"
	if !strings.Contains(string(src), old) {
		t.Fatal("the example plan's slo block changed; update this test")
	}
	block := `    slo {
      max_error_ratio = 0.01
      max_p95         = "500ms"
      every           = "10s"
      window          = "2m"
      min_requests    = 50
      probe           = false
      monitoring {}
      prometheus {
        url              = "https://prometheus.example.com"
        auth             = "bearer"
        bearer_token_env = "FERRY_PROM_TOKEN"
        errors_query     = "sum(increase(http_requests_total{job=\"billing\",code=~\"5..\"}[$window]))"
        total_query      = "sum(increase(http_requests_total{job=\"billing\"}[$window]))"
        objective        = 0.995
        burn_rate {
          long   = "1h"
          short  = "5m"
          factor = 10
        }
      }
    }
`
	p, diags := Parse("ferry.hcl", []byte(strings.Replace(string(src), old, block, 1)))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	inv := loadInventory(t)
	if d := Validate(p, inv, testDeps()); d.HasErrors() {
		t.Fatal(d)
	}
	specs, diags := Resolve(p, inv, testDeps())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var w, def SLOWatch
	for _, s := range specs {
		switch s.Name {
		case "billing-api":
			w = s.Cutover.SLO.Watch
		case "ledger":
			def = s.Cutover.SLO.Watch
		}
	}
	pr := w.Prometheus
	if w.Every != 10*time.Second || w.Window != 2*time.Minute || w.MinRequests != 50 || w.Probe || w.ProbeRequests != 0 || w.Monitoring == nil || pr == nil {
		t.Fatalf("watch %+v", w)
	}
	if pr.Auth != PromAuthBearer || pr.BearerTokenEnv != "FERRY_PROM_TOKEN" || pr.Objective != 0.995 || !strings.Contains(pr.Errors, `code=~"5.."`) ||
		len(pr.BurnRates) != 1 || pr.BurnRates[0] != (BurnRate{Long: time.Hour, Short: 5 * time.Minute, Factor: 10}) {
		t.Fatalf("prometheus %+v", pr)
	}
	if def.Every != DefaultSLOEvery || def.Window != DefaultSLOWindow || !def.Probe || def.ProbeRequests != DefaultSLOProbeRequests || def.Monitoring != nil || def.Prometheus != nil {
		t.Fatalf("defaults %+v", def)
	}
}
