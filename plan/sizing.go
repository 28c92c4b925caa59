package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/ferrymigrate/ferry/inventory"
)

// Right-sizing rule (docs/plan.md, "Right-sizing"), in the order applied:
//
//  1. Family: tier 1 gets n2 (dedicated cores, predictable latency); every
//     other tier gets e2 (cheapest, shared-core bursting is fine for
//     tier 2-3), unless its observed CPU use is above 60 % of its vCPUs,
//     then n2 too.
//  2. Need: tier 1 keeps its vSphere vCPU and memory (no shrinking of
//     critical apps on a point-in-time sample). Others, when vCenter
//     reported usage: observed use x 1.3 headroom, never below half of the
//     vSphere allocation and never above it; without usage: the vSphere
//     allocation.
//  3. Shape: the cheapest predefined type of the family (highcpu, standard
//     or highmem) with at least the needed vCPU and memory. The memory to
//     vCPU ratio of the need decides the shape that way.
const (
	headroom       = 1.3
	busyCPUPercent = 60.0
)

// Sizing is the result of the rule for one VM.
type Sizing struct {
	MachineType MachineType
	NeedVCPU    int
	NeedMemGB   float64
	Note        string
}

// SizeVM applies the right-sizing rule to one VM of an app of the given tier.
func SizeVM(vm inventory.VM, tier string) Sizing {
	allocCPU := int(vm.NumCPU)
	if allocCPU < 1 {
		allocCPU = 1
	}
	allocMem := float64(vm.MemoryMB) / 1024
	if allocMem <= 0 {
		allocMem = 1
	}
	t := tierNumber(tier)
	cpuPct := -1.0
	if vm.Usage.CPUMaxMHz > 0 {
		cpuPct = 100 * float64(vm.Usage.CPUMHz) / float64(vm.Usage.CPUMaxMHz)
	}
	var why []string
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
	case cpuPct >= 0 || vm.Usage.MemoryMB > 0:
		if cpuPct >= 0 {
			needCPU = clamp(float64(allocCPU)*cpuPct/100*headroom, float64(allocCPU)/2, float64(allocCPU))
		}
		if vm.Usage.MemoryMB > 0 {
			needMem = clamp(float64(vm.Usage.MemoryMB)/1024*headroom, allocMem/2, allocMem)
		}
		why = append(why, fmt.Sprintf("usage x%.1f (cpu %s, mem %d MB) within [half, all] of %d vCPU/%.1f GB",
			headroom, pct(cpuPct), vm.Usage.MemoryMB, allocCPU, allocMem))
	default:
		why = append(why, fmt.Sprintf("no usage data: vSphere size %d vCPU/%.1f GB", allocCPU, allocMem))
	}
	nc := int(math.Ceil(needCPU - 1e-9))
	if nc < 1 {
		nc = 1
	}
	best, ok := cheapest(family, nc, needMem)
	if !ok && family == "e2" { // beyond e2's largest shape
		family = "n2"
		best, ok = cheapest(family, nc, needMem)
		why = append(why, "n2: too large for e2")
	}
	if !ok {
		best, _ = LookupMachineType("n2-highmem-128")
		why = append(why, "capped at n2-highmem-128: review by hand")
	}
	why = append(why, fmt.Sprintf("cheapest %s with >= %d vCPU and >= %.1f GB: %s (%d vCPU, %.0f GB, $%.0f/month)",
		family, nc, needMem, best.Name, best.VCPU, best.MemoryGB, best.MonthlyUSD()))
	return Sizing{MachineType: best, NeedVCPU: nc, NeedMemGB: needMem, Note: strings.Join(why, "; ")}
}

func cheapest(family string, vcpu int, memGB float64) (MachineType, bool) {
	var best MachineType
	found := false
	for _, mt := range MachineTypes(family) {
		if mt.VCPU < vcpu || mt.MemoryGB+1e-9 < memGB {
			continue
		}
		if !found || mt.HourlyUSD() < best.HourlyUSD() {
			best, found = mt, true
		}
	}
	return best, found
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
