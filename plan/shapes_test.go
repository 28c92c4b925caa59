package plan

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

const shapesPlan = `gcp {
  project = "p"
  region  = "REGION"
  zones   = ["ZONE"]
}
identity {
  allow_unverified = true
}
wave "w1" {
  apps = ["ledger"]
}
app "ledger" {
  approvers {
    plan = ["bo"]
    cutover = ["ana"]
    decommission = ["bo"]
  }
  vm "ledger-app-1" {
    machine_type = "SHAPE"
  }
}
`

func shapes(region, zone, shape string) string {
	return strings.NewReplacer("REGION", region, "ZONE", zone, "SHAPE", shape).Replace(shapesPlan)
}

// A shape GCE does not sell is refused by plan validate, at the
// machine_type attribute, with the nearest real shapes: long before
// terraform apply would meet GCE's 400.
func TestValidateRefusesShapesGCEDoesNotSell(t *testing.T) {
	inv := loadInventory(t)
	for _, c := range []struct {
		shape, hint string
	}{
		{"e2-highmem-32", "e2-highmem-16"},
		{"n2-highcpu-128", "n2-highcpu-96"},
		{"n2-standard-3", "n2-standard-2 or n2-standard-4"},
		{"custom-4-8192", "custom machine type"},
	} {
		src := shapes("europe-west1", "europe-west1-b", c.shape)
		diags := validateText(t, src, inv)
		bad := only(diags, "Bad machine type")
		if len(bad) != 1 || bad[0].Subject == nil || bad[0].Subject.Start.Line != 19 || !strings.Contains(bad[0].Detail, c.hint) ||
			!strings.Contains(bad[0].Detail, "terraform apply") {
			t.Errorf("%s: %v", c.shape, diags)
		}
	}
	if diags := validateText(t, shapes("europe-west1", "europe-west1-b", "e2-highmem-16"), inv); diags.HasErrors() {
		t.Errorf("a real shape is refused: %v", diags)
	}

	// A zone that does not exist in a region the catalogue knows is an
	// error; a region the snapshot does not list, a warning.
	diags := validateText(t, shapes("europe-west1", "europe-west1-a", "e2-standard-2"), inv)
	if z := only(diags, "Unknown zone"); len(z) != 1 || z[0].Severity != hcl.DiagError || z[0].Subject.Start.Line != 4 || !strings.Contains(z[0].Detail, "europe-west1-b, europe-west1-c, europe-west1-d") {
		t.Errorf("europe-west1-a: %v", diags)
	}
	diags = validateText(t, shapes("antarctica-south1", "antarctica-south1-a", "e2-standard-2"), inv)
	if diags.HasErrors() || len(only(diags, "Unknown region")) != 1 || len(only(diags, "Unknown zone")) != 1 {
		t.Errorf("a region the snapshot lacks: %v", diags)
	}
}

// With the Compute API's view of the zones, sizing only offers what the
// app's zone sells and validate refuses what it does not.
func TestSizingAndValidationFollowTheZone(t *testing.T) {
	inv := loadInventory(t)
	c := *catalog.Default()
	c.Origin = "Compute API machineTypes.aggregatedList of p (test)"
	c.ZoneTypes = map[string]map[string]catalog.MachineType{"europe-west1-b": {}}
	for _, name := range []string{"e2-standard-8", "n2-standard-8", "n2-standard-16", "n2-highmem-8"} {
		mt, err := c.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		c.ZoneTypes["europe-west1-b"][name] = mt
	}
	src := strings.Replace(shapes("europe-west1", "europe-west1-b", "n2-standard-8"), "  vm \"ledger-app-1\" {\n    machine_type = \"n2-standard-8\"\n  }\n", "", 1)
	p, _ := Parse("ferry.hcl", []byte(src))
	p.Catalog = &c
	if diags := Validate(p, inv, nil); diags.HasErrors() {
		t.Fatalf("sized from the zone's types yet refused: %v", diags)
	}
	specs, _ := Resolve(p, inv, nil)
	for _, v := range specs[0].VMs {
		if _, ok := c.ZoneTypes["europe-west1-b"][v.MachineType]; !ok {
			t.Errorf("%s sized %s, which europe-west1-b does not sell here: %s", v.Name, v.MachineType, v.SizingNote)
		}
	}
	p, _ = Parse("ferry.hcl", []byte(shapes("europe-west1", "europe-west1-b", "e2-standard-2")))
	p.Catalog = &c
	bad := only(Validate(p, inv, nil), "Bad machine type")
	if len(bad) != 1 || !strings.Contains(bad[0].Detail, "not offered in zone europe-west1-b") {
		t.Errorf("e2-standard-2 where the zone does not sell it: %v", bad)
	}
}

