package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"

	"github.com/ferrymigrate/ferry/inventory"
)

// TestUsageHistoryFromPerformanceManager reads history through vcsim's
// PerformanceManager, which serves vCenter's default historical intervals
// and sampled counter data for every VM.
func TestUsageHistoryFromPerformanceManager(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	cases := []struct {
		window   time.Duration
		interval int32
		name     string
		samples  int
		span     time.Duration
	}{
		{inventory.DefaultUsageWindow, 7200, "Past Month", 361, 30 * 24 * time.Hour}, // 30 days at 2 h, both ends
		{24 * time.Hour, 300, "Past Day", 289, 24 * time.Hour},
		{3 * 24 * time.Hour, 1800, "Past Week", 145, 3 * 24 * time.Hour},
		// Longer than vCenter keeps: the longest rollup, cut to its length.
		{800 * 24 * time.Hour, 86400, "Past Year", 366, 365 * 24 * time.Hour},
	}
	for _, c := range cases {
		inv, err := inventory.Discover(ctx, f.c, inventory.Options{UsageWindow: c.window})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range inv.VMs {
			h := v.History
			if h == nil || !h.Usable() {
				t.Fatalf("window %s, %s: history %+v", c.window, v.Name, h)
			}
			if h.IntervalSecs != c.interval || h.IntervalName != c.name || h.Samples != c.samples || h.To.Sub(h.From) != c.span {
				t.Errorf("window %s, %s: %d s %q, %d samples over %s; want %d s %q, %d samples over %s",
					c.window, v.Name, h.IntervalSecs, h.IntervalName, h.Samples, h.To.Sub(h.From), c.interval, c.name, c.samples, c.span)
			}
			// vcsim's VM series are cpu.usage ~0-12 % and mem.usage ~20-60 %.
			if h.CPUP95Pct <= 0 || h.CPUP95Pct > h.CPUMaxPct || h.CPUMaxPct > 100 || h.MemP95Pct <= 0 || h.MemP95Pct > h.MemMaxPct || h.MemMaxPct > 100 {
				t.Errorf("window %s, %s: percentiles %+v", c.window, v.Name, h)
			}
			if strings.Join(h.Counters, ",") != "cpu.usage.average,mem.usage.average" {
				t.Errorf("counters %v", h.Counters)
			}
		}
	}

	// No history read at all when asked.
	inv, err := inventory.Discover(ctx, f.c, inventory.Options{UsageWindow: -1})
	if err != nil || inv.VMs[0].History != nil {
		t.Fatalf("UsageWindow -1: %v %+v", err, inv.VMs[0].History)
	}

	// vCenter refusing the query leaves discovery whole and says why per
	// VM, so sizing falls back to quickStats visibly.
	f.sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "QueryPerf", ObjectType: "*", ObjectName: "*",
		Probability: 1, FaultType: simulator.FaultTypeNoPermission, Enabled: true})
	defer f.sim.Service().ClearFaultRules()
	inv, err = inventory.Discover(ctx, f.c, inventory.Options{})
	if err != nil {
		t.Fatalf("a refused performance query must not fail discovery: %v", err)
	}
	for _, v := range inv.VMs {
		if v.History == nil || v.History.Usable() || !strings.Contains(v.History.Missing, "refused the performance query") {
			t.Errorf("%s: history %+v, want a missing reason", v.Name, v.History)
		}
	}
}
