package plan

import (
	"sort"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Prices and machine types come from the GCE catalogue (plan/catalog): a
// committed snapshot of what GCP sells, with its sources and date, the
// machine types the Compute API lists per zone and the list prices of the
// Cloud Billing Catalog API when credentials allow (Plan.Catalog; the
// functions below without a catalogue use the snapshot).
// The estimate is on-demand, without sustained-use or committed-use
// discounts: evidence for a reviewer, not a bill.
var (
	PricesSource = catalog.Default().Sources["prices"]
	PricesAsOf   = catalog.Default().AsOf
)

// diskPrices is USD per GB-month in us-central1 by disk type; its keys
// are the disk types a plan may name.
var diskPrices = catalog.Default().Disks

// HoursPerMonth is the month GCP's pricing calculator uses.
const HoursPerMonth = catalog.HoursPerMonth

// DefaultPriceRegion prices machine types when the region is not known.
const DefaultPriceRegion = "us-central1"

// MachineType is one predefined GCE machine type.
type MachineType struct {
	Name       string
	Family     string
	Shape      string // standard, highmem, highcpu, shared
	VCPU       int
	MemoryGB   float64
	SharedCore bool
}

func fromCatalog(m catalog.MachineType) MachineType {
	return MachineType{Name: m.Name, Family: m.Family, Shape: m.Shape, VCPU: m.VCPU, MemoryGB: m.MemoryGB, SharedCore: m.SharedCore}
}

func (m MachineType) toCatalog() catalog.MachineType {
	return catalog.MachineType{Name: m.Name, Family: m.Family, Shape: m.Shape, VCPU: m.VCPU, MemoryGB: m.MemoryGB, SharedCore: m.SharedCore}
}

// HourlyUSD is the on-demand price per hour in us-central1.
func (m MachineType) HourlyUSD() float64 { return m.HourlyUSDIn(DefaultPriceRegion) }

// HourlyUSDIn is the on-demand price per hour in a region (a region the
// catalogue has no prices for is priced as us-central1).
func (m MachineType) HourlyUSDIn(region string) float64 {
	return catalog.Default().HourlyUSD(m.toCatalog(), region)
}

// MonthlyUSD is the on-demand price of a month (730 h) in us-central1.
func (m MachineType) MonthlyUSD() float64 { return m.HourlyUSD() * HoursPerMonth }

// MonthlyUSDIn is the on-demand price of a month in a region.
func (m MachineType) MonthlyUSDIn(region string) float64 {
	return m.HourlyUSDIn(region) * HoursPerMonth
}

// WindowsMonthlyUSD is the Windows Server licence GCE charges for a month
// of this machine type (per vCPU; a flat rate on shared-core types).
func (m MachineType) WindowsMonthlyUSD() float64 {
	return catalog.Default().WindowsHourlyUSD(m.toCatalog()) * HoursPerMonth
}

// LookupMachineType parses and checks a predefined machine type name
// against the catalogue: a shape GCP does not sell (e2-highmem-32,
// n2-highcpu-128) is refused with the nearest real ones.
func LookupMachineType(name string) (MachineType, error) {
	m, err := catalog.Default().Lookup(name)
	if err != nil {
		return MachineType{}, err
	}
	return fromCatalog(m), nil
}

// ValidateMachineType checks that GCE sells machineType in zone (see
// catalog.Validate): what plan validation calls for every VM.
func ValidateMachineType(machineType, zone string) error { return catalog.Validate(machineType, zone) }

// MachineTypes lists every predefined type of a family.
func MachineTypes(family string) []MachineType {
	var out []MachineType
	for _, m := range catalog.Default().MachineTypes(family) {
		out = append(out, fromCatalog(m))
	}
	return out
}

// FamilyNames lists the families of the catalogue.
func FamilyNames() []string { return catalog.Default().FamilyNames() }

// DiskMonthlyUSD prices persistent disk per month in us-central1; unknown
// types are priced as pd-balanced.
func DiskMonthlyUSD(diskType string, gb int64) float64 {
	return DiskMonthlyUSDIn(diskType, DefaultPriceRegion, gb)
}

// DiskMonthlyUSDIn prices persistent disk per month in a region.
func DiskMonthlyUSDIn(diskType, region string, gb int64) float64 {
	return catalog.Default().DiskMonthlyUSD(diskType, region, gb)
}

// ForwardingRulesMonthlyUSD is the month of n forwarding rules of one
// project and region (an lb cutover adds one per app): Cloud Load
// Balancing charges the first five together, each further one apart.
func ForwardingRulesMonthlyUSD(n int) float64 {
	return catalog.Default().ForwardingRulesHourlyUSD(n) * HoursPerMonth
}

// VMEstimate is a VM's monthly estimate, itemised.
type VMEstimate struct {
	Machine, Windows, Disks, Total float64
	Region                         string
	RegionPriced                   bool   // false: the catalogue has no prices for Region; us-central1's were used
	Family                         string // the machine type's family ("" when unknown)
}

// EstimateVM prices one VM for a month in region at the snapshot's
// prices: machine type, Windows Server licence when guestFamily is
// windowsGuest, and its disks. An unknown machine type counts 0
// (validation reports it).
func EstimateVM(machineType, region, guestFamily, diskType string, disksGB ...int64) VMEstimate {
	return EstimateVMWith(nil, machineType, region, guestFamily, diskType, disksGB...)
}

// EstimateVMWith is EstimateVM at the prices of cat (nil: the snapshot),
// e.g. the Cloud Billing Catalog API's (catalog.FromBilling).
func EstimateVMWith(cat *catalog.Catalog, machineType, region, guestFamily, diskType string, disksGB ...int64) VMEstimate {
	if cat == nil {
		cat = catalog.Default()
	}
	e := VMEstimate{Region: region, RegionPriced: cat.RegionPriced(region)}
	if mt, err := cat.Lookup(machineType); err == nil {
		e.Machine = cat.HourlyUSD(mt, region) * HoursPerMonth
		e.Family = mt.Family
		if guestFamily == "windowsGuest" {
			e.Windows = cat.WindowsHourlyUSD(mt) * HoursPerMonth
		}
	}
	for _, gb := range disksGB {
		e.Disks += cat.DiskMonthlyUSD(diskType, region, gb)
	}
	e.Total = catalog.Round2(e.Machine + e.Windows + e.Disks)
	return e
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Estimate is a plan's monthly cost, itemised, with where its prices come
// from: what plan validate prints.
type Estimate struct {
	Machines, Windows, Disks, ForwardingRules, Total float64
	// LoadBalanced counts the apps whose lb cutover adds a forwarding rule.
	LoadBalanced int
	Regions      []string // the regions priced
	Unpriced     []string // regions the catalogue has no prices for (priced as us-central1)
	// Source says where the prices come from: the catalogue snapshot's
	// date and pricing page, or the Cloud Billing Catalog API's read time.
	Source string
	// FromSnapshot lists, when the prices came from the Cloud Billing
	// Catalog API, the families and regions it had no price for, which
	// the snapshot priced ("n4 in europe-west1").
	FromSnapshot []string
}

// EstimatePlan prices every VM of specs in the region of its zone (Windows
// Server licences where the guest is Windows) and the forwarding rules of
// lb cutovers, counted per project and region since Cloud Load Balancing
// charges the first five of a project and region together, at the
// snapshot's prices.
func EstimatePlan(specs []AppSpec) Estimate { return EstimatePlanWith(specs, nil) }

// EstimatePlanWith is EstimatePlan at the prices of cat (nil: the
// snapshot), e.g. the plan's Catalog with the Cloud Billing Catalog API's
// prices.
func EstimatePlanWith(specs []AppSpec, cat *catalog.Catalog) Estimate {
	if cat == nil {
		cat = catalog.Default()
	}
	e := Estimate{Source: cat.Source()}
	regions := map[string]bool{}
	fallback := map[string]bool{}
	rules := map[string]int{} // project/region -> lb apps
	for _, s := range specs {
		for _, v := range s.VMs {
			ve := estimateVM(cat, v, s.Region)
			e.Machines += ve.Machine
			e.Windows += ve.Windows
			e.Disks += ve.Disks
			regions[ve.Region] = true
			if cat.Billing != nil && ve.Family != "" && !cat.MachinePricedByAPI(ve.Family, ve.Region) {
				fallback[ve.Family+" in "+ve.Region] = true
			}
		}
		if s.Cutover.Strategy == "lb" {
			e.LoadBalanced++
			rules[s.Project+"/"+s.Region]++
		}
	}
	for _, n := range rules {
		e.ForwardingRules += cat.ForwardingRulesHourlyUSD(n) * HoursPerMonth
	}
	for r := range regions {
		e.Regions = append(e.Regions, r)
		if !cat.RegionPriced(r) {
			e.Unpriced = append(e.Unpriced, r)
		}
	}
	for k := range fallback {
		e.FromSnapshot = append(e.FromSnapshot, k)
	}
	sort.Strings(e.Regions)
	sort.Strings(e.Unpriced)
	sort.Strings(e.FromSnapshot)
	e.Machines, e.Windows, e.Disks = catalog.Round2(e.Machines), catalog.Round2(e.Windows), catalog.Round2(e.Disks)
	e.ForwardingRules = catalog.Round2(e.ForwardingRules)
	e.Total = catalog.Round2(e.Machines + e.Windows + e.Disks + e.ForwardingRules)
	return e
}
