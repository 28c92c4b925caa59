// Package catalog is the Compute Engine catalogue as GCP sells it: machine
// families and their valid predefined shapes, regions and zones, public
// image families, and the prices ferry estimates with (per region, Windows
// Server licences, forwarding rules, persistent disk). A committed snapshot
// (gce-catalog.json, with its sources and date) works offline; FromCompute
// overlays the machine types each zone really offers, read with
// machineTypes.aggregatedList when credentials allow, and FromBilling the
// prices the Cloud Billing Catalog API lists.
//
// It is a leaf package: plan sizes and validates with it, gcpfake refuses
// what it refuses.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed gce-catalog.json
var snapshot []byte

// Shapes in the order sizing tries them (cheapest memory ratio first).
var shapeOrder = []string{"highcpu", "standard", "highmem"}

// Catalog is one view of the GCE catalogue.
type Catalog struct {
	Schema     string            `json:"schema"`
	AsOf       string            `json:"asOf"`
	Sources    map[string]string `json:"sources"`
	Provenance string            `json:"provenance"`
	Families   map[string]Family `json:"families"`
	Regions    map[string]Region `json:"regions"`
	// Disks is USD per GB-month in us-central1, by disk type.
	Disks           map[string]float64  `json:"disks"`
	WindowsServer   WindowsPrice        `json:"windowsServer"`
	ForwardingRules ForwardingRulePrice `json:"forwardingRules"`
	// Images lists the public image families per image project.
	Images map[string][]string `json:"images"`

	// ZoneTypes, when set (FromCompute), is what each zone really offers:
	// zone -> machine type name -> shape. It wins over the snapshot's
	// family tables for validation.
	ZoneTypes map[string]map[string]MachineType `json:"-"`
	// Origin says where the machine types came from, for sizing notes.
	Origin string `json:"-"`
	// Billing, when set (FromBilling), holds the prices the Cloud Billing
	// Catalog API lists; they win over the snapshot's where they exist.
	Billing *Prices `json:"-"`
	// PriceSource says where the prices came from: "snapshot DATE" or
	// "Cloud Billing Catalog API TIME".
	PriceSource string `json:"-"`
}

// Family is one machine series with its on-demand us-central1 prices.
type Family struct {
	Series            string           `json:"series"`
	VCPUHourUSD       float64          `json:"vcpuHourUSD"`
	GBHourUSD         float64          `json:"gbHourUSD"`
	PricesApproximate bool             `json:"pricesApproximate,omitempty"`
	Shapes            map[string]Shape `json:"shapes"`
	SharedCore        []SharedCoreType `json:"sharedCore,omitempty"`
}

// Shape is one predefined shape (standard, highmem, highcpu) of a family.
type Shape struct {
	MemGBPerVCPU float64 `json:"memGBPerVCPU"`
	VCPUs        []int   `json:"vcpus"`
	// MemoryGBOverride holds sizes whose memory is not the ratio times
	// the vCPUs (n2-highmem-128 has 864 GB, not 1024).
	MemoryGBOverride map[string]float64 `json:"memoryGBOverride,omitempty"`
}

// SharedCoreType is a shared-core (bursting) type such as e2-small.
type SharedCoreType struct {
	Name           string  `json:"name"`
	VCPU           int     `json:"vcpu"`
	MemoryGB       float64 `json:"memoryGB"`
	FractionalVCPU float64 `json:"fractionalVCPU"`
}

// Region is one GCP region ferry knows prices for.
type Region struct {
	Zones           []string `json:"zones"` // suffixes: "b" for europe-west1-b
	PriceMultiplier float64  `json:"priceMultiplier"`
}

// WindowsPrice is the Windows Server licence charge.
type WindowsPrice struct {
	VCPUHourUSD       float64 `json:"vcpuHourUSD"`
	SharedCoreHourUSD float64 `json:"sharedCoreHourUSD"`
}

// ForwardingRulePrice is Cloud Load Balancing's forwarding rule charge.
type ForwardingRulePrice struct {
	FirstFiveHourUSD   float64 `json:"firstFiveHourUSD"`
	AdditionalHourUSD  float64 `json:"additionalHourUSD"`
	DataProcessedGBUSD float64 `json:"dataProcessedGBUSD"`
}

// MachineType is one machine type GCE sells.
type MachineType struct {
	Name       string  `json:"name"`
	Family     string  `json:"family"`
	Shape      string  `json:"shape"` // standard, highmem, highcpu, shared
	VCPU       int     `json:"vcpu"`
	MemoryGB   float64 `json:"memoryGB"`
	SharedCore bool    `json:"sharedCore,omitempty"`
}

// HoursPerMonth is the month GCP's calculator uses.
const HoursPerMonth = 730

var (
	defOnce sync.Once
	def     *Catalog
	defErr  error
)

