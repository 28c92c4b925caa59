package traffic

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// ForwardingRules is the part of the global forwarding rules client the
// SLO gate reads.
type ForwardingRules interface {
	Get(ctx context.Context, req *computepb.GetGlobalForwardingRuleRequest, opts ...gax.CallOption) (*computepb.ForwardingRule, error)
}

var _ ForwardingRules = (*compute.GlobalForwardingRulesClient)(nil)

// PublicURL is the URL users reach the app at: the plan's public_url, or,
// for the lb strategy without one, the address of the app's global
// forwarding rule — what the load balancer really answers on — with the
// health check path (a path both the datacenter and GCP serve), https on
// an external HTTPS LB. It is "" for the dns strategy without a
// public_url. Targets also resolves the internal kinds' regional rules.
func PublicURL(ctx context.Context, rules ForwardingRules, project string, spec plan.AppSpec) (string, error) {
	if u := spec.Cutover.PublicURL; u != "" {
		return u, nil
	}
	if spec.Cutover.Strategy != StrategyLB && spec.Cutover.Strategy != "" {
		return "", nil
	}
	name := ForwardingRuleName(spec.Name)
	object := fmt.Sprintf("forwarding rule %s (project %s)", name, project)
	fr, err := rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: project, ForwardingRule: name})
	if err != nil {
		return "", apiError("read the load balancer address", object, err)
	}
	ip := fr.GetIPAddress()
	if net.ParseIP(ip) == nil {
		return "", &Error{Op: "read the load balancer address", Object: object, Permanent: true,
			Err: fmt.Errorf("IPAddress %q is not an address; set cutover public_url in the plan", ip)}
	}
	return lbURL(spec, ip, strings.SplitN(fr.GetPortRange(), "-", 2)[0]), nil
}

// lbURL is the URL of the app at the load balancer's address: https on an
// external HTTPS LB, tcp://IP:PORT on a passthrough one, else http; the
// scheme's default port is left out; HTTP(S) gets the health check path.
func lbURL(spec plan.AppSpec, ip, port string) string {
	scheme, def := "http", "80"
	switch spec.Cutover.LoadBalancer() {
	case plan.LBExternalHTTPS:
		scheme, def = "https", "443"
	case plan.LBInternalTCP:
		if port == "" {
			port = strconv.Itoa(spec.Cutover.FrontendPort())
		}
		return "tcp://" + net.JoinHostPort(ip, port)
	}
	host := ip
	if port != "" && port != def {
		host = net.JoinHostPort(ip, port)
	} else if strings.Contains(ip, ":") {
		host = "[" + ip + "]"
	}
	path := "/"
	if hc := spec.Cutover.HealthCheck; !strings.EqualFold(hc.Protocol, "tcp") && hc.Path != "" {
		path = "/" + strings.TrimPrefix(hc.Path, "/")
	}
	return scheme + "://" + host + path
}

// regionalURL is PublicURL for the internal kinds: the address of the
// app's regional forwarding rule.
func regionalURL(ctx context.Context, rules RegionForwardingRules, project, region string, spec plan.AppSpec) (string, error) {
	ip, err := ruleAddress(ctx, rules, project, region, ForwardingRuleName(spec.Name))
	if err != nil {
		return "", err
	}
	return lbURL(spec, ip, strconv.Itoa(spec.Cutover.FrontendPort())), nil
}

// Targets are GateTargets with the public URL resolved by PublicURL: the
// SLO gate's targets for an app, read from GCP (g) when the plan names no
// public URL.
func Targets(ctx context.Context, g gcp.Config, spec plan.AppSpec, insts []Instance) ([]Target, error) {
	if k := spec.Cutover.LoadBalancer(); spec.Cutover.PublicURL == "" && (k == plan.LBInternalHTTP || k == plan.LBInternalTCP) {
		c, err := compute.NewForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		defer c.Close()
		project, region := spec.Project, spec.Region
		if project == "" {
			project = g.Project
		}
		if region == "" {
			region = g.Region
		}
		u, err := regionalURL(ctx, c, project, region, spec)
		if err != nil {
			return nil, err
		}
		spec.Cutover.PublicURL = u
	}
	if spec.Cutover.PublicURL == "" && (spec.Cutover.Strategy == StrategyLB || spec.Cutover.Strategy == "") {
		c, err := compute.NewGlobalForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		defer c.Close()
		project := spec.Project
		if project == "" {
			project = g.Project
		}
		u, err := PublicURL(ctx, c, project, spec)
		if err != nil {
			return nil, err
		}
		spec.Cutover.PublicURL = u
	}
	return GateTargets(spec, insts), nil
}
