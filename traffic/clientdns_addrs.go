package traffic

import (
	"context"
	"fmt"
	"net"
	"net/http"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// RegionalForwardingRules is the part of the regional forwarding rules
// client (internal load balancers) client names read.
type RegionalForwardingRules interface {
	Get(ctx context.Context, req *computepb.GetForwardingRuleRequest, opts ...gax.CallOption) (*computepb.ForwardingRule, error)
}

var _ RegionalForwardingRules = (*compute.ForwardingRulesClient)(nil)

// Serving is where a client name points at cutover.
type Serving struct {
	Addresses []string `json:"addresses"`
	// Via says what the addresses are, e.g. "load balancer (forwarding
	// rule billing-fr)" or "front-end instances billing-1, billing-2".
	Via string `json:"via"`
}

// ServingSources are what ServingAddresses reads.
type ServingSources struct {
	Global   ForwardingRules
	Regional RegionalForwardingRules
	GCE      *GCE
}

// ServingAddresses returns the addresses that serve the app's clients: the
// load balancer's (its global forwarding rule, else its regional one, as
// an internal load balancer has) when the app has one, else only its
// front-end instances' (plan.AppSpec.FrontEnds) — never every VM's.
func ServingAddresses(ctx context.Context, src ServingSources, project string, spec plan.AppSpec) (Serving, error) {
	name := ForwardingRuleName(spec.Name)
	const op = "find the addresses that serve clients"
	fr, err := src.Global.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: project, ForwardingRule: name})
	if httpCode(err) == http.StatusNotFound && src.Regional != nil && spec.Region != "" {
		fr, err = src.Regional.Get(ctx, &computepb.GetForwardingRuleRequest{Project: project, Region: spec.Region, ForwardingRule: name})
	}
	switch {
	case err == nil:
		ip := fr.GetIPAddress()
		if net.ParseIP(ip) == nil {
			return Serving{}, &Error{Op: op, Object: "forwarding rule " + name, Permanent: true,
				Err: fmt.Errorf("IPAddress %q is not an address", ip)}
		}
		return Serving{Addresses: []string{ip}, Via: "load balancer (forwarding rule " + name + ")"}, nil
	case httpCode(err) != http.StatusNotFound:
		return Serving{}, apiError(op, "forwarding rule "+name, err)
	case spec.Cutover.Strategy == StrategyLB || spec.Cutover.Strategy == "":
		return Serving{}, &Error{Op: op, Object: "app " + spec.Name, Permanent: true,
			Err: fmt.Errorf("the app's load balancer has no forwarding rule %s (global, or in region %s): provision the app before its clients move", name, spec.Region)}
	}
	insts, err := src.GCE.List(ctx, spec)
	if err != nil {
		return Serving{}, err
	}
	var s Serving
	var names []string
	for _, in := range insts {
		if net.ParseIP(in.Address) == nil {
			return Serving{}, &Error{Op: op, Object: "instance " + in.Name, Permanent: true,
				Err: fmt.Errorf("no address to publish (got %q)", in.Address)}
		}
		s.Addresses = append(s.Addresses, in.Address)
		names = append(names, in.Name)
	}
	if len(s.Addresses) == 0 {
		return Serving{}, &Error{Op: op, Object: "app " + spec.Name, Permanent: true, Err: fmt.Errorf("the plan lists no VMs")}
	}
	s.Via = fmt.Sprintf("front-end instances %v", names)
	return s, nil
}

// ClientDNSClients are the API clients of client names, built from g.
type ClientDNSClients struct {
	DNS     ClientDNSAPI
	Serving ServingSources
	closers []func() error
}

// Close closes the clients.
func (c *ClientDNSClients) Close() error {
	var first error
	for _, f := range c.closers {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// NewClientDNSClients dials Cloud DNS and, when withServing, the compute
// clients ServingAddresses reads, with the endpoints of g.
func NewClientDNSClients(ctx context.Context, cfg Config, g gcp.Config, project, zone string, withServing bool) (*ClientDNSClients, error) {
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		return nil, fmt.Errorf("traffic: dns client: %w", err)
	}
	c := &ClientDNSClients{DNS: DNSService{svc}}
	if !withServing {
		return c, nil
	}
	gf, err := compute.NewGlobalForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		return nil, fmt.Errorf("traffic: compute client: %w", err)
	}
	c.closers = append(c.closers, gf.Close)
	rf, err := compute.NewForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("traffic: compute client: %w", err)
	}
	c.closers = append(c.closers, rf.Close)
	ic, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("traffic: compute client: %w", err)
	}
	c.closers = append(c.closers, ic.Close)
	c.Serving = ServingSources{Global: gf, Regional: rf, GCE: &GCE{Instances: ic, Project: project, Zone: zone, Address: cfg.InstanceAddress}}
	return c, nil
}