// Default is the committed snapshot. It panics only if the embedded file is
// broken, which the package's tests catch.
func Default() *Catalog {
	defOnce.Do(func() { def, defErr = Parse(snapshot) })
	if defErr != nil {
		panic(defErr)
	}
	return def
}

// Parse reads a catalogue in the snapshot's format.
func Parse(b []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("GCE catalogue: %w", err)
	}
	if c.Schema != "ferry.gce-catalog/v1" {
		return nil, fmt.Errorf("GCE catalogue: schema %q is not ferry.gce-catalog/v1", c.Schema)
	}
	for name, f := range c.Families {
		if f.VCPUHourUSD <= 0 || f.GBHourUSD <= 0 || len(f.Shapes) == 0 {
			return nil, fmt.Errorf("GCE catalogue: family %q has no prices or shapes", name)
		}
	}
	c.Origin = "snapshot " + c.AsOf
	c.PriceSource = "snapshot " + c.AsOf
	return &c, nil
}

// Source is a one-line citation of where the prices come from, for notes
// and summaries: the snapshot's date and pricing page, or the Cloud
// Billing Catalog API's read time with the snapshot behind it.
func (c *Catalog) Source() string {
	if c.Billing != nil {
		return fmt.Sprintf("%s (%d SKUs; the GCE catalogue %s for what it does not price)", c.PriceSource, c.Billing.SKUs, c.AsOf)
	}
	return fmt.Sprintf("GCE catalogue %s (%s)", c.AsOf, c.Sources["prices"])
}

// Lookup parses and checks a machine type name against the catalogue's
// family tables (not against a zone; see Validate).
func (c *Catalog) Lookup(name string) (MachineType, error) {
	for fam, f := range c.Families {
		for _, s := range f.SharedCore {
			if s.Name == name {
				return MachineType{Name: name, Family: fam, Shape: "shared", VCPU: s.VCPU, MemoryGB: s.MemoryGB, SharedCore: true}, nil
			}
		}
	}
	if strings.HasPrefix(name, "custom-") || strings.Contains(name, "-custom-") {
		return MachineType{}, &Error{Kind: KindUnknownMachineType, Name: name,
			Msg: fmt.Sprintf("machine type %q is a custom machine type: ferry sizes to predefined types only; pick one of the families %s", name, strings.Join(c.FamilyNames(), ", "))}
	}
	parts := strings.Split(name, "-")
	if len(parts) != 3 {
		return MachineType{}, &Error{Kind: KindUnknownMachineType, Name: name,
			Msg: fmt.Sprintf("machine type %q is not FAMILY-SHAPE-VCPUS (e.g. n2-standard-4)", name)}
	}
	fam, shape := parts[0], parts[1]
	f, ok := c.Families[fam]
	if !ok {
		return MachineType{}, &Error{Kind: KindUnknownMachineType, Name: name,
			Msg: fmt.Sprintf("machine type %q: family %q is not in the GCE catalogue (%s; known: %s)", name, fam, c.AsOf, strings.Join(c.FamilyNames(), ", "))}
	}
	sh, ok := f.Shapes[shape]
	if !ok {
		return MachineType{}, &Error{Kind: KindUnknownMachineType, Name: name,
			Msg: fmt.Sprintf("machine type %q: %s has no %q shape (it has %s)", name, fam, shape, strings.Join(sortedKeys(f.Shapes), ", "))}
	}
	vcpu, err := strconv.Atoi(parts[2])
	if err != nil || !slices.Contains(sh.VCPUs, vcpu) {
		return MachineType{}, &Error{Kind: KindUnknownMachineType, Name: name,
			Msg: fmt.Sprintf("machine type %q does not exist: GCE sells %s-%s with %s vCPUs%s", name, fam, shape, ints(sh.VCPUs), c.nearest(fam, shape, vcpu))}
	}
	mem := sh.MemGBPerVCPU * float64(vcpu)
	if o, ok := sh.MemoryGBOverride[strconv.Itoa(vcpu)]; ok {
		mem = o
	}
	return MachineType{Name: name, Family: fam, Shape: shape, VCPU: vcpu, MemoryGB: mem}, nil
}

// nearest suggests the closest real shape for a refused vCPU count.
func (c *Catalog) nearest(fam, shape string, vcpu int) string {
	sh := c.Families[fam].Shapes[shape]
	var below, above int
	for _, n := range sh.VCPUs {
		if n < vcpu {
			below = n
		} else if n > vcpu && above == 0 {
			above = n
		}
	}
	var s []string
	if below > 0 {
		s = append(s, fmt.Sprintf("%s-%s-%d", fam, shape, below))
	}
	if above > 0 {
		s = append(s, fmt.Sprintf("%s-%s-%d", fam, shape, above))
	}
	// A larger family with the same shape, e.g. e2-highmem-32 -> n2-highmem-32.
	for _, other := range []string{"n2", "n2d"} {
		if other != fam {
			if o, ok := c.Families[other].Shapes[shape]; ok && slices.Contains(o.VCPUs, vcpu) {
				s = append(s, fmt.Sprintf("%s-%s-%d", other, shape, vcpu))
				break
			}
		}
	}
	if len(s) == 0 {
		return ""
	}
	return "; nearest: " + strings.Join(s, " or ")
}

