package devstack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
)

// devPlan writes the dev plan of the sample portfolio as `ferry dev`
// does, through DevPeople and the edits, and resolves it (no errors; the
// warnings are returned).
func devPlan(t *testing.T, edits ...func([]byte) ([]byte, error)) (*plan.Plan, []plan.AppSpec, hcl.Diagnostics) {
	t.Helper()
	ctx := context.Background()
	p := sample.Generate(sample.Default())
	sim := sample.StartT(t, p)
	cl, err := inventory.Connect(ctx, sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Discover(ctx, cl, inventory.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var flows bytes.Buffer
	if err := p.WriteFlows(&flows); err != nil {
		t.Fatal(err)
	}
	ff := filepath.Join(dir, "flows.csv")
	if err := os.WriteFile(ff, flows.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	agg := deps.NewAggregator()
	if err := agg.ReadFlowsFile(ff, deps.ParseOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := agg.Analyze(inv, deps.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := DevPeople(dir, plan.Init(inv, d), inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		if src, err = e(src); err != nil {
			t.Fatal(err)
		}
	}
	pl, diags := plan.Parse("ferry.hcl", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	specs, diags := plan.Resolve(pl, inv, d)
	if diags.HasErrors() {
		var buf bytes.Buffer
		_ = plan.WriteDiagnostics(&buf, "ferry.hcl", src, diags)
		t.Fatalf("dev plan:\n%s", buf.String())
	}
	return pl, specs, diags
}

// The dev plan puts ledger-service behind an internal Application LB and
// message-queue behind a passthrough one, and the dev stack creates the
// proxy-only subnet and the DNS zone they need.
func TestDevPlanInternalLoadBalancers(t *testing.T) {
	ctx := context.Background()
	pl, specs, _ := devPlan(t, func(src []byte) ([]byte, error) { return DevLoadBalancers(src) })
	kinds := map[string]plan.CutoverSpec{}
	for _, s := range specs {
		kinds[s.Name] = s.Cutover
	}
	if c := kinds[DevInternalHTTPApp]; c.LoadBalancer() != plan.LBInternalHTTP || c.Strategy != "lb" || len(c.Steps) != 3 {
		t.Errorf("%s: %+v", DevInternalHTTPApp, c)
	}
	if c := kinds[DevInternalTCPApp]; c.LoadBalancer() != plan.LBInternalTCP || c.Strategy != "dns" || len(c.Steps) != 1 ||
		c.HealthCheck.Protocol != "tcp" || c.DNS.ManagedZone != DevInternalZone {
		t.Errorf("%s: %+v", DevInternalTCPApp, c)
	}
	if c := kinds[DevHTTPSApp]; c.LoadBalancer() != plan.LBExternalHTTP {
		t.Errorf("%s stays external HTTP without DevHTTPS: %+v", DevHTTPSApp, c.LB)
	}

	fake := gcpfake.StartT(t, gcpfake.Options{})
	for range 2 { // idempotent: a restarted dev stack finds them
		if err := serveLoadBalancers(ctx, fake, specs); err != nil {
			t.Fatal(err)
		}
	}
	var proxy bool
	for _, r := range fake.Resources(pl.GCP.Project, "subnetworks") {
		proxy = proxy || (r.Name == DevProxyOnlySubnet(pl.GCP.Region) && r.Body["purpose"] == "REGIONAL_MANAGED_PROXY")
	}
	if !proxy {
		t.Error("no proxy-only subnet in the fake")
	}
	if len(fake.Resources(pl.GCP.Project, "managedZones")) != 1 {
		t.Error("no internal DNS zone in the fake")
	}
}
