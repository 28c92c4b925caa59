package terraform

import (
	"fmt"
	"strconv"

	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ferrymigrate/ferry/plan"
)

// The load balancers beyond the global external HTTP one (plan
// load_balancer): external-https adds a certificate and a target HTTPS
// proxy on 443; internal-http is the regional internal Application LB
// (region health check, backend services, URL map, target HTTP proxy and an
// INTERNAL_MANAGED forwarding rule in the app's subnet, next to the
// network's proxy-only subnet); internal-tcp is an internal passthrough
// Network LB (region backend service INTERNAL, forwarding rule with the
// app's port) with no URL map, so no weights: its cutover is one DNS step.

// lbPart is a kind of load balancer resource: the external kinds create
// the global one, the internal kinds the regional one, in the app's region.
type lbPart struct{ global, regional, collection string }

var (
	partHealthCheck    = lbPart{"google_compute_health_check", "google_compute_region_health_check", "healthChecks"}
	partBackend        = lbPart{"google_compute_backend_service", "google_compute_region_backend_service", "backendServices"}
	partURLMap         = lbPart{"google_compute_url_map", "google_compute_region_url_map", "urlMaps"}
	partHTTPProxy      = lbPart{"google_compute_target_http_proxy", "google_compute_region_target_http_proxy", "targetHttpProxies"}
	partForwardingRule = lbPart{"google_compute_global_forwarding_rule", "google_compute_forwarding_rule", "forwardingRules"}
)

// internal reports whether the app's load balancer is an internal (regional) kind.
func (r *renderer) internal() bool {
	k := r.spec.Cutover.LoadBalancer()
	return k == plan.LBInternalHTTP || k == plan.LBInternalTCP
}

// typeOf is the resource type of part p for the app's load balancer.
func (r *renderer) typeOf(p lbPart) string {
	if r.internal() {
		return p.regional
	}
	return p.global
}

// open opens the app's resource local of part p, named name (and, when
// regional, in the app's region).
func (r *renderer) open(w *tw, p lbPart, local, name string) {
	if r.internal() {
		r.resource(w, p.regional, local, func() string { return r.regional(p.collection, name) })
		w.str("name", name)
		w.str("region", r.spec.Region)
		return
	}
	r.resource(w, p.global, local, func() string { return r.global(p.collection, name) })
	w.str("name", name)
}

// scheme is the load-balancing scheme of the proxy-based kinds.
func (r *renderer) scheme() string {
	if r.internal() {
		return "INTERNAL_MANAGED"
	}
	return "EXTERNAL_MANAGED"
}

// fileCall writes `name = file("path")`: terraform reads the file when it
// plans, so the module and the spec hold the path, never the contents.
func (w *tw) fileCall(name, path string) {
	w.key(name)
	w.ident("file")
	w.p(hclsyntax.TokenOParen)
	w.quoted(path)
	w.p(hclsyntax.TokenCParen)
	w.nl()
}

func (r *renderer) proxyType() string {
	if r.spec.Cutover.LoadBalancer() == plan.LBExternalHTTPS {
		return "google_compute_target_https_proxy"
	}
	return "google_compute_target_http_proxy"
}

func (r *renderer) regional(kind, name string) string {
	return "projects/" + r.spec.Project + "/regions/" + r.spec.Region + "/" + kind + "/" + name
}

// httpsProxy writes the certificate (self-managed) and the target HTTPS
// proxy of external-https.
func (r *renderer) httpsProxy(w *tw, pxName string) {
	app := r.spec.Name
	t := r.spec.Cutover.LB.TLS
	if t.CertFile != "" {
		// name_prefix and create_before_destroy: a renewed certificate is
		// a new object the proxy moves to before the old one goes. Its
		// name is not known in advance, so it has no import ID.
		w.block("resource", "google_compute_ssl_certificate", "app")
		w.str("name_prefix", r.name("-cert-"))
		w.str("description", r.owned("Certificate of "+app+" (self-managed)"))
		w.fileCall("certificate", t.CertFile)
		w.fileCall("private_key", t.KeyFile)
		w.block("lifecycle")
		w.boolean("create_before_destroy", true)
		w.end()
		w.end()
		w.nl()
	}
	r.resource(w, "google_compute_target_https_proxy", "app", func() string { return r.global("targetHttpsProxies", pxName) })
	w.str("name", pxName)
	w.str("description", r.owned("HTTPS proxy of "+app))
	w.ref("url_map", "google_compute_url_map", "app", "id")
	switch {
	case t.CertFile != "":
		w.refs("ssl_certificates", "google_compute_ssl_certificate", "app", "id")
	case len(t.SSLCertificates) > 0:
		refs := make([]string, len(t.SSLCertificates))
		for i, n := range t.SSLCertificates {
			refs[i] = r.global("sslCertificates", n)
		}
		w.list("ssl_certificates", refs...)
	case t.CertificateMap != "":
		w.str("certificate_map", "//certificatemanager.googleapis.com/projects/"+r.spec.Project+"/locations/global/certificateMaps/"+t.CertificateMap)
	}
	w.end()
}

