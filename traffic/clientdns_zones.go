package traffic

import (
	"context"
	"fmt"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// ReadDNSZones reads the Cloud DNS managed zones of each project, for
// plan.Plan.DNSZones: with them, validating a plan checks that each
// client_dns zone exists and holds its name.
//
//	p.DNSZones, err = traffic.ReadDNSZones(ctx, g, plan.ClientDNSProjects(p))
func ReadDNSZones(ctx context.Context, g gcp.Config, projects []string) (map[string][]plan.DNSZone, error) {
	if len(projects) == 0 {
		return nil, nil
	}
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		return nil, fmt.Errorf("traffic: dns client: %w", err)
	}
	out := map[string][]plan.DNSZone{}
	for _, p := range projects {
		zones := []plan.DNSZone{}
		err := svc.ManagedZones.List(p).Pages(ctx, func(r *dns.ManagedZonesListResponse) error {
			for _, z := range r.ManagedZones {
				zones = append(zones, plan.DNSZone{Name: z.Name, DNSName: z.DnsName})
			}
			return nil
		})
		if err != nil {
			return nil, apiError("list managed zones", "project "+p, err)
		}
		out[p] = zones
	}
	return out, nil
}
