package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Right-sizing rule (docs/plan.md, "Right-sizing"), in the order applied:
//
//  1. Usage: the 95th percentile of CPU and active memory over the usage
//     history discovery read from vCenter's PerformanceManager (30 days at
//     the 2-hour rollup by default). Without usable history, the
//     quickStats sample of discovery, and the note says so.
//  2. Family: tier 1 gets n2 (dedicated cores, predictable latency); every
//     other tier gets e2 (cheapest, shared-core bursting is fine for
//     tier 2-3), unless its CPU use is above 60 % of its vCPUs, then n2.
//  3. Need: tier 1 keeps its vSphere vCPU and memory. Others: use x 1.3
//     headroom, never below half of the vSphere allocation and never above
//     it; without any usage: the vSphere allocation.
//  4. Shape: the cheapest machine type GCE sells in the family (in the
//     zone, when the catalogue was read from the Compute API) with at
//     least the needed vCPU and memory, priced in the app's region; a
//     Windows guest adds the Windows Server licence to the estimate.
const (
	headroom       = 1.3
	busyCPUPercent = 60.0
)

// Sizing is the result of the rule for one VM.
type Sizing struct {
	MachineType MachineType
	NeedVCPU    int
	NeedMemGB   float64
	// Region the price is for, and the month of the machine type there
	// plus the Windows licence when the guest is Windows.
	Region     string
	MonthlyUSD float64
	// UsageSource is "history", "quickStats" or "none".
	UsageSource string
	Note        string
}

// SizingOptions say where the VM will run.
type SizingOptions struct {
	Region string // prices; derived from Zone when empty; us-central1 when both are
	Zone   string // restricts to the zone's machine types when Catalog came from the Compute API
	// Catalog is the GCE catalogue to size from; nil is the committed
	// snapshot (catalog.Default()).
	Catalog *catalog.Catalog
}

// SizeVM applies the right-sizing rule to one VM of an app of the given
// tier, priced in us-central1. Prefer SizeVMWith with the app's region.
func SizeVM(vm inventory.VM, tier string) Sizing { return SizeVMWith(vm, tier, SizingOptions{}) }

