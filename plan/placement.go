package plan

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// Placement and shape checks against the GCE catalogue: the region and
// zones the plan names exist, and every VM's machine type is one GCE sells
// (in its zone, when the catalogue came from the Compute API). They run at
// plan validate, so a shape GCE refuses never reaches terraform apply (the
// google provider does not look machine types up at plan time).

// fromAPI reports whether the catalogue lists what zones really offer;
// the snapshot's region list is not exhaustive, so an unknown region or
// zone is only a warning with it.
func fromAPI(cat *catalog.Catalog) bool { return cat.ZoneTypes != nil }

// checkShape checks one VM's machine type in its zone. An unknown zone is
// checkPlacement's to report: the type is then checked by name only.
func checkShape(cat *catalog.Catalog, machineType, zone string) error {
	err := cat.Validate(machineType, zone)
	if catalog.KindOf(err) == catalog.KindUnknownZone {
		_, err = cat.Lookup(machineType)
	}
	return err
}

// checkPlacement reports the plan's region and every zone it uses once,
// at the first place it is written.
func checkPlacement(p *Plan, specs []AppSpec, confByName map[string]*AppConf) hcl.Diagnostics {
	cfg := p.Config
	if cfg == nil || cfg.body == nil {
		return nil
	}
	cat := p.catalog()
	sev := hcl.DiagWarning
	if fromAPI(cat) {
		sev = hcl.DiagError
	}
	var diags hcl.Diagnostics
	gcpBlock := firstBlock(cfg.body, "gcp")
	if p.GCP.Region != "" {
		if err := cat.ValidateRegion(p.GCP.Region); err != nil {
			diags = append(diags, diagAt(sev, rangeOf(cfg.body, []string{"gcp"}, "region"), "Unknown region",
				fmt.Sprintf("%v. %s", err, unknownPlaceHint(cat))))
		}
	}
	seen := map[string]bool{}
	check := func(zone string, r *hcl.Range) {
		if zone == "" || seen[zone] {
			return
		}
		seen[zone] = true
		if _, err := cat.RegionOf(zone); err != nil {
			s := sev
			if region, _, ok := cutZone(zone); ok && cat.ValidateRegion(region) == nil {
				s = hcl.DiagError // the region is known: its zones are too
			}
			diags = append(diags, diagAt(s, r, "Unknown zone", fmt.Sprintf("%v. %s", err, unknownPlaceHint(cat))))
		}
	}
	for i, z := range p.GCP.Zones {
		var r *hcl.Range
		if gcpBlock != nil {
			r = itemRange(gcpBlock.Body, "zones", i)
		}
		check(z, r)
	}
	for _, s := range specs {
		c := confByName[s.Name]
		if c != nil && c.block != nil && c.Zone != "" {
			check(c.Zone, rangeOf(c.block.Body, nil, "zone"))
		}
		for _, v := range s.VMs {
			if c == nil || c.block == nil {
				continue
			}
			for _, b := range blocksOf(c.block.Body, "vm") {
				if len(b.Labels) > 0 && b.Labels[0] == v.Name && slices.ContainsFunc(c.VMs, func(o *vmConf) bool { return o.Name == v.Name && o.Zone != "" }) {
					check(v.Zone, rangeOf(b.Body, nil, "zone"))
				}
			}
		}
	}
	return diags
}

func unknownPlaceHint(cat *catalog.Catalog) string {
	if fromAPI(cat) {
		return fmt.Sprintf("The Compute API (%s) does not list it: use one of its regions and zones.", cat.Origin)
	}
	return fmt.Sprintf("The GCE catalogue snapshot (%s) does not list it, so machine types there are checked by name only and priced as us-central1; check the name (gcloud compute zones list), or validate with --machine-types api.", cat.AsOf)
}

func cutZone(zone string) (region, letter string, ok bool) {
	for i := len(zone) - 1; i > 0; i-- {
		if zone[i] == '-' {
			return zone[:i], zone[i+1:], true
		}
	}
	return "", "", false
}
