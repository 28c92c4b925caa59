package plan

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

func history(cpu, mem float64) *inventory.UsageHistory {
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return &inventory.UsageHistory{Source: "vcenter-performance-manager", Counters: []string{inventory.CounterCPU, inventory.CounterMem},
		IntervalSecs: 7200, IntervalName: "Past Month", From: to.Add(-30 * 24 * time.Hour), To: to, Samples: 361,
		CPUP95Pct: cpu, CPUMaxPct: cpu + 10, MemP95Pct: mem, MemMaxPct: mem + 10}
}

func TestSizeVMPrefersHistoryAndFallsBackVisibly(t *testing.T) {
	// quickStats caught a busy moment (90 % CPU); the month's p95 is 20 %.
	vm := inventory.VM{Name: "api-01", NumCPU: 8, MemoryMB: 32768, GuestFamily: "linuxGuest",
		Usage: inventory.Usage{CPUMHz: 17280, CPUMaxMHz: 19200, MemoryMB: 30000}, History: history(20, 30)}
	s := SizeVMWith(vm, "tier-2", SizingOptions{Region: "europe-west1"})
	if s.UsageSource != "history" || !strings.Contains(s.Note, "p95 of 361 samples at 7200 s over 2026-11-01..2026-12-01 (vCenter Past Month") ||
		!strings.Contains(s.Note, "e2 for tier") {
		t.Fatalf("history ignored: %+v", s)
	}
	// 8 vCPU x 20 % x 1.3 = 2.1 -> at least half: 4; 32 GB x 30 % x 1.3 = 12.5 -> at least half: 16.
	if s.MachineType.Name != "e2-standard-4" || s.NeedVCPU != 4 || s.NeedMemGB != 16 {
		t.Errorf("sized %s (%d vCPU, %.1f GB): %s", s.MachineType.Name, s.NeedVCPU, s.NeedMemGB, s.Note)
	}

	vm.History = &inventory.UsageHistory{Source: "vcenter-performance-manager", Missing: "vCenter refused the performance query: NoPermission"}
	s = SizeVMWith(vm, "tier-2", SizingOptions{Region: "europe-west1"})
	if s.UsageSource != "quickStats" || !strings.Contains(s.Note, "no usage history (vCenter refused the performance query: NoPermission): quickStats sample at discovery, one point in time") ||
		!strings.Contains(s.Note, "CPU busy") {
		t.Errorf("fallback not visible: %+v", s)
	}
	vm.History, vm.Usage = nil, inventory.Usage{}
	if s = SizeVM(vm, "3"); s.UsageSource != "none" || !strings.Contains(s.Note, "no usage data") {
		t.Errorf("no data: %+v", s)
	}
}

func TestSizeVMOffersOnlyWhatGCPSells(t *testing.T) {
	for _, cpu := range []int32{1, 2, 3, 6, 12, 24, 40, 64, 96, 128, 200} {
		for _, memGB := range []int64{1, 4, 24, 96, 256, 700, 1024} {
			for _, tier := range []string{"tier-1", "tier-3"} {
				vm := inventory.VM{NumCPU: cpu, MemoryMB: memGB << 10}
				s := SizeVMWith(vm, tier, SizingOptions{Zone: "europe-west1-b"})
				if err := catalog.Validate(s.MachineType.Name, "europe-west1-b"); err != nil {
					t.Errorf("%d vCPU %d GB %s: sized %s, which GCE refuses: %v", cpu, memGB, tier, s.MachineType.Name, err)
				}
				if s.Region != "europe-west1" {
					t.Errorf("region from zone: %q", s.Region)
				}
			}
		}
	}
}

func TestSizeVMPricesRegionAndWindows(t *testing.T) {
	vm := inventory.VM{NumCPU: 4, MemoryMB: 16384, GuestFamily: "linuxGuest"}
	us := SizeVMWith(vm, "tier-1", SizingOptions{Region: "us-central1"})
	eu := SizeVMWith(vm, "tier-1", SizingOptions{Region: "europe-west3"})
	if us.MachineType != eu.MachineType || eu.MonthlyUSD <= us.MonthlyUSD || !strings.Contains(eu.Note, "in europe-west3") {
		t.Errorf("region pricing: us %+v eu %+v", us, eu)
	}
	vm.GuestFamily = "windowsGuest"
	win := SizeVMWith(vm, "tier-1", SizingOptions{Region: "us-central1"})
	lic := 4 * 0.046 * HoursPerMonth
	if d := win.MonthlyUSD - us.MonthlyUSD; d < lic-0.02 || d > lic+0.02 || !strings.Contains(win.Note, "Windows Server licence") {
		t.Errorf("Windows licence: %.2f vs %.2f (%s)", win.MonthlyUSD, us.MonthlyUSD, win.Note)
	}
	e := EstimateVM("n2-standard-4", "europe-west1", "windowsGuest", "pd-balanced", 100, 200)
	if !e.RegionPriced || e.Windows <= 0 || e.Disks <= 300*0.10 || e.Total != catalog.Round2(e.Machine+e.Windows+e.Disks) {
		t.Errorf("estimate: %+v", e)
	}
	if e := EstimateVM("n2-standard-4", "mars-north1", "linuxGuest", "pd-balanced"); e.RegionPriced {
		t.Errorf("unknown region must say it was not priced: %+v", e)
	}
	if ForwardingRulesMonthlyUSD(1) <= 0 || ForwardingRulesMonthlyUSD(6) <= ForwardingRulesMonthlyUSD(5) {
		t.Error("forwarding rules")
	}
}

func TestSizeVMRespectsZoneTypesFromComputeAPI(t *testing.T) {
	c := *catalog.Default()
	c.ZoneTypes = map[string]map[string]catalog.MachineType{"europe-west1-b": {}}
	for _, n := range []string{"e2-standard-8", "e2-highmem-8", "n2-standard-4"} { // no e2-standard-4 in this zone
		m, _ := catalog.Default().Lookup(n)
		c.ZoneTypes["europe-west1-b"][n] = m
	}
	vm := inventory.VM{NumCPU: 4, MemoryMB: 16384}
	s := SizeVMWith(vm, "tier-3", SizingOptions{Zone: "europe-west1-b", Catalog: &c})
	if s.MachineType.Name != "e2-standard-8" {
		t.Errorf("zone without e2-standard-4: sized %s (%s)", s.MachineType.Name, s.Note)
	}
	if err := c.Validate("e2-standard-4", "europe-west1-b"); catalog.KindOf(err) != catalog.KindNotInZone {
		t.Errorf("e2-standard-4 not offered in the zone: %v", err)
	}
}

// TestSizingOnVCenterHistory sizes the sample portfolio from the history
// vcsim's PerformanceManager serves: every VM's note names the samples.
func TestSizingOnVCenterHistory(t *testing.T) {
	inv, err := sample.Discover(context.Background(), sample.Generate(sample.Options{Seed: 1, Apps: 4, Datacenters: 1}), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range inv.Apps {
		for _, ref := range a.VMs {
			for _, v := range inv.VMs {
				if v.Ref != ref {
					continue
				}
				s := SizeVMWith(v, a.Tier, SizingOptions{Zone: "europe-west1-b"})
				if s.UsageSource != "history" || !strings.Contains(s.Note, "samples at 7200 s") || !strings.Contains(s.Note, "vCenter Past Month") {
					t.Errorf("%s: %s: %s", v.Name, s.UsageSource, s.Note)
				}
				if err := ValidateMachineType(s.MachineType.Name, "europe-west1-b"); err != nil {
					t.Error(err)
				}
			}
		}
	}
}