// Prices follow the region, add the Windows licence for Windows guests and
// the forwarding rules of lb cutovers, counted per project and region.
func TestEstimatePlan(t *testing.T) {
	inv := loadInventory(t)
	p, diags := Load("../examples/ferry.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	specs, _ := Resolve(p, inv, testDeps())
	e := EstimatePlan(specs)
	var vms, lb float64
	n := 0
	for _, s := range specs {
		for _, v := range s.VMs {
			vms += v.MonthlyUSD
		}
		if s.Cutover.Strategy == "lb" {
			n++
			lb += s.ForwardingRuleMonthlyUSD
		}
	}
	if e.LoadBalanced != n || n == 0 || e.ForwardingRules != catalog.Round2(ForwardingRulesMonthlyUSD(n)) || e.ForwardingRules > lb+0.01 {
		t.Errorf("forwarding rules %.2f for %d lb apps (alone: %.2f)", e.ForwardingRules, n, lb)
	}
	if d := e.Machines + e.Windows + e.Disks - vms; d > 0.05 || d < -0.05 {
		t.Errorf("itemised %.2f+%.2f+%.2f != VMs %.2f", e.Machines, e.Windows, e.Disks, vms)
	}
	if e.Windows <= 0 || strings.Join(e.Regions, ",") != "europe-west1" || !strings.Contains(e.Source, "2026-12-02") {
		t.Errorf("estimate %+v", e)
	}
	us := EstimateVM("n2-standard-4", "us-central1", "linuxGuest", "pd-balanced", 10)
	eu := EstimateVM("n2-standard-4", "europe-west1", "linuxGuest", "pd-balanced", 10)
	win := EstimateVM("n2-standard-4", "europe-west1", "windowsGuest", "pd-balanced", 10)
	if !(eu.Machine > us.Machine) || win.Windows <= 0 || win.Total <= eu.Total {
		t.Errorf("us %+v eu %+v win %+v", us, eu, win)
	}
}

// A plan whose catalogue carries the Cloud Billing Catalog API's prices
// (catalog.FromBilling) sizes, resolves and estimates at them, says so,
// and names what the snapshot still priced.
func TestEstimatePlanAtAPIPrices(t *testing.T) {
	inv := loadInventory(t)
	p, diags := Load("../examples/ferry.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	snapSpecs, _ := Resolve(p, inv, testDeps())
	snap := EstimatePlan(snapSpecs)

	c := *catalog.Default()
	c.PriceSource = "Cloud Billing Catalog API 2026-12-03T10:00:00Z"
	// e2 and n2 in europe-west1 at twice the snapshot's price; the rest is
	// not listed and keeps the snapshot's.
	core, ram := map[string]map[string]float64{}, map[string]map[string]float64{}
	for _, fam := range []string{"e2", "n2"} {
		core[fam] = map[string]float64{"europe-west1": 2 * 1.1 * c.Families[fam].VCPUHourUSD}
		ram[fam] = map[string]float64{"europe-west1": 2 * 1.1 * c.Families[fam].GBHourUSD}
	}
	c.Billing = &catalog.Prices{SKUs: 3, Core: core, RAM: ram, ForwardingRuleFirstFiveHourUSD: 0.05, WindowsVCPUHourUSD: 0.092}
	p.Catalog = &c
	specs, _ := Resolve(p, inv, testDeps())
	e := EstimatePlanWith(specs, &c)
	if !strings.HasPrefix(e.Source, "Cloud Billing Catalog API 2026-12-03") {
		t.Errorf("source %q", e.Source)
	}
	if d := e.Machines - 2*snap.Machines; d > 0.05 || d < -0.05 {
		t.Errorf("machines at the API's doubled prices: %.2f, snapshot %.2f", e.Machines, snap.Machines)
	}
	if d := e.Windows - 2*snap.Windows; e.Windows == 0 || d > 0.05 || d < -0.05 {
		t.Errorf("Windows at the API's doubled licence: %.2f, snapshot %.2f", e.Windows, snap.Windows)
	}
	if d := e.ForwardingRules - 2*snap.ForwardingRules; d > 0.05 || d < -0.05 {
		t.Errorf("forwarding rules at the API's price: %.2f, snapshot %.2f", e.ForwardingRules, snap.ForwardingRules)
	}
	if e.Disks != snap.Disks {
		t.Errorf("disks are not listed by this API reply and keep the snapshot's price: %.2f vs %.2f", e.Disks, snap.Disks)
	}
	var vms float64
	for _, s := range specs {
		for _, v := range s.VMs {
			vms += v.MonthlyUSD
		}
	}
	if d := vms - (e.Machines + e.Windows + e.Disks); d > 0.1 || d < -0.1 {
		t.Errorf("resolved VMs cost %.2f, the estimate says %.2f", vms, e.Machines+e.Windows+e.Disks)
	}
	if len(e.FromSnapshot) != 0 {
		t.Errorf("the example plan uses e2 and n2 only, all priced by the API: %v", e.FromSnapshot)
	}
	delete(c.Billing.Core, "n2")
	if e := EstimatePlanWith(specs, &c); strings.Join(e.FromSnapshot, ",") != "n2 in europe-west1" {
		t.Errorf("n2 without API prices: %v", e.FromSnapshot)
	}
}
