package plan

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// Price table for the monthly cost estimate.
//
// Source: Google Cloud "VM instance pricing" (cloud.google.com/compute/vm-instance-pricing)
// and "Disk and image pricing" (cloud.google.com/compute/disks-image-pricing),
// region us-central1, on-demand, resource-based (per vCPU-hour and per
// GB-hour) prices, no sustained-use or committed-use discounts, as read in
// 2025-06. Other regions cost up to ~25 % more; the estimate is evidence for
// a reviewer, not a bill. Update PricesAsOf when you change the numbers.
const (
	PricesSource  = "cloud.google.com/compute/vm-instance-pricing + /disks-image-pricing, us-central1 on-demand"
	PricesAsOf    = "2025-06"
	HoursPerMonth = 730
)

// familyPrice is the on-demand price of one vCPU-hour and one GB-hour of
// memory in a machine family.
type familyPrice struct {
	VCPUHour, GBHour float64
	// shapes: memory GB per vCPU for standard, highmem, highcpu.
	Standard, HighMem, HighCPU float64
	Sizes                      []int // predefined vCPU counts
}

var families = map[string]familyPrice{
	"e2":  {VCPUHour: 0.021811, GBHour: 0.002923, Standard: 4, HighMem: 8, HighCPU: 1, Sizes: []int{2, 4, 8, 16, 32}},
	"n2":  {VCPUHour: 0.031611, GBHour: 0.004237, Standard: 4, HighMem: 8, HighCPU: 1, Sizes: []int{2, 4, 8, 16, 32, 48, 64, 80, 96, 128}},
	"n2d": {VCPUHour: 0.027502, GBHour: 0.003686, Standard: 4, HighMem: 8, HighCPU: 1, Sizes: []int{2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224}},
	"n1":  {VCPUHour: 0.031611, GBHour: 0.004237, Standard: 3.75, HighMem: 6.5, HighCPU: 0.9, Sizes: []int{1, 2, 4, 8, 16, 32, 64, 96}},
	"c3":  {VCPUHour: 0.033982, GBHour: 0.004555, Standard: 4, HighMem: 8, HighCPU: 2, Sizes: []int{4, 8, 22, 44, 88, 176}},
}

// Per GB-month disk prices.
var diskPrices = map[string]float64{
	"pd-standard": 0.04,
	"pd-balanced": 0.10,
	"pd-ssd":      0.17,
}

// MachineType is one predefined GCE machine type.
type MachineType struct {
	Name     string
	Family   string
	Shape    string // standard, highmem, highcpu
	VCPU     int
	MemoryGB float64
}

// HourlyUSD is the on-demand price per hour.
func (m MachineType) HourlyUSD() float64 {
	f := families[m.Family]
	return float64(m.VCPU)*f.VCPUHour + m.MemoryGB*f.GBHour
}

// MonthlyUSD is the on-demand price of a month (730 h).
func (m MachineType) MonthlyUSD() float64 { return m.HourlyUSD() * HoursPerMonth }

var machineTypeRE = regexp.MustCompile(`^([a-z][a-z0-9]*)-(standard|highmem|highcpu)-([0-9]+)$`)

// LookupMachineType parses and checks a predefined machine type name.
func LookupMachineType(name string) (MachineType, error) {
	m := machineTypeRE.FindStringSubmatch(name)
	if m == nil {
		return MachineType{}, fmt.Errorf("machine type %q is not FAMILY-SHAPE-VCPUS (e.g. n2-standard-4)", name)
	}
	fam, ok := families[m[1]]
	if !ok {
		return MachineType{}, fmt.Errorf("machine type %q: family %q is not in ferry's price table (known: %v)", name, m[1], FamilyNames())
	}
	vcpu, _ := strconv.Atoi(m[3])
	if !containsInt(fam.Sizes, vcpu) {
		return MachineType{}, fmt.Errorf("machine type %q: %s comes with %v vCPUs, not %d", name, m[1], fam.Sizes, vcpu)
	}
	mt := MachineType{Name: name, Family: m[1], Shape: m[2], VCPU: vcpu}
	switch m[2] {
	case "standard":
		mt.MemoryGB = fam.Standard * float64(vcpu)
	case "highmem":
		mt.MemoryGB = fam.HighMem * float64(vcpu)
	case "highcpu":
		mt.MemoryGB = fam.HighCPU * float64(vcpu)
	}
	return mt, nil
}

// MachineTypes lists every predefined type of a family.
func MachineTypes(family string) []MachineType {
	f, ok := families[family]
	if !ok {
		return nil
	}
	var out []MachineType
	for _, shape := range []string{"highcpu", "standard", "highmem"} {
		for _, n := range f.Sizes {
			if mt, err := LookupMachineType(fmt.Sprintf("%s-%s-%d", family, shape, n)); err == nil {
				out = append(out, mt)
			}
		}
	}
	return out
}

// FamilyNames lists the families in the price table.
func FamilyNames() []string {
	var out []string
	for k := range families {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DiskMonthlyUSD prices persistent disk per month; unknown types are priced
// as pd-balanced.
func DiskMonthlyUSD(diskType string, gb int64) float64 {
	p, ok := diskPrices[diskType]
	if !ok {
		p = diskPrices["pd-balanced"]
	}
	return p * float64(gb)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
