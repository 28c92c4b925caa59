package devstack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
)

// The dev plan validates with one app of each data strategy, and the
// replicated app's VMs each name a source of the datacenter they run in.
func TestDevPlanHasEveryDataStrategy(t *testing.T) {
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
	if src, err = DevData(dir, src, inv); err != nil {
		t.Fatal(err)
	}
	pl, diags := plan.Parse("ferry.hcl", src)
	if pl != nil {
		diags = append(diags, plan.Validate(pl, inv, d)...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		_ = plan.WriteDiagnostics(&buf, "ferry.hcl", src, diags)
		t.Fatalf("dev plan does not validate:\n%s", buf.String())
	}
	specs, _ := plan.Resolve(pl, inv, d)
	got := map[string]int{}
	for _, s := range specs {
		got[s.Data.Strategy]++
		switch s.Name {
		case DevReplicateApp:
			rs := s.Data.Replicate
			if s.Data.Strategy != plan.DataReplicate || rs == nil || len(rs.VMs) != len(s.VMs) || !rs.TestClone || rs.TestNetwork != DevTestNetwork {
				t.Fatalf("%s: data %+v", s.Name, s.Data)
			}
			for _, v := range rs.VMs {
				if v.Source == "" || v.Disks < 1 {
					t.Errorf("%s: VM %s has no source or disks: %+v", s.Name, v.Name, v)
				}
			}
		case DevSyncApp:
			if s.Data.Strategy != plan.DataSync || s.Data.Sync == nil || len(s.Data.Sync.Reverse) == 0 {
				t.Fatalf("%s: data %+v", s.Name, s.Data)
			}
		}
	}
	if got[plan.DataReplicate] != 1 || got[plan.DataSync] != 1 || got[plan.DataNone] < 1 {
		t.Errorf("strategies in the dev plan: %v, want one replicate, one sync, the rest none", got)
	}
}
