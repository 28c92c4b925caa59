package gcpfake

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"sync"

	"cloud.google.com/go/billing/apiv1/billingpb"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// The Cloud Billing Catalog (cloudbilling.googleapis.com, served over gRPC
// by billing_grpc.go) sells what the GCE catalogue snapshot sells, worded
// as Google's SKUs are: per machine family and location an on-demand
// "… Instance Core running in …" (per vCPU-hour) and "… Instance Ram
// running in …" (per GiB-hour) at the snapshot's us-central1 price times
// the region's multiplier; persistent disk per GiB-month; the Windows
// Server licences (global); and, in Networking, the forwarding rules. Spot,
// commitment, custom and regional-disk SKUs are listed beside them, as the
// real service lists them, at the fake's own rough ratios: a reader must
// skip them, and a test notices if it does not.

// Billing service names, as ListServices lists them.
var billingServices = []*billingpb.Service{
	{Name: "services/24E6-581D-38E5", ServiceId: "24E6-581D-38E5", DisplayName: "BigQuery", BusinessEntityName: "businessEntities/GCP"},
	{Name: "services/6F81-5844-456A", ServiceId: "6F81-5844-456A", DisplayName: "Compute Engine", BusinessEntityName: "businessEntities/GCP"},
	{Name: "services/95FF-2EF5-5EA1", ServiceId: "95FF-2EF5-5EA1", DisplayName: "Cloud Storage", BusinessEntityName: "businessEntities/GCP"},
	{Name: "services/9662-B51E-5089", ServiceId: "9662-B51E-5089", DisplayName: "Cloud SQL", BusinessEntityName: "businessEntities/GCP"},
	{Name: "services/CCD8-9BF1-090E", ServiceId: "CCD8-9BF1-090E", DisplayName: "Kubernetes Engine", BusinessEntityName: "businessEntities/GCP"},
	{Name: "services/E505-1604-58F8", ServiceId: "E505-1604-58F8", DisplayName: "Networking", BusinessEntityName: "businessEntities/GCP"},
}

// skuPlaces names a region as SKU descriptions do: the location of the
// instance and disk SKUs (regions with one price share one SKU, as the
// three US regions at us-central1's price do) and the city of the
// networking SKUs.
var skuPlaces = map[string]struct{ location, city string }{
	"us-central1":     {"Americas", "Iowa"},
	"us-east1":        {"Americas", "South Carolina"},
	"us-west1":        {"Americas", "Oregon"},
	"us-east4":        {"Virginia", "Northern Virginia"},
	"europe-west1":    {"Belgium", "Belgium"},
	"europe-west2":    {"London", "London"},
	"europe-west3":    {"Frankfurt", "Frankfurt"},
	"europe-west4":    {"Netherlands", "Netherlands"},
	"asia-east1":      {"Taiwan", "Taiwan"},
	"asia-southeast1": {"Singapore", "Singapore"},
}

// Billing is the fake's Cloud Billing Catalog. Tests change prices with
// SetUnitPrice and add or remove SKUs; ListSkus serves what it holds.
type Billing struct {
	mu   sync.Mutex
	skus map[string][]*billingpb.Sku // service name -> SKUs in listing order
}

func newBilling() *Billing {
	b := &Billing{skus: map[string][]*billingpb.Sku{}}
	b.generate(gce)
	return b
}

// Billing returns the fake's Cloud Billing Catalog.
func (s *Server) Billing() *Billing { return s.billing }

// SKUs returns copies of the SKUs of service ("services/6F81-5844-456A").
func (b *Billing) SKUs(service string) []*billingpb.Sku {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*billingpb.Sku, len(b.skus[service]))
	for i, s := range b.skus[service] {
		out[i] = proto.CloneOf(s)
	}
	return out
}

// SetUnitPrice sets the on-demand price of the SKU of service with this
// description, as Google changing a list price would.
func (b *Billing) SetUnitPrice(service, description string, usd float64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.skus[service] {
		if s.GetDescription() == description {
			s.PricingInfo[0].PricingExpression.TieredRates[0].UnitPrice = usdMoney(usd)
			return nil
		}
	}
	return fmt.Errorf("gcpfake billing: %s has no SKU %q", service, description)
}

// RemoveSKU removes the SKU of service with this description, as Google
// retiring a SKU would; it reports whether there was one.
func (b *Billing) RemoveSKU(service, description string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range b.skus[service] {
		if s.GetDescription() == description {
			b.skus[service] = append(b.skus[service][:i:i], b.skus[service][i+1:]...)
			return true
		}
	}
	return false
}

// AddSKU appends a SKU to service's listing (ids and names are filled in
// when empty).
func (b *Billing) AddSKU(service string, s *billingpb.Sku) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.add(service, s)
}