// clientsFirewall lets the internal load balancer reach the instances:
// from the proxy-only subnet (internal-http) or straight from the clients
// (passthrough).
func (r *renderer) clientsFirewall(w *tw) {
	app := r.spec.Name
	fwName := r.name("-lb-in")
	r.resource(w, "google_compute_firewall", "lb_clients", func() string { return r.global("firewalls", fwName) })
	w.str("name", fwName)
	w.str("network", r.spec.Network)
	w.str("direction", "INGRESS")
	w.int("priority", 1000)
	if r.spec.Cutover.LoadBalancer() == plan.LBInternalHTTP {
		w.str("description", r.owned("The proxies of the internal load balancer of "+app+" reach its instances"))
		w.key("source_ranges")
		w.p(hclsyntax.TokenOBrack)
		w.trav("data", "google_compute_subnetwork", "proxy_only", "ip_cidr_range")
		w.p(hclsyntax.TokenCBrack)
		w.nl()
	} else {
		w.str("description", r.owned("Clients in private ranges reach "+app+" through its passthrough load balancer"))
		w.list("source_ranges", privateRanges...)
	}
	w.allowTCP(r.appTag(), r.spec.Cutover.HealthCheck.Port)
	w.nl()
}

// proxyOnlySubnet reads the network's proxy-only subnet: the plan fails
// when it does not exist; GCP (and gcpfake) refuse the forwarding rule
// when it is not an active REGIONAL_MANAGED_PROXY subnet of the app's
// network.
func (r *renderer) proxyOnlySubnet(w *tw) {
	w.block("data", "google_compute_subnetwork", "proxy_only")
	w.str("name", r.spec.Cutover.LB.ProxyOnlySubnet)
	w.str("region", r.spec.Region)
	w.end()
	w.nl()
}

// internalRule writes the forwarding rule of an internal kind, in the
// app's subnet: the passthrough one sends the app's port to the GCP
// backend service, the Application LB's sends to its proxy.
func (r *renderer) internalRule(w *tw) {
	app := r.spec.Name
	port := strconv.Itoa(r.spec.Cutover.FrontendPort())
	passthrough := r.spec.Cutover.LoadBalancer() == plan.LBInternalTCP
	r.open(w, partForwardingRule, "app", r.name("-fr"))
	if passthrough {
		w.str("description", r.owned("Passthrough load balancer of "+app+": clients move to its address in one DNS step"))
		w.str("load_balancing_scheme", "INTERNAL")
		w.str("ip_protocol", "TCP")
		w.ref("backend_service", "google_compute_region_backend_service", "gcp", "id")
		w.list("ports", port)
	} else {
		w.str("description", r.owned("Internal Application LB of "+app))
		w.str("load_balancing_scheme", "INTERNAL_MANAGED")
		w.str("ip_protocol", "TCP")
		w.ref("target", "google_compute_region_target_http_proxy", "app", "id")
		w.str("port_range", port)
	}
	r.subnet(w)
	r.labels(w, "", false)
	if !passthrough {
		w.key("depends_on")
		w.p(hclsyntax.TokenOBrack)
		w.trav("data", "google_compute_subnetwork", "proxy_only")
		w.p(hclsyntax.TokenCBrack)
		w.nl()
	}
	w.end()
}

func (r *renderer) subnet(w *tw) {
	w.str("network", r.spec.Network)
	if r.spec.Subnetwork != "" {
		w.str("subnetwork", r.spec.Subnetwork)
	}
}

// urlMapType is the resource type of the app's URL map ("" without one).
func (r *renderer) urlMapType() string {
	if r.spec.Cutover.Strategy != "lb" {
		return "" // dns, and internal-tcp (always dns): no weights
	}
	return r.typeOf(partURLMap)
}

// checkLB refuses a spec whose load balancer cannot be rendered: what
// plan validation reports with file and line, said again for a spec that
// did not come from it.
func checkLB(s plan.AppSpec) error {
	c := s.Cutover
	fix := "; fix the plan and run ferry plan validate"
	switch k := c.LoadBalancer(); k {
	case plan.LBExternalHTTP:
	case plan.LBExternalHTTPS:
		t := c.LB.TLS
		if (t.CertFile == "" || t.KeyFile == "") && len(t.SSLCertificates) == 0 && t.CertificateMap == "" {
			return fmt.Errorf("render app %q: load balancer external-https without a certificate (cutover tls: cert_file and key_file, ssl_certificates or certificate_map)%s", s.Name, fix)
		}
		if c.Strategy != "lb" {
			return fmt.Errorf("render app %q: load balancer external-https needs strategy lb, not %q%s", s.Name, c.Strategy, fix)
		}
	case plan.LBInternalHTTP:
		if c.LB.ProxyOnlySubnet == "" {
			return fmt.Errorf("render app %q: load balancer internal-http needs the proxy-only subnet of its network (cutover proxy_only_subnet)%s", s.Name, fix)
		}
		if c.Strategy != "lb" {
			return fmt.Errorf("render app %q: load balancer internal-http needs strategy lb, not %q%s", s.Name, c.Strategy, fix)
		}
	case plan.LBInternalTCP:
		if c.Strategy != "dns" {
			return fmt.Errorf("render app %q: load balancer internal-tcp is a passthrough Network LB with no weights: its strategy is dns (one step), not %q%s", s.Name, c.Strategy, fix)
		}
	default:
		return fmt.Errorf("render app %q: unknown load balancer %q%s", s.Name, k, fix)
	}
	if p := c.FrontendPort(); p < 1 || p > 65535 {
		return fmt.Errorf("render app %q: load balancer port %d is not in 1-65535%s", s.Name, p, fix)
	}
	return nil
}
