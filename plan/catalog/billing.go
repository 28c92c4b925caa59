package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	billing "cloud.google.com/go/billing/apiv1"
	"cloud.google.com/go/billing/apiv1/billingpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
)

// The Cloud Billing Catalog services ferry reads. Their ids are stable and
// documented; ListServices finds them too, but costs a listing of every
// public service.
const (
	// ComputeEngineService sells vCPUs and memory per family and region,
	// persistent disk and the Windows Server licences.
	ComputeEngineService = "services/6F81-5844-456A"
	// NetworkingService sells Cloud Load Balancing's forwarding rules.
	NetworkingService = "services/E505-1604-58F8"
)

// SKULister is the part of the Cloud Billing Catalog API FromBilling uses.
type SKULister interface {
	ListSkus(ctx context.Context, req *billingpb.ListSkusRequest, opts ...gax.CallOption) *billing.SkuIterator
}

var _ SKULister = (*billing.CloudCatalogClient)(nil)

// Prices are the on-demand list prices read from the Cloud Billing Catalog
// API, in USD. A price it did not have is missing from its map (or zero)
// and the snapshot's is used instead.
type Prices struct {
	ReadAt time.Time
	// SKUs counts the SKUs read, of every kind.
	SKUs int
	// Core and RAM: family -> region -> USD per vCPU-hour and per
	// GiB-hour (GCE's "GB" of memory are GiB).
	Core, RAM map[string]map[string]float64
	// Disk: disk type -> region -> USD per GiB-month.
	Disk map[string]map[string]float64
	// Windows Server Datacenter Edition licence, global.
	WindowsVCPUHourUSD, WindowsSharedCoreHourUSD float64
	WindowsSKU                                   string // the SKU's description, for notes
	// Global forwarding rules (the first five of a project together, then
	// each further one).
	ForwardingRuleFirstFiveHourUSD, ForwardingRuleAdditionalHourUSD float64
	// Notes say what was not read and is priced from the snapshot.
	Notes []string
}

// onDemand SKU descriptions, as the Compute Engine service words them.
var (
	// "N2 Instance Core running in Belgium", "N2D AMD Instance Ram running
	// in Americas", "N1 Predefined Instance Core running in Virginia".
	// Spot, commitment, custom, sole-tenant and extended-memory SKUs do not
	// match.
	instanceSKURE = regexp.MustCompile(`^([A-Z][A-Z0-9]*)(?: AMD| Arm)?(?: Predefined)? Instance (Core|Ram) running in \S.*$`)
	// "Licensing Fee for Windows Server 2022 Datacenter Edition (CPU cost)"
	// and "… on f1-micro" / "… on g1-small" (the shared-core rate).
	windowsCPURE    = regexp.MustCompile(`^Licensing Fee for Windows Server (\d{4}) Datacenter Edition \(CPU cost\)$`)
	windowsSharedRE = regexp.MustCompile(`^Licensing Fee for Windows Server (\d{4}) Datacenter Edition on (?:f1-micro|g1-small)$`)
	// "Balanced PD Capacity in Frankfurt"; regional (replicated) disks
	// start with "Regional" and do not match.
	diskSKURE = regexp.MustCompile(`^(Storage PD Capacity|Balanced PD Capacity|SSD backed PD Capacity)(?: in \S.*)?$`)
	// "Cloud Load Balancer Forwarding Rule Minimum Global".
	forwardingRuleRE = regexp.MustCompile(`^Cloud Load Balancer Forwarding Rule (Minimum|Additional) Global$`)
)

var diskTypeOfSKU = map[string]string{
	"Storage PD Capacity":    "pd-standard",
	"Balanced PD Capacity":   "pd-balanced",
	"SSD backed PD Capacity": "pd-ssd",
}