// SizeVMWith applies the right-sizing rule to one VM, priced in the
// options' region.
func SizeVMWith(vm inventory.VM, tier string, o SizingOptions) Sizing {
	cat := o.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	region := o.Region
	if region == "" && o.Zone != "" {
		region, _ = cat.RegionOf(o.Zone)
	}
	var why []string
	if region == "" {
		region = DefaultPriceRegion // the note's price says "in us-central1"
	} else if !cat.RegionPriced(region) {
		why = append(why, fmt.Sprintf("no prices for %s in the catalogue %s: priced as us-central1", region, cat.AsOf))
	}

	allocCPU := int(vm.NumCPU)
	if allocCPU < 1 {
		allocCPU = 1
	}
	allocMem := float64(vm.MemoryMB) / 1024
	if allocMem <= 0 {
		allocMem = 1
	}
	t := tierNumber(tier)

	// Usage, as percentages of the allocation.
	cpuPct, memPct := -1.0, -1.0
	source := "none"
	var usage string
	if h := vm.History; h.Usable() {
		cpuPct, memPct, source = h.CPUP95Pct, h.MemP95Pct, "history"
		usage = fmt.Sprintf("p95 of %d samples at %d s over %s..%s (vCenter %s, %s/%s): cpu %.0f%%, mem %.0f%%",
			h.Samples, h.IntervalSecs, h.From.Format("2006-01-02"), h.To.Format("2006-01-02"), h.IntervalName,
			counterShort(h.Counters, 0), counterShort(h.Counters, 1), cpuPct, memPct)
	} else {
		if vm.Usage.CPUMaxMHz > 0 && (vm.Usage.CPUMHz > 0 || vm.Usage.MemoryMB > 0) {
			cpuPct = 100 * float64(vm.Usage.CPUMHz) / float64(vm.Usage.CPUMaxMHz)
		}
		if vm.Usage.MemoryMB > 0 {
			memPct = 100 * float64(vm.Usage.MemoryMB) / 1024 / allocMem
		}
		missing := "no usage history"
		if h != nil && h.Missing != "" {
			missing = "no usage history (" + h.Missing + ")"
		}
		if cpuPct >= 0 || memPct >= 0 {
			source = "quickStats"
			usage = fmt.Sprintf("%s: quickStats sample at discovery, one point in time (cpu %s, mem %d MB)", missing, pct(cpuPct), vm.Usage.MemoryMB)
		} else {
			usage = missing + " and no quickStats: no usage data"
		}
	}
	why = append(why, usage)

	family := "e2"
	switch {
	case t == 1:
		family = "n2"
		why = append(why, "n2 for tier 1")
	case cpuPct > busyCPUPercent:
		family = "n2"
		why = append(why, fmt.Sprintf("n2: CPU busy (%.0f%% > %.0f%%)", cpuPct, busyCPUPercent))
	default:
		why = append(why, fmt.Sprintf("e2 for tier %s", tierLabel(tier)))
	}

	needCPU, needMem := float64(allocCPU), allocMem
	switch {
	case t == 1:
		why = append(why, fmt.Sprintf("kept vSphere size %d vCPU/%.1f GB", allocCPU, allocMem))
	case cpuPct >= 0 || memPct >= 0:
		if cpuPct >= 0 {
			needCPU = clamp(float64(allocCPU)*cpuPct/100*headroom, float64(allocCPU)/2, float64(allocCPU))
		}
		if memPct >= 0 {
			needMem = clamp(allocMem*memPct/100*headroom, allocMem/2, allocMem)
		}
		why = append(why, fmt.Sprintf("use x%.1f within [half, all] of %d vCPU/%.1f GB", headroom, allocCPU, allocMem))
	default:
		why = append(why, fmt.Sprintf("vSphere size %d vCPU/%.1f GB", allocCPU, allocMem))
	}
	nc := int(math.Ceil(needCPU - 1e-9))
	if nc < 1 {
		nc = 1
	}
	best, ok := cheapest(cat, family, o.Zone, region, nc, needMem)
	if !ok && family == "e2" { // beyond e2's largest shape
		family = "n2"
		best, ok = cheapest(cat, family, o.Zone, region, nc, needMem)
		why = append(why, "n2: too large for e2")
	}
	if !ok {
		best = largest(cat, "n2")
		why = append(why, fmt.Sprintf("nothing in n2 has %d vCPU and %.0f GB: capped at %s, review by hand", nc, needMem, best.Name))
	}
	monthly := cat.HourlyUSD(best.toCatalog(), region) * HoursPerMonth
	why = append(why, fmt.Sprintf("cheapest %s with >= %d vCPU and >= %.1f GB: %s (%d vCPU, %.0f GB, $%.0f/month in %s)",
		family, nc, needMem, best.Name, best.VCPU, best.MemoryGB, monthly, region))
	if vm.GuestFamily == "windowsGuest" {
		lic := cat.WindowsHourlyUSD(best.toCatalog()) * HoursPerMonth
		monthly += lic
		why = append(why, fmt.Sprintf("+ Windows Server licence $%.0f/month", lic))
	}
	return Sizing{MachineType: best, NeedVCPU: nc, NeedMemGB: needMem, Region: region, MonthlyUSD: catalog.Round2(monthly),
		UsageSource: source, Note: strings.Join(why, "; ")}
}

// cheapest is the cheapest type of family with at least vcpu and memGB,
// among those zone offers when the catalogue knows per-zone types.
func cheapest(cat *catalog.Catalog, family, zone, region string, vcpu int, memGB float64) (MachineType, bool) {
	offered := cat.ZoneTypes[zone]
	var best MachineType
	found := false
	for _, m := range cat.MachineTypes(family) {
		if offered != nil {
			if _, ok := offered[m.Name]; !ok {
				continue
			}
		}
		mt := fromCatalog(m)
		if mt.VCPU < vcpu || mt.MemoryGB+1e-9 < memGB {
			continue
		}
		if !found || cat.HourlyUSD(m, region) < cat.HourlyUSD(best.toCatalog(), region) {
			best, found = mt, true
		}
	}
	return best, found
}

func largest(cat *catalog.Catalog, family string) MachineType {
	var out MachineType
	for _, m := range cat.MachineTypes(family) {
		if m.VCPU > out.VCPU || (m.VCPU == out.VCPU && m.MemoryGB > out.MemoryGB) {
			out = fromCatalog(m)
		}
	}
	return out
}

func counterShort(cs []string, i int) string {
	if i < len(cs) {
		return cs[i]
	}
	return "?"
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func pct(p float64) string {
	if p < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// tierNumber reads "1", "tier-1", "tier1", "T1"; 0 when unknown.
func tierNumber(tier string) int {
	s := strings.ToLower(strings.TrimSpace(tier))
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(s, "tier"), "-"), "t")
	s = strings.TrimSpace(s)
	if len(s) == 1 && s[0] >= '0' && s[0] <= '9' {
		return int(s[0] - '0')
	}
	return 0
}

func tierLabel(t string) string {
	if t == "" {
		return "unset"
	}
	return t
}
