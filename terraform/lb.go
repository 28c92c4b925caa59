package terraform

import (
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
)

// Initial weights of the URL map: everything to the datacenter. ferry's
// traffic shifts change them through the API afterwards; terraform ignores
// the route so it never fights a cutover in progress.
const (
	InitialDCWeight  = 100
	InitialGCPWeight = 0
)

// lb renders the instance groups, health check and GCP backend service
// (always), then the load balancer the plan names (lb_kinds.go): for the
// external HTTP(S) and internal HTTP kinds with the lb strategy, the hybrid
// NEG of DC endpoints, its backend service, the weighted URL map, proxy and
// forwarding rule; for internal-tcp, the passthrough forwarding rule.
func (r *renderer) lb(w *tw) {
	hc := r.spec.Cutover.HealthCheck
	app := r.spec.Name
	zones := r.zones()
	zoneNames := sortedKeys(zones)
	for _, z := range zoneNames {
		name := r.name("-" + z)
		r.resource(w, "google_compute_instance_group", igLocal(z), func() string { return r.zonal("instanceGroups", z, name) })
		w.str("name", name)
		w.str("zone", z)
		w.str("description", r.owned("Instances of "+app+" in "+z))
		w.key("instances")
		w.t(hclsyntax.TokenOBrack, bOBrack)
		for i, vm := range zones[z] {
			if i > 0 {
				w.t(hclsyntax.TokenComma, bComma)
			}
			w.trav("google_compute_instance", vm, "self_link")
		}
		w.t(hclsyntax.TokenCBrack, bCBrack)
		w.nl()
		w.block("named_port")
		w.str("name", "http")
		w.int("port", int64(hc.Port))
		w.end()
		w.end()
		w.nl()
	}
	if k := r.spec.Cutover.LoadBalancer(); k != plan.LBExternalHTTP && k != plan.LBExternalHTTPS {
		r.regionalLB(w, zoneNames)
		return
	}

	hcName := r.name("-hc")
	r.resource(w, "google_compute_health_check", "app", func() string { return r.global("healthChecks", hcName) })
	w.str("name", hcName)
	w.str("description", r.owned("Health of the instances of "+app))
	w.int("check_interval_sec", 5)
	w.int("timeout_sec", 5)
	r.healthCheckBlock(w)
	w.end()
	w.nl()

	gcpName := gcename.GCPBackend(app)
	r.resource(w, "google_compute_backend_service", "gcp", func() string { return r.global("backendServices", gcpName) })
	w.str("name", gcpName)
	w.str("description", r.owned("Instances of "+app+" on GCP"))
	w.str("protocol", "HTTP")
	w.str("port_name", "http")
	w.str("load_balancing_scheme", "EXTERNAL_MANAGED")
	w.int("timeout_sec", 30)
	w.refs("health_checks", "google_compute_health_check", "app", "id")
	for _, z := range zoneNames {
		w.block("backend")
		w.ref("group", "google_compute_instance_group", igLocal(z), "id")
		w.str("balancing_mode", "UTILIZATION")
		w.int("capacity_scaler", 1)
		w.end()
	}
	w.end()
	if r.spec.Cutover.Strategy != "lb" {
		return // dns: the record set is swapped through the API, not terraform
	}
	w.nl()

	r.dcNEG(w)

	dcName := gcename.DCBackend(app)
	r.resource(w, "google_compute_backend_service", "dc", func() string { return r.global("backendServices", dcName) })
	w.str("name", dcName)
	w.str("description", r.owned("Endpoints of "+app+" in the datacenter"))
	w.str("protocol", "HTTP")
	w.str("load_balancing_scheme", "EXTERNAL_MANAGED")
	w.int("timeout_sec", 30)
	w.block("backend")
	w.ref("group", "google_compute_network_endpoint_group", "dc", "id")
	w.str("balancing_mode", "RATE")
	w.int("max_rate_per_endpoint", 1000)
	w.int("capacity_scaler", 1)
	w.end()
	w.end()
	w.nl()

	umName := gcename.URLMap(app)
	r.resource(w, "google_compute_url_map", "app", func() string { return r.global("urlMaps", umName) })
	w.str("name", umName)
	r.weightedRoute(w, "google_compute_backend_service")
	w.nl()

	pxName := r.name("-proxy")
	if r.spec.Cutover.LoadBalancer() == plan.LBExternalHTTPS {
		r.httpsProxy(w, pxName)
	} else {
		r.resource(w, "google_compute_target_http_proxy", "app", func() string { return r.global("targetHttpProxies", pxName) })
		w.str("name", pxName)
		w.str("description", r.owned("HTTP proxy of "+app))
		w.ref("url_map", "google_compute_url_map", "app", "id")
		w.end()
	}
	w.nl()

	frName := r.name("-fr")
	r.resource(w, "google_compute_global_forwarding_rule", "app", func() string { return r.global("forwardingRules", frName) })
	w.str("name", frName)
	w.ref("target", r.proxyType(), "app", "id")
	w.str("port_range", strconv.Itoa(r.spec.Cutover.FrontendPort()))
	w.str("load_balancing_scheme", "EXTERNAL_MANAGED")
	r.labels(w, "", false)
	w.end()
}

