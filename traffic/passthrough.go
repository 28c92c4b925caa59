package traffic

import (
	"context"
	"errors"
	"fmt"
	"net"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"

	"github.com/ferrymigrate/ferry/plan"
)

// A passthrough Network LB (plan load_balancer "internal-tcp") forwards
// connections to its backends with no proxy: there is no URL map and no
// weight to shift, and a TCP connection cannot be split anyway. Its honest
// cutover is one step: the DNS record clients resolve moves from the
// datacenter addresses to the load balancer's address at once, and a
// rollback moves it back with one change (ToDatacenter). Clients follow
// within the record's TTL; open connections stay where they are.

var errOneStep = errors.New("a passthrough load balancer cannot split connections by weight: its cutover is one step, 0 or 100 % (plan load_balancer \"internal-tcp\")")

// RegionForwardingRules is the part of the regional forwarding rules client
// the passthrough strategy and the SLO gate read.
type RegionForwardingRules interface {
	Get(ctx context.Context, req *computepb.GetForwardingRuleRequest, opts ...gax.CallOption) (*computepb.ForwardingRule, error)
}

var _ RegionForwardingRules = (*compute.ForwardingRulesClient)(nil)

// NewPassthrough returns the one-step DNS strategy of an internal
// passthrough Network LB: the record holds the datacenter endpoints' hosts
// at 0 % and the app's forwarding rule's address at 100 %.
func NewPassthrough(api DNSAPI, rules RegionForwardingRules, cfg Config, project, region string, spec plan.AppSpec) (*DNS, error) {
	d, err := NewDNS(api, nil, cfg, project, spec)
	if err != nil {
		return nil, err
	}
	d.oneStep = true
	d.gcpAddrs = func(ctx context.Context) ([]string, error) {
		ip, err := ruleAddress(ctx, rules, project, region, ForwardingRuleName(spec.Name))
		if err != nil {
			return nil, err
		}
		return []string{ip}, nil
	}
	return d, nil
}

// ruleAddress reads a regional forwarding rule's IP address.
func ruleAddress(ctx context.Context, rules RegionForwardingRules, project, region, name string) (string, error) {
	object := fmt.Sprintf("forwarding rule %s (project %s, region %s)", name, project, region)
	fr, err := rules.Get(ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: region, ForwardingRule: name})
	if err != nil {
		return "", apiError("read the load balancer address", object, err)
	}
	ip := fr.GetIPAddress()
	if net.ParseIP(ip) == nil {
		return "", &Error{Op: "read the load balancer address", Object: object, Permanent: true,
			Err: fmt.Errorf("IPAddress %q is not an address; re-run the provision stage (terraform) for this app", ip)}
	}
	return ip, nil
}
