package terraform

import (
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/ferrymigrate/ferry/terraform/gcename"
	"github.com/ferrymigrate/ferry/traffic"
)

// Initial weights of the URL map: everything to the datacenter. ferry's
// traffic shifts change them through the API afterwards; terraform ignores
// the route so it never fights a cutover in progress.
const (
	InitialDCWeight  = 100
	InitialGCPWeight = 0
)

// lb renders the instance groups, health check and GCP backend service
// (always), and for the lb strategy the hybrid NEG of DC endpoints, its
// backend service, the weighted URL map, proxy and forwarding rule.
func (r renderer) lb(b *hclwrite.Body) {
	hc := r.spec.Cutover.HealthCheck
	app := r.spec.Name
	zones := r.zones()
	for _, z := range sortedKeys(zones) {
		name := r.name("-" + z)
		ig := r.resource(b, "google_compute_instance_group", igLocal(z), r.zonal("instanceGroups", z, name))
		r.a.setStr(ig, "name", (name))
		r.a.setStr(ig, "zone", (z))
		r.a.setStr(ig, "description", ("Instances of " + app + " in " + z + " (managed by ferry)"))
		var members []hclwrite.Tokens
		for _, vm := range zones[z] {
			members = append(members, r.a.ref("google_compute_instance", vm, "self_link"))
		}
		r.a.attr(ig, "instances", r.a.tuple(members))
		np := r.a.open(ig, "named_port")
		r.a.setStr(np, "name", "http")
		r.a.setInt(np, "port", int64(hc.Port))
		r.a.close(ig)
		b.AppendNewline()
	}

	h := r.resource(b, "google_compute_health_check", "app", r.global("healthChecks", r.name("-hc")))
	r.a.setStr(h, "name", (r.name("-hc")))
	r.a.setInt(h, "check_interval_sec", (5))
	r.a.setInt(h, "timeout_sec", (5))
	if hc.Protocol == "tcp" {
		r.a.setInt(r.a.open(h, "tcp_health_check"), "port", int64(hc.Port))
		r.a.close(h)
	} else {
		hb := r.a.open(h, "http_health_check")
		r.a.setInt(hb, "port", int64(hc.Port))
		r.a.setStr(hb, "request_path", orStr(hc.Path, "/"))
		r.a.close(h)
	}
	b.AppendNewline()

	g := r.resource(b, "google_compute_backend_service", "gcp", r.global("backendServices", traffic.GCPBackendName(app)))
	r.a.setStr(g, "name", (traffic.GCPBackendName(app)))
	r.a.setStr(g, "protocol", ("HTTP"))
	r.a.setStr(g, "port_name", ("http"))
	r.a.setStr(g, "load_balancing_scheme", ("EXTERNAL_MANAGED"))
	r.a.setInt(g, "timeout_sec", (30))
	r.a.attr(g, "health_checks", r.a.tuple([]hclwrite.Tokens{r.a.ref("google_compute_health_check", "app", "id")}))
	for _, z := range sortedKeys(zones) {
		be := r.a.open(g, "backend")
		r.a.attr(be, "group", r.a.ref("google_compute_instance_group", igLocal(z), "id"))
		r.a.setStr(be, "balancing_mode", "UTILIZATION")
		r.a.attr(be, "capacity_scaler", r.a.intTokens(1))
		r.a.close(g)
	}
	if r.spec.Cutover.Strategy != "lb" {
		return // dns: the record set is swapped through the API, not terraform
	}
	b.AppendNewline()

	negZone := r.spec.Zone
	if negZone == "" {
		negZone = r.spec.VMs[0].Zone
	}
	neg := r.resource(b, "google_compute_network_endpoint_group", "dc", r.zonal("networkEndpointGroups", negZone, traffic.DCNEGName(app)))
	r.a.setStr(neg, "name", (traffic.DCNEGName(app)))
	r.a.setStr(neg, "network", (r.spec.Network))
	r.a.setStr(neg, "zone", (negZone))
	r.a.setStr(neg, "network_endpoint_type", ("NON_GCP_PRIVATE_IP_PORT"))
	r.a.setInt(neg, "default_port", (int64(hc.Port)))
	r.a.setStr(neg, "description", ("Endpoints of " + app + " in the datacenter, reached over hybrid connectivity"))
	for i, ep := range r.spec.Cutover.DCEndpoints {
		host, port, err := net.SplitHostPort(ep)
		pn, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			continue // Validate rejects these before rendering
		}
		b.AppendNewline()
		e := r.resource(b, "google_compute_network_endpoint", "dc-"+strconv.Itoa(i+1),
			r.zonal("networkEndpointGroups", negZone, traffic.DCNEGName(app))+"//"+host+"/"+port)
		r.a.attr(e, "network_endpoint_group", r.a.ref("google_compute_network_endpoint_group", "dc", "name"))
		r.a.setStr(e, "zone", (negZone))
		r.a.setStr(e, "ip_address", (host))
		r.a.setInt(e, "port", (int64(pn)))
	}
	b.AppendNewline()

	dc := r.resource(b, "google_compute_backend_service", "dc", r.global("backendServices", traffic.DCBackendName(app)))
	r.a.setStr(dc, "name", (traffic.DCBackendName(app)))
	r.a.setStr(dc, "protocol", ("HTTP"))
	r.a.setStr(dc, "load_balancing_scheme", ("EXTERNAL_MANAGED"))
	r.a.setInt(dc, "timeout_sec", (30))
	dcb := r.a.open(dc, "backend")
	r.a.attr(dcb, "group", r.a.ref("google_compute_network_endpoint_group", "dc", "id"))
	r.a.setStr(dcb, "balancing_mode", "RATE")
	r.a.setInt(dcb, "max_rate_per_endpoint", 1000)
	r.a.attr(dcb, "capacity_scaler", r.a.intTokens(1))
	r.a.close(dc)
	b.AppendNewline()

	um := r.resource(b, "google_compute_url_map", "app", r.global("urlMaps", traffic.URLMapName(app)))
	r.a.setStr(um, "name", (traffic.URLMapName(app)))
	r.a.setStr(um, "description", ("Traffic split of " + app + " between the datacenter and GCP; ferry shifts the weights"))
	ra := r.a.open(um, "default_route_action")
	for _, w := range []struct {
		local  string
		weight int64
	}{{"dc", InitialDCWeight}, {"gcp", InitialGCPWeight}} {
		wb := r.a.open(ra, "weighted_backend_services")
		r.a.attr(wb, "backend_service", r.a.ref("google_compute_backend_service", w.local, "id"))
		r.a.setInt(wb, "weight", w.weight)
		r.a.close(ra)
	}
	r.a.close(um)
	lc := r.a.open(um, "lifecycle")
	r.a.attr(lc, "ignore_changes", r.a.tuple([]hclwrite.Tokens{r.a.ref("default_route_action")}))
	r.a.close(um)
	b.AppendNewline()

	px := r.resource(b, "google_compute_target_http_proxy", "app", r.global("targetHttpProxies", r.name("-proxy")))
	r.a.setStr(px, "name", (r.name("-proxy")))
	r.a.attr(px, "url_map", r.a.ref("google_compute_url_map", "app", "id"))
	b.AppendNewline()

	fr := r.resource(b, "google_compute_global_forwarding_rule", "app", r.global("forwardingRules", r.name("-fr")))
	r.a.setStr(fr, "name", (r.name("-fr")))
	r.a.attr(fr, "target", r.a.ref("google_compute_target_http_proxy", "app", "id"))
	r.a.setStr(fr, "port_range", ("80"))
	r.a.setStr(fr, "load_balancing_scheme", ("EXTERNAL_MANAGED"))
	r.a.setMap(fr, "labels", r.labels(nil))
}

