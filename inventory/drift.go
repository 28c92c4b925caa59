package inventory

import (
	"fmt"
	"slices"
	"strings"
)

// PlannedVM is what the plan says about one VM (the fields of
// plan.VMSpec that drift compares; plan imports this package, so the
// caller converts).
type PlannedVM struct {
	Ref         string
	Name        string
	NumCPU      int32
	MemoryMB    int64
	DiskGB      int64
	DataDisksGB []int64
}

// Drift kinds.
const (
	DriftAdded   = "added"   // in vCenter, not in the plan
	DriftRemoved = "removed" // in the plan, gone from vCenter
	DriftResized = "resized" // CPU, memory or disk changed
	DriftRenamed = "renamed" // same managed object reference, other name
)

// Drift is one difference between the planned VMs and vCenter.
type Drift struct {
	Kind   string `json:"kind"`
	VMRef  string `json:"vmRef"`
	VMName string `json:"vmName"`
	Detail string `json:"detail"`
}

// DetectDrift compares the plan's VMs with what discovery found for the
// app. VMs are matched by reference; a planned VM without a reference is
// matched by name. The result is sorted by VM name, then kind.
func DetectDrift(planned []PlannedVM, actual []VM) []Drift {
	byRef := make(map[string]int, len(actual))
	byName := make(map[string]int, len(actual))
	for i, v := range actual {
		byRef[v.Ref] = i
		if _, dup := byName[v.Name]; !dup {
			byName[v.Name] = i
		}
	}
	seen := make([]bool, len(actual))
	var out []Drift
	for _, p := range planned {
		i, ok := byRef[p.Ref]
		if p.Ref == "" {
			i, ok = byName[p.Name]
		}
		if !ok || seen[i] {
			out = append(out, Drift{Kind: DriftRemoved, VMRef: p.Ref, VMName: p.Name,
				Detail: fmt.Sprintf("planned VM %s (%s) is no longer in vCenter", p.Name, orDash(p.Ref))})
			continue
		}
		seen[i] = true
		a := actual[i]
		if p.Name != "" && a.Name != p.Name {
			out = append(out, Drift{Kind: DriftRenamed, VMRef: a.Ref, VMName: a.Name,
				Detail: fmt.Sprintf("%s was renamed from %q to %q", a.Ref, p.Name, a.Name)})
		}
		if d := resized(p, a); d != "" {
			out = append(out, Drift{Kind: DriftResized, VMRef: a.Ref, VMName: a.Name, Detail: d})
		}
	}
	for i, a := range actual {
		if !seen[i] {
			out = append(out, Drift{Kind: DriftAdded, VMRef: a.Ref, VMName: a.Name,
				Detail: fmt.Sprintf("VM %s (%s) belongs to the app but is not in the plan", a.Name, a.Ref)})
		}
	}
	slices.SortStableFunc(out, func(x, y Drift) int {
		if c := strings.Compare(x.VMName, y.VMName); c != 0 {
			return c
		}
		return strings.Compare(x.Kind, y.Kind)
	})
	return out
}

// resized describes size changes. A planned size of zero is not compared.
// The plan's DiskGB is the total, or the boot disk when DataDisksGB lists
// the rest: either reading matches.
func resized(p PlannedVM, a VM) string {
	var parts []string
	if p.NumCPU != 0 && p.NumCPU != a.NumCPU {
		parts = append(parts, fmt.Sprintf("vCPU %d -> %d", p.NumCPU, a.NumCPU))
	}
	if p.MemoryMB != 0 && p.MemoryMB != a.MemoryMB {
		parts = append(parts, fmt.Sprintf("memory %d MB -> %d MB", p.MemoryMB, a.MemoryMB))
	}
	if p.DiskGB != 0 {
		total := p.DiskGB
		for _, d := range p.DataDisksGB {
			total += d
		}
		if got := a.DiskGB(); got != p.DiskGB && got != total {
			parts = append(parts, fmt.Sprintf("disk %d GB -> %d GB", total, got))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return a.Name + " (" + a.Ref + ") resized: " + strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "no ref"
	}
	return s
}
