package devstack

// The dev plan puts two apps behind the load balancers an external HTTP
// one cannot stand for: ledger-service behind a regional internal
// Application LB (weighted steps on its region URL map, in the proxy-only
// subnet the dev stack creates), and message-queue behind an internal
// passthrough Network LB (a one-step DNS cutover of its record in the dev
// stack's internal zone, one DNS change to roll back). The HTTPS app is
// in https.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
)

// The dev plan's apps of each internal load balancer, and what they need.
const (
	DevInternalHTTPApp = "ledger-service"
	DevInternalTCPApp  = "message-queue"
	// DevInternalZone is the Cloud DNS managed zone of the passthrough
	// app's record.
	DevInternalZone    = "ferry-dev-internal"
	DevInternalDNSName = "internal.ferry.example."
)

// DevProxyOnlySubnet is the proxy-only subnet the dev stack creates in
// region for the internal Application LB.
func DevProxyOnlySubnet(region string) string { return "proxy-only-" + region }

// DevLoadBalancers sets the load balancers of DevInternalHTTPApp and
// DevInternalTCPApp in the dev plan (apps the portfolio lacks are left
// alone).
func DevLoadBalancers(src []byte) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "ferry.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("dev plan: %s", diags.Error())
	}
	body := f.Body()
	region := ""
	if g := body.FirstMatchingBlock("gcp", nil); g != nil {
		region = attrString(g.Body(), "region")
	}
	for _, app := range body.Blocks() {
		if app.Type() != "app" || len(app.Labels()) != 1 {
			continue
		}
		name := app.Labels()[0]
		if name != DevInternalHTTPApp && name != DevInternalTCPApp {
			continue
		}
		c := app.Body().FirstMatchingBlock("cutover", nil)
		if c == nil {
			c = app.Body().AppendNewBlock("cutover", nil)
		}
		cb := c.Body()
		switch name {
		case DevInternalHTTPApp:
			if region == "" {
				continue
			}
			cb.SetAttributeValue("load_balancer", cty.StringVal(plan.LBInternalHTTP))
			cb.SetAttributeValue("proxy_only_subnet", cty.StringVal(DevProxyOnlySubnet(region)))
		case DevInternalTCPApp:
			cb.SetAttributeValue("load_balancer", cty.StringVal(plan.LBInternalTCP))
			// No weights on a passthrough LB: one DNS step.
			cb.SetAttributeValue("strategy", cty.StringVal("dns"))
			cb.SetAttributeValue("steps", cty.ListVal([]cty.Value{cty.NumberIntVal(100)}))
			if hc := cb.FirstMatchingBlock("health_check", nil); hc != nil {
				hc.Body().SetAttributeValue("protocol", cty.StringVal("tcp"))
				hc.Body().RemoveAttribute("path")
			}
			d := cb.AppendNewBlock("dns", nil).Body()
			d.SetAttributeValue("managed_zone", cty.StringVal(DevInternalZone))
			d.SetAttributeValue("name", cty.StringVal(DevInternalTCPApp+"."+DevInternalDNSName))
			d.SetAttributeValue("ttl", cty.NumberIntVal(30))
		}
	}
	return f.Bytes(), nil
}

// serveLoadBalancers creates in the fake what the dev plan's internal load
// balancers need and a platform team creates once per network and region:
// the proxy-only subnet of the default network, and the internal zone.
// Both survive a restart of the fake (StateDir); existing ones are kept.
func serveLoadBalancers(ctx context.Context, fake *gcpfake.Server, specs []plan.AppSpec) error {
	for _, s := range specs {
		switch s.Cutover.LoadBalancer() {
		case plan.LBInternalHTTP:
			err := devPost(ctx, fake.ComputeEndpoint()+"projects/"+s.Project+"/regions/"+s.Region+"/subnetworks", map[string]any{
				"name": s.Cutover.LB.ProxyOnlySubnet, "network": networkRef(s.Network),
				"ipCidrRange": "10.129.0.0/23", "purpose": "REGIONAL_MANAGED_PROXY", "role": "ACTIVE"})
			if err != nil {
				return fmt.Errorf("dev proxy-only subnet for %s: %w", s.Name, err)
			}
		case plan.LBInternalTCP:
			if s.Cutover.DNS.ManagedZone != DevInternalZone {
				continue
			}
			err := devPost(ctx, fake.DNSEndpoint()+"projects/"+s.Project+"/managedZones", map[string]any{
				"name": DevInternalZone, "dnsName": DevInternalDNSName, "description": "ferry dev: internal names", "visibility": "private"})
			if err != nil {
				return fmt.Errorf("dev DNS zone for %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

// devPost creates one resource in the fake; one that exists (409) is kept.
func devPost(ctx context.Context, url string, body map[string]any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
}

func networkRef(n string) string {
	if strings.Contains(n, "/") {
		return n
	}
	return "global/networks/" + n
}