// healthCheckBlock writes the tcp or http check of the plan's health check.
func (r *renderer) healthCheckBlock(w *tw) {
	hc := r.spec.Cutover.HealthCheck
	if hc.Protocol == "tcp" {
		w.block("tcp_health_check")
		w.int("port", int64(hc.Port))
		w.end()
	} else {
		w.block("http_health_check")
		w.int("port", int64(hc.Port))
		w.str("request_path", orStr(hc.Path, "/"))
		w.end()
	}
}

// dcNEG writes the hybrid NEG of the app's datacenter endpoints.
func (r *renderer) dcNEG(w *tw) {
	app := r.spec.Name
	negZone := r.spec.Zone
	if negZone == "" {
		negZone = r.spec.VMs[0].Zone
	}
	negName := gcename.DCNEG(app)
	r.resource(w, "google_compute_network_endpoint_group", "dc", func() string { return r.zonal("networkEndpointGroups", negZone, negName) })
	w.str("name", negName)
	w.str("network", r.spec.Network)
	w.str("zone", negZone)
	w.str("network_endpoint_type", "NON_GCP_PRIVATE_IP_PORT")
	w.int("default_port", int64(r.spec.Cutover.HealthCheck.Port))
	w.str("description", r.owned("Endpoints of "+app+" in the datacenter, reached over hybrid connectivity"))
	w.end()
	for i, ep := range r.spec.Cutover.DCEndpoints {
		host, port, err := net.SplitHostPort(ep)
		pn, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			continue // Validate rejects these before rendering
		}
		w.nl()
		r.resource(w, "google_compute_network_endpoint", "dc-"+strconv.Itoa(i+1), func() string {
			return r.zonal("networkEndpointGroups", negZone, negName) + "//" + host + "/" + port
		})
		w.ref("network_endpoint_group", "google_compute_network_endpoint_group", "dc", "name")
		w.str("zone", negZone)
		w.str("ip_address", host)
		w.int("port", int64(pn))
		w.end()
	}
	w.nl()
}

// weightedRoute writes the URL map's body after its name: the default
// route's weighted backend services (100 % datacenter), ignored by
// terraform afterwards.
func (r *renderer) weightedRoute(w *tw, bsType string) {
	w.str("description", r.owned("Traffic split of "+r.spec.Name+" between the datacenter and GCP; ferry shifts the weights"))
	w.block("default_route_action")
	for _, wb := range [...]struct {
		local  string
		weight int64
	}{{"dc", InitialDCWeight}, {"gcp", InitialGCPWeight}} {
		w.block("weighted_backend_services")
		w.ref("backend_service", bsType, wb.local, "id")
		w.int("weight", wb.weight)
		w.end()
	}
	w.end()
	w.block("lifecycle")
	w.refs("ignore_changes", "default_route_action")
	w.end()
	w.end()
}

func igLocal(zone string) string { return "ig-" + gceName(zone) }

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r *renderer) outputs(w *tw) {
	w.block("output", "instance_ips")
	w.str("description", "Internal IP of each instance, by GCE name")
	w.object("value", len(r.spec.VMs))
	for i := range r.spec.VMs {
		v := &r.spec.VMs[i]
		// "NAME" = google_compute_instance.NAME.network_interface[0].network_ip
		w.entryKey(v.GCEName, true)
		w.trav("google_compute_instance", v.GCEName, "network_interface")
		w.t(hclsyntax.TokenOBrack, bOBrack)
		w.num(0)
		w.t(hclsyntax.TokenCBrack, bCBrack)
		w.t(hclsyntax.TokenDot, bDot)
		w.ident("network_ip")
		w.nl()
	}
	w.closeObject()
	w.end()
	w.nl()
	w.block("output", "gcp_backend_service")
	bsType := "google_compute_backend_service"
	if r.frType() == "google_compute_forwarding_rule" {
		bsType = "google_compute_region_backend_service"
	}
	w.ref("value", bsType, "gcp", "name")
	w.end()
	if um := r.urlMapType(); um != "" {
		w.nl()
		w.block("output", "url_map")
		w.ref("value", um, "app", "name")
		w.end()
	}
	if r.spec.Cutover.Strategy == "lb" || r.spec.Cutover.LoadBalancer() == plan.LBInternalTCP {
		w.nl()
		w.block("output", "lb_ip")
		w.ref("value", r.frType(), "app", "ip_address")
		w.end()
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
