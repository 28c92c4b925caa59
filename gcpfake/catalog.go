package gcpfake

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// The fake serves the GCE catalogue ferry sizes from (plan/catalog) and
// refuses what GCE refuses, with GCE's error shapes: a create in an unknown
// zone or region, an instance of a machine type the zone does not sell, a
// boot disk from an image the public image projects do not publish.

var gce = catalog.Default()

// customTypeRE matches custom machine types, which GCE accepts in any
// zone of their family; ferry never sizes to them, but a plan may name one.
var customTypeRE = regexp.MustCompile(`^(?:(?:e2|n2|n2d|n1)-)?custom-(?:medium-|micro-|small-)?[0-9]+(?:-[0-9]+)?(?:-ext)?$`)

// checkScope refuses a create in a zone or region GCE does not have.
func checkScope(c *creq) *apiError {
	if z := c.scope.Zone; z != "" {
		if _, err := gce.RegionOf(z); err != nil {
			return errInvalid("Invalid value for field 'zone': '%s'. Unknown zone.", z)
		}
	}
	if r := c.scope.Region; r != "" {
		if err := gce.ValidateRegion(r); err != nil {
			return errInvalid("Invalid value for field 'region': '%s'. Unknown region.", r)
		}
	}
	return nil
}

// checkMachineType refuses an instance's machine type the zone does not
// sell. ref is the body's machineType (a URL, a zones/… path or a name).
func checkMachineType(zone, ref string) *apiError {
	name := lastSegment(ref)
	if customTypeRE.MatchString(name) {
		return nil
	}
	if p := splitPath(strings.TrimPrefix(ref, computeBase)); len(p) >= 4 {
		for i := 0; i+1 < len(p); i++ {
			if p[i] == "zones" && p[i+1] != zone {
				return errInvalid("Invalid value for field 'resource.machineType': '%s'. Machine type specified '%s' is in a different scope than the instance.", ref, name)
			}
		}
	}
	if err := gce.Validate(name, zone); err != nil {
		return errInvalid("Invalid value for field 'resource.machineType': '%s'. Machine type with name '%s' does not exist in zone '%s'.",
			shortRef(ref), name, zone)
	}
	return nil
}

// checkImage refuses a source image GCE does not publish; field names the
// request field, as GCE's message does.
func checkImage(field, ref string) *apiError {
	if ref == "" {
		return nil
	}
	if err := gce.ValidateImage(ref); err != nil {
		return errInvalid("Invalid value for field '%s': '%s'. The referenced image resource cannot be found.", field, shortRef(ref))
	}
	return nil
}

func shortRef(ref string) string { return strings.TrimPrefix(ref, computeBase) }

// catalogRead answers GETs of zones, regions and machine types from the
// catalogue; ok is false for other collections.
func (s *Server) catalogRead(c *creq) (any, *apiError, bool) {
	base := computeBase + "projects/" + c.project + "/"
	switch c.coll {
	case "zones":
		if c.name == "" {
			var items []any
			for _, z := range gce.Zones() {
				items = append(items, zoneJSON(base, z))
			}
			return map[string]any{"kind": "compute#zoneList", "id": "projects/" + c.project + "/zones", "items": items, "selfLink": base + "zones"}, nil, true
		}
		if _, err := gce.RegionOf(c.name); err != nil {
			return nil, errNotFound("projects/" + c.project + "/zones/" + c.name), true
		}
		return zoneJSON(base, c.name), nil, true
	case "regions":
		if c.name == "" {
			var items []any
			for _, r := range gce.RegionNames() {
				items = append(items, regionJSON(base, r))
			}
			return map[string]any{"kind": "compute#regionList", "id": "projects/" + c.project + "/regions", "items": items, "selfLink": base + "regions"}, nil, true
		}
		if gce.ValidateRegion(c.name) != nil {
			return nil, errNotFound("projects/" + c.project + "/regions/" + c.name), true
		}
		return regionJSON(base, c.name), nil, true
	case "machineTypes":
		zone := c.scope.Zone
		if _, err := gce.RegionOf(zone); err != nil {
			return nil, errInvalid("Invalid value for field 'zone': '%s'. Unknown zone.", zone), true
		}
		if c.name == "" {
			return map[string]any{"kind": "compute#machineTypeList", "id": "projects/" + c.project + "/zones/" + zone + "/machineTypes",
				"items": machineTypesJSON(base, zone), "selfLink": base + "zones/" + zone + "/machineTypes"}, nil, true
		}
		m, err := gce.Lookup(c.name)
		if err != nil {
			return nil, errNotFound("projects/" + c.project + "/zones/" + zone + "/machineTypes/" + c.name), true
		}
		return machineTypeJSON(base, zone, m), nil, true
	}
	return nil, nil, false
}

// aggregatedMachineTypes is machineTypes.aggregatedList: every zone's types.
func (s *Server) aggregatedMachineTypes(c *creq) any {
	base := computeBase + "projects/" + c.project + "/"
	items := map[string]any{}
	for _, z := range gce.Zones() {
		items["zones/"+z] = map[string]any{"machineTypes": machineTypesJSON(base, z)}
	}
	return map[string]any{"kind": "compute#machineTypeAggregatedList", "id": "projects/" + c.project + "/aggregated/machineTypes",
		"items": items, "selfLink": base + "aggregated/machineTypes"}
}

func zoneJSON(base, zone string) map[string]any {
	region, _ := gce.RegionOf(zone)
	return map[string]any{"kind": "compute#zone", "id": idString(4000 + uint64(len(zone))), "name": zone, "status": "UP",
		"description": zone, "region": base + "regions/" + region, "selfLink": base + "zones/" + zone, "availableCpuPlatforms": []any{}}
}

func regionJSON(base, region string) map[string]any {
	var zones []any
	for _, z := range gce.Regions[region].Zones {
		zones = append(zones, base+"zones/"+region+"-"+z)
	}
	return map[string]any{"kind": "compute#region", "id": idString(5000 + uint64(len(region))), "name": region, "status": "UP",
		"description": region, "zones": zones, "selfLink": base + "regions/" + region}
}

func machineTypesJSON(base, zone string) []any {
	var all []catalog.MachineType
	for _, f := range gce.FamilyNames() {
		all = append(all, gce.MachineTypes(f)...)
		for _, sc := range gce.Families[f].SharedCore {
			m, _ := gce.Lookup(sc.Name)
			all = append(all, m)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	out := make([]any, 0, len(all))
	for _, m := range all {
		out = append(out, machineTypeJSON(base, zone, m))
	}
	return out
}

func machineTypeJSON(base, zone string, m catalog.MachineType) map[string]any {
	desc := fmt.Sprintf("%d vCPUs %g GB RAM", m.VCPU, m.MemoryGB)
	if m.SharedCore {
		desc = fmt.Sprintf("Efficient Instance, %d vCPU (1/%d shared physical core) and %g GB RAM", m.VCPU, m.VCPU, m.MemoryGB)
	}
	var h uint64
	for _, r := range m.Name {
		h = h*31 + uint64(r)
	}
	return map[string]any{"kind": "compute#machineType", "id": idString(3000 + h%1000000), "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
		"name": m.Name, "description": desc, "guestCpus": m.VCPU, "memoryMb": int64(m.MemoryGB*1024 + 0.5), "imageSpaceGb": 0,
		"maximumPersistentDisks": 128, "maximumPersistentDisksSizeGb": "263168", "zone": zone,
		"selfLink": base + "zones/" + zone + "/machineTypes/" + m.Name, "isSharedCpu": m.SharedCore}
}