// FromBilling returns base (nil: the snapshot) with the prices the Cloud
// Billing Catalog API lists: vCPU and memory per family and region,
// persistent disk per region, the Windows Server licence, and global
// forwarding rules. Whatever the API does not price (a family or region
// it has no SKU for, a service it refuses) keeps the snapshot's price and
// is named in Prices.Notes. It fails when the Compute Engine SKUs cannot
// be read or price none of the catalogue's families.
func FromBilling(ctx context.Context, cl SKULister, base *Catalog) (*Catalog, error) {
	if base == nil {
		base = Default()
	}
	p := &Prices{ReadAt: time.Now().UTC(),
		Core: map[string]map[string]float64{}, RAM: map[string]map[string]float64{}, Disk: map[string]map[string]float64{}}
	series := map[string]string{} // "N2D" -> "n2d"
	for name, f := range base.Families {
		series[strings.ToUpper(f.Series)] = name
	}
	winYear, winSharedYear := 0, 0
	err := listSKUs(ctx, cl, ComputeEngineService, func(s *billingpb.Sku) {
		p.SKUs++
		if s.GetCategory().GetUsageType() != "OnDemand" {
			return
		}
		usd, unit, ok := unitPriceUSD(s)
		if !ok {
			return
		}
		d := s.GetDescription()
		switch s.GetCategory().GetResourceFamily() {
		case "Compute":
			m := instanceSKURE.FindStringSubmatch(d)
			if m == nil {
				return
			}
			fam, ok := series[m[1]]
			if !ok {
				return
			}
			if m[2] == "Core" && unit == "h" {
				setRegional(p.Core, fam, s.GetServiceRegions(), usd)
			} else if m[2] == "Ram" && unit == "GiBy.h" {
				setRegional(p.RAM, fam, s.GetServiceRegions(), usd)
			}
		case "Storage":
			if m := diskSKURE.FindStringSubmatch(d); m != nil && unit == "GiBy.mo" {
				setRegional(p.Disk, diskTypeOfSKU[m[1]], s.GetServiceRegions(), usd)
			}
		case "License":
			if unit != "h" {
				return
			}
			if m := windowsCPURE.FindStringSubmatch(d); m != nil {
				if y, _ := strconv.Atoi(m[1]); y > winYear {
					winYear, p.WindowsVCPUHourUSD, p.WindowsSKU = y, usd, d
				}
			} else if m := windowsSharedRE.FindStringSubmatch(d); m != nil {
				if y, _ := strconv.Atoi(m[1]); y > winSharedYear {
					winSharedYear, p.WindowsSharedCoreHourUSD = y, usd
				}
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read Compute Engine prices from the Cloud Billing Catalog API (ListSkus %s): %w", ComputeEngineService, err)
	}
	var unpriced []string
	for _, fam := range base.FamilyNames() {
		if len(p.Core[fam]) == 0 || len(p.RAM[fam]) == 0 {
			unpriced = append(unpriced, fam)
		}
	}
	if len(unpriced) == len(base.Families) {
		return nil, fmt.Errorf("the Cloud Billing Catalog API listed %d Compute Engine SKUs but no on-demand vCPU and memory prices of the families %s", p.SKUs, strings.Join(base.FamilyNames(), ", "))
	}
	if len(unpriced) > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("no on-demand vCPU/memory SKUs for %s: priced from the snapshot %s", strings.Join(unpriced, ", "), base.AsOf))
	}
	if p.WindowsVCPUHourUSD == 0 {
		p.Notes = append(p.Notes, "no Windows Server Datacenter Edition licence SKU: the licence is priced from the snapshot "+base.AsOf)
	}
	err = listSKUs(ctx, cl, NetworkingService, func(s *billingpb.Sku) {
		p.SKUs++
		m := forwardingRuleRE.FindStringSubmatch(s.GetDescription())
		if m == nil || s.GetCategory().GetUsageType() != "OnDemand" {
			return
		}
		if usd, unit, ok := unitPriceUSD(s); ok && unit == "h" {
			if m[1] == "Minimum" {
				p.ForwardingRuleFirstFiveHourUSD = usd
			} else {
				p.ForwardingRuleAdditionalHourUSD = usd
			}
		}
	})
	switch {
	case err != nil:
		p.Notes = append(p.Notes, fmt.Sprintf("forwarding rules priced from the snapshot %s: ListSkus %s: %v", base.AsOf, NetworkingService, err))
	case p.ForwardingRuleFirstFiveHourUSD == 0:
		p.Notes = append(p.Notes, "no global forwarding rule SKU in Networking: forwarding rules priced from the snapshot "+base.AsOf)
	}
	c := *base
	c.Billing = p
	c.PriceSource = "Cloud Billing Catalog API " + p.ReadAt.Format(time.RFC3339)
	return &c, nil
}

// listSKUs calls each with every SKU of service, page by page.
func listSKUs(ctx context.Context, cl SKULister, service string, each func(*billingpb.Sku)) error {
	it := cl.ListSkus(ctx, &billingpb.ListSkusRequest{Parent: service, CurrencyCode: "USD"})
	for {
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		each(s)
	}
}

// unitPriceUSD is a SKU's current price per usage unit at the first tier
// (start 0): the newest pricingInfo, in USD.
func unitPriceUSD(s *billingpb.Sku) (usd float64, unit string, ok bool) {
	pi := s.GetPricingInfo()
	if len(pi) == 0 {
		return 0, "", false
	}
	latest := pi[0]
	for _, x := range pi[1:] {
		if x.GetEffectiveTime().AsTime().After(latest.GetEffectiveTime().AsTime()) {
			latest = x
		}
	}
	pe := latest.GetPricingExpression()
	for _, r := range pe.GetTieredRates() {
		if r.GetStartUsageAmount() != 0 {
			continue
		}
		m := r.GetUnitPrice()
		if m == nil || (m.GetCurrencyCode() != "" && m.GetCurrencyCode() != "USD") {
			return 0, "", false
		}
		return float64(m.GetUnits()) + float64(m.GetNanos())/1e9, pe.GetUsageUnit(), true
	}
	return 0, "", false
}

func setRegional(m map[string]map[string]float64, key string, regions []string, usd float64) {
	if m[key] == nil {
		m[key] = map[string]float64{}
	}
	for _, r := range regions {
		m[key][r] = usd
	}
}

// machine is the per vCPU-hour and GiB-hour price of family in region, when
// the API listed both.
func (p *Prices) machine(family, region string) (core, ram float64, ok bool) {
	if p == nil {
		return 0, 0, false
	}
	core, okc := p.Core[family][region]
	ram, okr := p.RAM[family][region]
	return core, ram, okc && okr
}

// region reports whether the API priced any family in region.
func (p *Prices) region(region string) bool {
	if p == nil {
		return false
	}
	for fam := range p.Core {
		if _, _, ok := p.machine(fam, region); ok {
			return true
		}
	}
	return false
}

// MachinePricedByAPI reports whether family in region is priced from the
// Cloud Billing Catalog API (false: from the snapshot).
func (c *Catalog) MachinePricedByAPI(family, region string) bool {
	_, _, ok := c.Billing.machine(family, region)
	return ok
}

// RegionPriced reports whether the catalogue has prices for region: the
// snapshot's multiplier or the API's SKUs. Unpriced regions are priced as
// us-central1.
func (c *Catalog) RegionPriced(region string) bool {
	_, ok := c.PriceMultiplier(region)
	return ok || c.Billing.region(region)
}
