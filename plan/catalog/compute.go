package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
)

// MachineTypeLister is the part of the Compute API FromCompute uses.
type MachineTypeLister interface {
	AggregatedList(ctx context.Context, req *computepb.AggregatedListMachineTypesRequest, opts ...gax.CallOption) *compute.MachineTypesScopedListPairIterator
}

var _ MachineTypeLister = (*compute.MachineTypesClient)(nil)

// FromCompute returns the snapshot with the machine types each zone really
// offers, read with machineTypes.aggregatedList of project. Prices, images
// and regions stay the snapshot's. Zones the API lists that the snapshot
// does not know are added to their region (priced as us-central1 until the
// snapshot is updated).
func FromCompute(ctx context.Context, mt MachineTypeLister, project string) (*Catalog, error) {
	base := Default()
	c := *base
	c.Regions = map[string]Region{}
	for k, v := range base.Regions {
		v.Zones = append([]string(nil), v.Zones...)
		c.Regions[k] = v
	}
	c.ZoneTypes = map[string]map[string]MachineType{}
	it := mt.AggregatedList(ctx, &computepb.AggregatedListMachineTypesRequest{Project: project})
	n := 0
	for {
		pair, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read machine types of project %s (machineTypes.aggregatedList): %w; ferry falls back to the committed catalogue snapshot %s when this fails", project, err, base.AsOf)
		}
		zone := strings.TrimPrefix(pair.Key, "zones/")
		if zone == pair.Key || pair.Value == nil {
			continue
		}
		for _, m := range pair.Value.GetMachineTypes() {
			if m.GetDeprecated() != nil && m.GetDeprecated().GetState() != "" && m.GetDeprecated().GetState() != "ACTIVE" {
				continue
			}
			t := MachineType{Name: m.GetName(), VCPU: int(m.GetGuestCpus()), MemoryGB: float64(m.GetMemoryMb()) / 1024, SharedCore: m.GetIsSharedCpu()}
			if p := strings.SplitN(t.Name, "-", 3); len(p) >= 2 {
				t.Family, t.Shape = p[0], p[1]
			}
			if t.SharedCore {
				t.Shape = "shared"
			}
			if c.ZoneTypes[zone] == nil {
				c.ZoneTypes[zone] = map[string]MachineType{}
			}
			c.ZoneTypes[zone][t.Name] = t
			n++
		}
		if i := strings.LastIndex(zone, "-"); i > 0 {
			r := c.Regions[zone[:i]]
			if !containsStr(r.Zones, zone[i+1:]) {
				r.Zones = append(r.Zones, zone[i+1:])
				c.Regions[zone[:i]] = r
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("read machine types of project %s: machineTypes.aggregatedList returned none; check that the Compute API is enabled", project)
	}
	c.Origin = fmt.Sprintf("Compute API machineTypes.aggregatedList of %s (%d zones)", project, len(c.ZoneTypes))
	return &c, nil
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
