package terraform

import (
	"maps"
	"net"
	"slices"
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

// lb renders the instance groups, then the load balancer the plan names,
// global for the external kinds and in the app's region for the internal
// ones (lbPart): the health check and GCP backend service (always); for
// the kinds with the lb strategy, the hybrid NEG of DC endpoints, its
// backend service, the weighted URL map, proxy and forwarding rule; for
// internal-tcp, the passthrough forwarding rule (lb_kinds.go).
func (r *renderer) lb(w *tw) {
	zones := r.zones()
	zoneNames := slices.Sorted(maps.Keys(zones))
	r.instanceGroups(w, zones, zoneNames)
	r.healthCheck(w)
	if r.internal() {
		r.clientsFirewall(w)
	}
	r.gcpBackend(w, zoneNames)
	switch {
	case r.spec.Cutover.LoadBalancer() == plan.LBInternalTCP:
		w.nl()
		r.internalRule(w)
		return
	case r.spec.Cutover.Strategy != "lb":
		return // dns: the record set is swapped through the API, not terraform
	}
	w.nl()
	r.split(w)
}

// instanceGroups writes one unmanaged instance group per zone of the app's
// front ends.
func (r *renderer) instanceGroups(w *tw, zones map[string][]string, zoneNames []string) {
	for _, z := range zoneNames {
		name := r.name("-" + z)
		r.resource(w, "google_compute_instance_group", igLocal(z), func() string { return r.zonal("instanceGroups", z, name) })
		w.str("name", name)
		w.str("zone", z)
		w.str("description", r.owned("Instances of "+r.spec.Name+" in "+z))
		w.key("instances")
		w.p(hclsyntax.TokenOBrack)
		for i, vm := range zones[z] {
			if i > 0 {
				w.p(hclsyntax.TokenComma)
			}
			w.trav("google_compute_instance", vm, "self_link")
		}
		w.p(hclsyntax.TokenCBrack)
		w.nl()
		w.block("named_port")
		w.str("name", r.portName())
		w.int("port", int64(r.spec.Cutover.HealthCheck.Port))
		w.end()
		w.end()
		w.nl()
	}
}

// healthCheck writes the tcp, http or https check of the plan's health
// check.
func (r *renderer) healthCheck(w *tw) {
	hc := r.spec.Cutover.HealthCheck
	r.open(w, partHealthCheck, "app", r.name("-hc"))
	w.str("description", r.owned("Health of the instances of "+r.spec.Name))
	w.int("check_interval_sec", 5)
	w.int("timeout_sec", 5)
	switch hc.Protocol {
	case "tcp":
		w.block("tcp_health_check")
		w.int("port", int64(hc.Port))
		w.end()
	case "https":
		// GCP's https checks do not verify the certificate: a VM's own
		// (self-signed, for its old name) certificate passes.
		w.block("https_health_check")
		w.int("port", int64(hc.Port))
		w.str("request_path", orStr(hc.Path, "/"))
		w.end()
	default:
		w.block("http_health_check")
		w.int("port", int64(hc.Port))
		w.str("request_path", orStr(hc.Path, "/"))
		w.end()
	}
	w.end()
	w.nl()
}

// portName is the instance groups' named port, which a proxy's backend
// service names in port_name: "https" when the load balancer speaks TLS to
// the instances, else "http" (as before https backends existed, so those
// modules render unchanged).
func (r *renderer) portName() string {
	if r.spec.Cutover.BackendProtocol() == "HTTPS" {
		return "https"
	}
	return "http"
}

// gcpBackend writes the backend service over the instance groups: by
// connection for the passthrough kind, by utilisation behind a proxy.
func (r *renderer) gcpBackend(w *tw, zoneNames []string) {
	passthrough := r.spec.Cutover.LoadBalancer() == plan.LBInternalTCP
	r.open(w, partBackend, "gcp", gcename.GCPBackend(r.spec.Name))
	w.str("description", r.owned("Instances of "+r.spec.Name+" on GCP"))
	if passthrough {
		w.str("protocol", "TCP")
		w.str("load_balancing_scheme", "INTERNAL")
	} else {
		// HTTPS when the VMs serve TLS themselves: GCP's proxies do not
		// verify backend certificates, so the VMs keep theirs.
		w.str("protocol", r.spec.Cutover.BackendProtocol())
		w.str("port_name", r.portName())
		w.str("load_balancing_scheme", r.scheme())
		w.int("timeout_sec", 30)
	}
	w.refs("health_checks", r.typeOf(partHealthCheck), "app", "id")
	for _, z := range zoneNames {
		w.block("backend")
		w.ref("group", "google_compute_instance_group", igLocal(z), "id")
		if passthrough {
			w.str("balancing_mode", "CONNECTION")
		} else {
			w.str("balancing_mode", "UTILIZATION")
			w.int("capacity_scaler", 1)
		}
		w.end()
	}
	w.end()
}

// split writes what splits traffic by weight (the lb strategy): the hybrid
// NEG of the datacenter endpoints and its backend service, the URL map,
// the proxy and the forwarding rule.
func (r *renderer) split(w *tw) {
	app := r.spec.Name
	kind := r.spec.Cutover.LoadBalancer()
	if kind == plan.LBInternalHTTP {
		r.proxyOnlySubnet(w)
	}
	r.dcNEG(w)
	r.open(w, partBackend, "dc", gcename.DCBackend(app))
	w.str("description", r.owned("Endpoints of "+app+" in the datacenter"))
	// The same protocol as the GCP side: the datacenter endpoints are the
	// source VMs of the instances (dc_endpoints defaults to their IPs on
	// the health check's port), so when the instances serve TLS, so do
	// they, and plain HTTP to a TLS port fails every request that the
	// split sends to the datacenter. A hybrid NEG behind an Application LB
	// takes HTTPS like an instance group, unverified too.
	w.str("protocol", r.spec.Cutover.BackendProtocol())
	w.str("load_balancing_scheme", r.scheme())
	w.int("timeout_sec", 30)
	w.block("backend")
	w.ref("group", "google_compute_network_endpoint_group", "dc", "id")
	w.str("balancing_mode", "RATE")
	w.int("max_rate_per_endpoint", 1000)
	w.int("capacity_scaler", 1)
	w.end()
	w.end()
	w.nl()

	r.open(w, partURLMap, "app", gcename.URLMap(app))
	r.weightedRoute(w)
	w.nl()

	pxName := r.name("-proxy")
	if kind == plan.LBExternalHTTPS {
		r.httpsProxy(w, pxName)
	} else {
		r.open(w, partHTTPProxy, "app", pxName)
		if r.internal() {
			w.str("description", r.owned("Internal HTTP proxy of "+app))
		} else {
			w.str("description", r.owned("HTTP proxy of "+app))
		}
		w.ref("url_map", r.typeOf(partURLMap), "app", "id")
		w.end()
	}
	w.nl()

	if r.internal() {
		r.internalRule(w)
		return
	}
	r.open(w, partForwardingRule, "app", r.name("-fr"))
	w.ref("target", r.proxyType(), "app", "id")
	w.str("port_range", strconv.Itoa(r.spec.Cutover.FrontendPort()))
	w.str("load_balancing_scheme", "EXTERNAL_MANAGED")
	r.labels(w, "", false)
	w.end()
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
func (r *renderer) weightedRoute(w *tw) {
	w.str("description", r.owned("Traffic split of "+r.spec.Name+" between the datacenter and GCP; ferry shifts the weights"))
	w.block("default_route_action")
	for _, wb := range [...]struct {
		local  string
		weight int64
	}{{"dc", InitialDCWeight}, {"gcp", InitialGCPWeight}} {
		w.block("weighted_backend_services")
		w.ref("backend_service", r.typeOf(partBackend), wb.local, "id")
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
		w.p(hclsyntax.TokenOBrack)
		w.num(0)
		w.p(hclsyntax.TokenCBrack)
		w.p(hclsyntax.TokenDot)
		w.ident("network_ip")
		w.nl()
	}
	w.closeObject()
	w.end()
	w.nl()
	w.block("output", "gcp_backend_service")
	w.ref("value", r.typeOf(partBackend), "gcp", "name")
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
		w.ref("value", r.typeOf(partForwardingRule), "app", "ip_address")
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
