package sample_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
)

func TestGenerateDeterministic(t *testing.T) {
	a, b := sample.Generate(sample.Default()), sample.Generate(sample.Default())
	var fa, fb bytes.Buffer
	if err := a.WriteFlows(&fa); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFlows(&fb); err != nil {
		t.Fatal(err)
	}
	if fa.String() != fb.String() {
		t.Fatal("flows differ for the same seed")
	}
	if n := len(a.Apps); n < 12 {
		t.Fatalf("apps = %d, want >= 12", n)
	}
	if n := a.VMCount(); n < 35 || n > 45 {
		t.Fatalf("VMs = %d, want about 40", n)
	}
	other := sample.Generate(sample.Options{Seed: 2, Apps: 16, Datacenters: 2})
	var fo bytes.Buffer
	_ = other.WriteFlows(&fo)
	if fo.String() == fa.String() {
		t.Fatal("a different seed gave identical flows")
	}
	dcs := map[string]bool{}
	off := 0
	for _, app := range a.Apps {
		if app.Owner == "" || app.Squad == "" || !strings.HasPrefix(app.Tier, "tier-") || app.Runbook == "" {
			t.Errorf("app %s lacks directory fields: %+v", app.Name, app)
		}
		for _, d := range app.DependsOn {
			if a.App(d) == nil {
				t.Errorf("app %s depends on unknown %s", app.Name, d)
			}
		}
		for _, v := range app.VMs {
			dcs[v.Datacenter] = true
			if !v.PoweredOn {
				off++
			}
		}
	}
	if len(dcs) != 2 || off == 0 {
		t.Fatalf("datacenters %v, powered off %d", dcs, off)
	}
	big := sample.Generate(sample.Options{Seed: 3, Apps: 40, Datacenters: 3})
	names := map[string]bool{}
	for _, app := range big.Apps {
		if names[app.Name] {
			t.Fatalf("duplicate app %s", app.Name)
		}
		names[app.Name] = true
	}
	if len(big.Apps) != 40 {
		t.Fatalf("apps = %d", len(big.Apps))
	}
}

func TestFlowsCSV(t *testing.T) {
	p := sample.Generate(sample.Default())
	var buf bytes.Buffer
	if err := p.WriteFlows(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], sample.FlowHeader) {
		t.Fatalf("header %v", rows[0])
	}
	ipApp := map[string]string{}
	for _, a := range p.Apps {
		for _, v := range a.VMs {
			ipApp[v.IP] = a.Name
		}
	}
	links := map[[2]string]bool{}
	external := 0
	for _, r := range rows[1:] {
		src, dst := ipApp[r[0]], ipApp[r[1]]
		if src == "" || dst == "" {
			external++
			continue
		}
		links[[2]string{src, dst}] = true
	}
	for _, a := range p.Apps {
		for _, d := range a.DependsOn {
			if !links[[2]string{a.Name, d}] {
				t.Errorf("no flow %s -> %s", a.Name, d)
			}
		}
	}
	if external == 0 || !links[[2]string{"payments-db", "payments-db"}] {
		t.Fatalf("external %d, intra-app payments-db %v", external, links[[2]string{"payments-db", "payments-db"}])
	}
}

func TestSimulatorHoldsPortfolio(t *testing.T) {
	ctx := context.Background()
	p := sample.Generate(sample.Default())
	sim := sample.StartT(t, p)
	cfg := sim.Config()
	if strings.Contains(cfg.URL, "@") || cfg.Password == "" || !strings.HasPrefix(cfg.URL, "https://127.0.0.1:") {
		t.Fatalf("config %+v", cfg)
	}
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	inv, err := inventory.Discover(ctx, c, inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.VMs) != p.VMCount() || len(inv.Apps) != len(p.Apps) || len(inv.Unassigned) != 0 {
		t.Fatalf("discovered %d VMs, %d apps, %d unassigned; want %d, %d, 0", len(inv.VMs), len(inv.Apps), len(inv.Unassigned), p.VMCount(), len(p.Apps))
	}
	for i, a := range inv.Apps {
		want := p.App(a.Name)
		if want == nil {
			t.Fatalf("unknown app %s", a.Name)
		}
		if a.Owner != want.Owner || a.Squad != want.Squad || a.Tier != want.Tier || a.Runbook != want.Runbook ||
			!slices.Equal(a.DependsOn, want.DependsOn) || a.MatchedBy != inventory.MatchedByTag || len(a.VMs) != len(want.VMs) {
			t.Errorf("app %d = %+v, want %+v", i, a, *want)
		}
	}
	byName := map[string]inventory.VM{}
	for _, v := range inv.VMs {
		byName[v.Name] = v
	}
	for _, a := range p.Apps {
		for _, w := range a.VMs {
			v := byName[w.Name]
			if v.Datacenter != w.Datacenter || v.NumCPU != w.CPU || v.MemoryMB != w.MemoryMB || v.DiskGB() != w.DiskGB || v.GuestID != w.GuestID {
				t.Errorf("VM %s = %+v, want %+v", w.Name, v, w)
			}
			if v.Ref != sim.VMRef(w.Datacenter, w.Name) {
				t.Errorf("VM %s ref %s, simulator says %s", w.Name, v.Ref, sim.VMRef(w.Datacenter, w.Name))
			}
			if w.PoweredOn != (v.PowerState == "poweredOn") {
				t.Errorf("VM %s power %s, want on=%v", w.Name, v.PowerState, w.PoweredOn)
			}
			if w.PoweredOn && (len(v.IPs) == 0 || v.IPs[0] != w.IP || v.Usage.CPUMHz == 0 || v.GuestHostname == "") {
				t.Errorf("VM %s guest state %+v", w.Name, v)
			}
		}
	}
}