// MachineTypes lists every predefined (not shared-core) type of a family,
// highcpu first, then standard, then highmem, each by vCPUs.
func (c *Catalog) MachineTypes(family string) []MachineType {
	f, ok := c.Families[family]
	if !ok {
		return nil
	}
	var out []MachineType
	for _, shape := range shapeOrder {
		sh, ok := f.Shapes[shape]
		if !ok {
			continue
		}
		for _, n := range sh.VCPUs {
			if mt, err := c.Lookup(fmt.Sprintf("%s-%s-%d", family, shape, n)); err == nil {
				out = append(out, mt)
			}
		}
	}
	return out
}

// FamilyNames lists the catalogue's families, sorted.
func (c *Catalog) FamilyNames() []string { return sortedKeys(c.Families) }

// RegionOf returns the region of a zone ("europe-west1-b" -> "europe-west1")
// when the catalogue knows the zone.
func (c *Catalog) RegionOf(zone string) (string, error) {
	i := strings.LastIndex(zone, "-")
	if i <= 0 {
		return "", &Error{Kind: KindUnknownZone, Name: zone, Msg: fmt.Sprintf("zone %q is not REGION-LETTER (e.g. europe-west1-b)", zone)}
	}
	region, suffix := zone[:i], zone[i+1:]
	r, ok := c.Regions[region]
	if !ok {
		return "", &Error{Kind: KindUnknownZone, Name: zone, Msg: fmt.Sprintf("zone %q: region %q is not in the GCE catalogue (known: %s)", zone, region, strings.Join(c.RegionNames(), ", "))}
	}
	if !slices.Contains(r.Zones, suffix) {
		var zs []string
		for _, z := range r.Zones {
			zs = append(zs, region+"-"+z)
		}
		return "", &Error{Kind: KindUnknownZone, Name: zone, Msg: fmt.Sprintf("zone %q does not exist: %s has zones %s", zone, region, strings.Join(zs, ", "))}
	}
	return region, nil
}

// ValidateRegion checks a region name.
func (c *Catalog) ValidateRegion(region string) error {
	if _, ok := c.Regions[region]; !ok {
		return &Error{Kind: KindUnknownRegion, Name: region, Msg: fmt.Sprintf("region %q is not in the GCE catalogue (known: %s)", region, strings.Join(c.RegionNames(), ", "))}
	}
	return nil
}

// RegionNames lists the catalogue's regions, sorted.
func (c *Catalog) RegionNames() []string { return sortedKeys(c.Regions) }