func (b *Billing) add(service string, s *billingpb.Sku) {
	if s.SkuId == "" {
		s.SkuId = skuID(service, s.GetDescription(), s.GetServiceRegions(), len(b.skus[service]))
	}
	if s.Name == "" {
		s.Name = service + "/skus/" + s.SkuId
	}
	if s.ServiceProviderName == "" {
		s.ServiceProviderName = "Google"
	}
	b.skus[service] = append(b.skus[service], s)
}

// skuID is a stable id in Google's XXXX-XXXX-XXXX form.
func skuID(service, desc string, regions []string, n int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s|%d", service, desc, strings.Join(regions, ","), n)
	x := fmt.Sprintf("%012X", h.Sum64()&0xFFFFFFFFFFFF)
	return x[0:4] + "-" + x[4:8] + "-" + x[8:12]
}

// place is one SKU location: the regions one price covers.
type place struct {
	location string
	regions  []string
	mult     float64
}

// places groups the catalogue's regions by SKU location and price.
func places(c *catalog.Catalog) []place {
	byKey := map[string]*place{}
	for _, r := range c.RegionNames() {
		mult, _ := c.PriceMultiplier(r)
		loc := r
		if p, ok := skuPlaces[r]; ok {
			loc = p.location
		}
		k := fmt.Sprintf("%s|%g", loc, mult)
		if byKey[k] == nil {
			byKey[k] = &place{location: loc, mult: mult}
		}
		byKey[k].regions = append(byKey[k].regions, r)
	}
	var out []place
	for _, p := range byKey {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].regions[0] < out[j].regions[0] })
	return out
}

// generate fills the Compute Engine and Networking SKUs from c.
func (b *Billing) generate(c *catalog.Catalog) {
	const ce, net = catalog.ComputeEngineService, catalog.NetworkingService
	ps := places(c)
	for _, fam := range c.FamilyNames() {
		f := c.Families[fam]
		series := strings.ToUpper(f.Series)
		prefix, custom, coreGroup, ramGroup := series+" Instance", series+" Custom Instance", "CPU", "RAM"
		switch fam {
		case "n1":
			prefix, custom, coreGroup, ramGroup = "N1 Predefined Instance", "Custom Instance", "N1Standard", "N1Standard"
		case "n2d":
			prefix, custom = "N2D AMD Instance", "N2D AMD Custom Instance"
		}
		for _, p := range ps {
			core, ram := f.VCPUHourUSD*p.mult, f.GBHourUSD*p.mult
			in := " running in " + p.location
			b.add(ce, computeSKU(prefix+" Core"+in, coreGroup, "OnDemand", p.regions, core, perHour))
			b.add(ce, computeSKU(prefix+" Ram"+in, ramGroup, "OnDemand", p.regions, ram, perGiBHour))
			b.add(ce, computeSKU("Spot Preemptible "+prefix+" Core"+in, coreGroup, "Preemptible", p.regions, core*0.3, perHour))
			b.add(ce, computeSKU("Spot Preemptible "+prefix+" Ram"+in, ramGroup, "Preemptible", p.regions, ram*0.3, perGiBHour))
			b.add(ce, computeSKU(fmt.Sprintf("Commitment v1: %s Cpu in %s for 1 Year", series, p.location), "CPU", "Commit1Yr", p.regions, core*0.63, perHour))
			b.add(ce, computeSKU(fmt.Sprintf("Commitment v1: %s Ram in %s for 1 Year", series, p.location), "RAM", "Commit1Yr", p.regions, ram*0.63, perGiBHour))
			if _, ok := f.Shapes["standard"]; ok && fam != "c3" {
				b.add(ce, computeSKU(custom+" Core"+in, "CPU", "OnDemand", p.regions, core*1.05, perHour))
				b.add(ce, computeSKU(custom+" Ram"+in, "RAM", "OnDemand", p.regions, ram*1.05, perGiBHour))
			}
		}
	}
	diskSKUs := []struct{ typ, desc, group string }{
		{"pd-standard", "Storage PD Capacity", "PDStandard"},
		{"pd-balanced", "Balanced PD Capacity", "SSD"},
		{"pd-ssd", "SSD backed PD Capacity", "SSD"},
	}
	for _, p := range ps {
		for _, d := range diskSKUs {
			usd := c.Disks[d.typ] * p.mult
			b.add(ce, sku(d.desc+" in "+p.location, "Storage", d.group, "OnDemand", p.regions, usd, perGiBMonth))
			b.add(ce, sku("Regional "+d.desc+" in "+p.location, "Storage", d.group, "OnDemand", p.regions, usd*2, perGiBMonth))
		}
	}
	global := []string{"global"}
	for _, year := range []string{"2016", "2019", "2022", "2025"} {
		win := "Licensing Fee for Windows Server " + year + " Datacenter Edition"
		b.add(ce, sku(win+" (CPU cost)", "License", "Google", "OnDemand", global, c.WindowsServer.VCPUHourUSD, perHour))
		b.add(ce, sku(win+" (RAM cost)", "License", "Google", "OnDemand", global, 0, perGiBHour))
		b.add(ce, sku(win+" on f1-micro", "License", "Google", "OnDemand", global, c.WindowsServer.SharedCoreHourUSD, perHour))
		b.add(ce, sku(win+" on g1-small", "License", "Google", "OnDemand", global, c.WindowsServer.SharedCoreHourUSD, perHour))
		b.add(ce, sku("Licensing Fee for Windows Server "+year+" BYOL (CPU cost)", "License", "Google", "OnDemand", global, 0, perHour))
	}
	fr := c.ForwardingRules
	b.add(net, sku("Cloud Load Balancer Forwarding Rule Minimum Global", "Network", "LoadBalancing", "OnDemand", global, fr.FirstFiveHourUSD, perHour))
	b.add(net, sku("Cloud Load Balancer Forwarding Rule Additional Global", "Network", "LoadBalancing", "OnDemand", global, fr.AdditionalHourUSD, perHour))
	b.add(net, sku("Global External Application Load Balancer Inbound Data Processing", "Network", "LoadBalancing", "OnDemand", global, fr.DataProcessedGBUSD, perGiB))
	for _, r := range c.RegionNames() {
		city := r
		if p, ok := skuPlaces[r]; ok {
			city = p.city
		}
		for _, kind := range []struct {
			word string
			usd  float64
		}{{"Minimum", fr.FirstFiveHourUSD}, {"Additional", fr.AdditionalHourUSD}} {
			b.add(net, sku(fmt.Sprintf("Cloud Load Balancer Forwarding Rule %s for %s (%s)", kind.word, city, r), "Network", "LoadBalancing", "OnDemand", []string{r}, kind.usd, perHour))
		}
	}
}