func igLocal(zone string) string { return "ig-" + gcename.Name(zone, nil) }

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r renderer) outputs(b *hclwrite.Body) {
	keys := make([]string, len(r.spec.VMs))
	vals := make([]hclwrite.Tokens, len(r.spec.VMs))
	for i, v := range r.spec.VMs {
		keys[i] = v.GCEName
		// google_compute_instance.NAME.network_interface[0].network_ip
		ip := append(r.a.ref("google_compute_instance", v.GCEName, "network_interface"), r.a.tuple([]hclwrite.Tokens{r.a.intTokens(0)})...)
		vals[i] = append(ip, r.a.tok(hclsyntax.TokenDot, bDot), r.a.tok(hclsyntax.TokenIdent, []byte("network_ip")))
	}
	o := b.AppendNewBlock("output", []string{"instance_ips"}).Body()
	r.a.setStr(o, "description", "Internal IP of each instance, by GCE name")
	r.a.attr(o, "value", r.a.objectTokens(keys, vals, true))
	b.AppendNewline()
	o = b.AppendNewBlock("output", []string{"gcp_backend_service"}).Body()
	r.a.attr(o, "value", r.a.ref("google_compute_backend_service", "gcp", "name"))
	if r.spec.Cutover.Strategy == "lb" {
		b.AppendNewline()
		o = b.AppendNewBlock("output", []string{"url_map"}).Body()
		r.a.attr(o, "value", r.a.ref("google_compute_url_map", "app", "name"))
		b.AppendNewline()
		o = b.AppendNewBlock("output", []string{"lb_ip"}).Body()
		r.a.attr(o, "value", r.a.ref("google_compute_global_forwarding_rule", "app", "ip_address"))
	}
}

// LabelKey sanitises a GCE label key: lowercase letters, digits, _ and -,
// starting with a letter, at most 63 characters.
func LabelKey(k string) string {
	s := labelChars(k)
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "k" + s
	}
	return trim63(s)
}

// LabelValue sanitises a GCE label value (may be empty).
func LabelValue(v string) string { return trim63(labelChars(v)) }

func labelChars(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func trim63(s string) string {
	if len(s) > 63 {
		return s[:63]
	}
	return s
}