// Zones lists every zone of the catalogue, sorted.
func (c *Catalog) Zones() []string {
	var out []string
	for r, reg := range c.Regions {
		for _, z := range reg.Zones {
			out = append(out, r+"-"+z)
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks that GCE sells machineType in zone: the zone exists, the
// type is a real predefined or shared-core type, and (when the catalogue
// was read from the Compute API) the zone offers it. The error says what
// to use instead.
func (c *Catalog) Validate(machineType, zone string) error {
	if _, err := c.RegionOf(zone); err != nil {
		return err
	}
	if zt, ok := c.ZoneTypes[zone]; ok {
		if _, ok := zt[machineType]; ok {
			return nil
		}
		if _, err := c.Lookup(machineType); err != nil {
			return err
		}
		return &Error{Kind: KindNotInZone, Name: machineType,
			Msg: fmt.Sprintf("machine type %q is not offered in zone %s (machineTypes.aggregatedList, %s): pick another zone of the region or another family", machineType, zone, c.Origin)}
	}
	_, err := c.Lookup(machineType)
	return err
}

// Validate checks machineType and zone against the committed snapshot.
func Validate(machineType, zone string) error { return Default().Validate(machineType, zone) }

// ValidateImage checks a boot image reference. Images of the public image
// projects must belong to a family the catalogue lists; images in any
// other project (your own, imported by Migrate to VMs) are not checked.
func (c *Catalog) ValidateImage(image string) error {
	project, name, ok := splitImage(image)
	if !ok {
		return &Error{Kind: KindUnknownImage, Name: image, Msg: fmt.Sprintf("image %q is not PROJECT/NAME, PROJECT/family/FAMILY or projects/PROJECT/global/images/NAME", image)}
	}
	fams, public := c.Images[project]
	if !public {
		return nil
	}
	name = strings.TrimPrefix(name, "family/")
	for _, f := range fams {
		if name == f || strings.HasPrefix(name, stem(f)+"-") {
			return nil
		}
	}
	return &Error{Kind: KindUnknownImage, Name: image,
		Msg: fmt.Sprintf("image %q: %s has no image family for %q (families: %s); end-of-life releases are no longer published", image, project, name, strings.Join(fams, ", "))}
}

// stem is the part of a family every image name of it starts with:
// ubuntu-2204-lts -> ubuntu-2204 (images are ubuntu-2204-jammy-v2025…).
func stem(family string) string {
	for _, suf := range []string{"-amd64", "-arm64", "-lts"} {
		family = strings.TrimSuffix(family, suf)
	}
	return family
}

func splitImage(image string) (project, name string, ok bool) {
	s := image
	if i := strings.Index(s, "/projects/"); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "projects/") {
		p := strings.Split(s, "/")
		// projects/P/global/images/NAME or projects/P/global/images/family/F
		if len(p) >= 5 && p[2] == "global" && p[3] == "images" {
			return p[1], strings.Join(p[4:], "/"), p[4] != ""
		}
		return "", "", false
	}
	p := strings.SplitN(s, "/", 2)
	if len(p) != 2 || p[0] == "" || p[1] == "" {
		return "", "", false
	}
	return p[0], p[1], true
}

// HourlyUSD is the on-demand price of a machine type in a region: its
// vCPUs times the family's vCPU-hour plus its memory times the GB-hour
// (a shared-core type pays for its fraction of a vCPU), at the Cloud
// Billing Catalog API's prices for the family and region when it has them,
// else at the snapshot's (an unknown region is priced as us-central1 and
// says so through RegionPriced).
func (c *Catalog) HourlyUSD(mt MachineType, region string) float64 {
	f := c.Families[mt.Family]
	vcpu := float64(mt.VCPU)
	if mt.SharedCore {
		for _, s := range f.SharedCore {
			if s.Name == mt.Name {
				vcpu = s.FractionalVCPU
			}
		}
	}
	if core, ram, ok := c.Billing.machine(mt.Family, region); ok {
		return vcpu*core + mt.MemoryGB*ram
	}
	mult, _ := c.PriceMultiplier(region)
	return (vcpu*f.VCPUHourUSD + mt.MemoryGB*f.GBHourUSD) * mult
}

// PriceMultiplier is the region's price over us-central1; ok is false for
// a region the catalogue has no prices for (then 1).
func (c *Catalog) PriceMultiplier(region string) (float64, bool) {
	r, ok := c.Regions[region]
	if !ok || r.PriceMultiplier <= 0 {
		return 1, false
	}
	return r.PriceMultiplier, true
}

// WindowsHourlyUSD is the Windows Server licence of a machine type.
func (c *Catalog) WindowsHourlyUSD(mt MachineType) float64 {
	w := c.WindowsServer
	if b := c.Billing; b != nil {
		if b.WindowsVCPUHourUSD > 0 {
			w.VCPUHourUSD = b.WindowsVCPUHourUSD
		}
		if b.WindowsSharedCoreHourUSD > 0 {
			w.SharedCoreHourUSD = b.WindowsSharedCoreHourUSD
		}
	}
	if mt.SharedCore {
		return w.SharedCoreHourUSD
	}
	return float64(mt.VCPU) * w.VCPUHourUSD
}

// ForwardingRulesHourlyUSD is the charge of n forwarding rules in one
// project and region (the first five cost one flat price together).
func (c *Catalog) ForwardingRulesHourlyUSD(n int) float64 {
	if n <= 0 {
		return 0
	}
	first, more := c.ForwardingRules.FirstFiveHourUSD, c.ForwardingRules.AdditionalHourUSD
	if b := c.Billing; b != nil && b.ForwardingRuleFirstFiveHourUSD > 0 {
		first = b.ForwardingRuleFirstFiveHourUSD
		if b.ForwardingRuleAdditionalHourUSD > 0 {
			more = b.ForwardingRuleAdditionalHourUSD
		}
	}
	return first + float64(max(n-5, 0))*more
}

// DiskMonthlyUSD prices persistent disk per month in a region; unknown
// disk types are priced as pd-balanced.
func (c *Catalog) DiskMonthlyUSD(diskType, region string, gb int64) float64 {
	p, ok := c.Disks[diskType]
	if !ok {
		diskType, p = "pd-balanced", c.Disks["pd-balanced"]
	}
	if b := c.Billing; b != nil {
		if api, ok := b.Disk[diskType][region]; ok {
			return api * float64(gb)
		}
	}
	mult, _ := c.PriceMultiplier(region)
	return p * float64(gb) * mult
}

// Round2 rounds a price to cents.
func Round2(x float64) float64 { return math.Round(x*100) / 100 }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