// unit is a pricing expression's usage unit with its base unit.
type unit struct {
	usage, usageDesc, base, baseDesc string
	factor                           float64
}

var (
	perHour     = unit{"h", "hour", "s", "second", 3600}
	perGiBHour  = unit{"GiBy.h", "gibibyte hour", "By.s", "byte-second", 3600 * (1 << 30)}
	perGiBMonth = unit{"GiBy.mo", "gibibyte month", "By.s", "byte-second", 2592000 * (1 << 30)}
	perGiB      = unit{"GiBy", "gibibyte", "By", "byte", 1 << 30}
)

func computeSKU(desc, group, usage string, regions []string, usd float64, u unit) *billingpb.Sku {
	return sku(desc, "Compute", group, usage, regions, usd, u)
}

func sku(desc, family, group, usage string, regions []string, usd float64, u unit) *billingpb.Sku {
	geo := &billingpb.GeoTaxonomy{Type: billingpb.GeoTaxonomy_REGIONAL, Regions: regions}
	switch {
	case len(regions) == 1 && regions[0] == "global":
		geo = &billingpb.GeoTaxonomy{Type: billingpb.GeoTaxonomy_GLOBAL}
	case len(regions) > 1:
		geo.Type = billingpb.GeoTaxonomy_MULTI_REGIONAL
	}
	return &billingpb.Sku{
		Description: desc,
		Category: &billingpb.Category{ServiceDisplayName: serviceDisplayName(family), ResourceFamily: family,
			ResourceGroup: group, UsageType: usage},
		ServiceRegions: append([]string(nil), regions...),
		GeoTaxonomy:    geo,
		PricingInfo: []*billingpb.PricingInfo{{
			PricingExpression: &billingpb.PricingExpression{
				UsageUnit: u.usage, UsageUnitDescription: u.usageDesc, BaseUnit: u.base, BaseUnitDescription: u.baseDesc,
				BaseUnitConversionFactor: u.factor, DisplayQuantity: 1,
				TieredRates: []*billingpb.PricingExpression_TierRate{{StartUsageAmount: 0, UnitPrice: usdMoney(usd)}},
			},
			AggregationInfo: &billingpb.AggregationInfo{AggregationLevel: billingpb.AggregationInfo_ACCOUNT,
				AggregationInterval: billingpb.AggregationInfo_DAILY, AggregationCount: 1},
			CurrencyConversionRate: 1,
			EffectiveTime:          billingEffective,
		}},
	}
}

func serviceDisplayName(family string) string {
	if family == "Network" {
		return "Networking"
	}
	return "Compute Engine"
}

// usdMoney is a price as google.type.Money: whole units and nanos.
func usdMoney(usd float64) *money.Money {
	units := math.Floor(usd)
	nanos := math.Round((usd - units) * 1e9)
	if nanos >= 1e9 {
		units, nanos = units+1, 0
	}
	return &money.Money{CurrencyCode: "USD", Units: int64(units), Nanos: int32(nanos)}
}
