package plan

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Kinds of load balancer in front of an app (cutover load_balancer).
const (
	// LBExternalHTTP is a global external Application LB on port 80 with
	// a weighted split on its URL map (the default).
	LBExternalHTTP = "external-http"
	// LBExternalHTTPS is the same behind a target HTTPS proxy on port 443:
	// TLS ends at the load balancer with the plan's certificate.
	LBExternalHTTPS = "external-https"
	// LBInternalHTTP is a regional internal Application LB
	// (INTERNAL_MANAGED) in the app's network: a weighted split on a
	// region URL map. It needs the network's proxy-only subnet.
	LBInternalHTTP = "internal-http"
	// LBInternalTCP is an internal passthrough Network LB (INTERNAL): no
	// proxy, no URL map, so no weights. Its cutover is one step: the DNS
	// record clients use moves from the datacenter to the load balancer's
	// address at once, and back in one change on rollback.
	LBInternalTCP = "internal-tcp"
)

// LBKinds lists the load balancer kinds a plan may name.
var LBKinds = []string{LBExternalHTTP, LBExternalHTTPS, LBInternalHTTP, LBInternalTCP}

// LBSpec is the load balancer an app is cut over behind.
type LBSpec struct {
	Kind string `json:"kind,omitempty"` // one of LBKinds; "" is LBExternalHTTP
	// Port is the front end's port; 0 is the kind's default (80, 443,
	// 80, the health check port for TCP).
	Port int     `json:"port,omitempty"`
	TLS  TLSSpec `json:"tls,omitzero"`
	// ProxyOnlySubnet names the proxy-only subnet (purpose
	// REGIONAL_MANAGED_PROXY) of the app's network and region that an
	// internal Application LB's proxies run in.
	ProxyOnlySubnet string `json:"proxyOnlySubnet,omitempty"`
}

// TLSSpec is where an HTTPS load balancer's certificate comes from: a
// self-managed certificate and key (files the worker reads; the spec holds
// their paths, never the key), existing compute SSL certificates (such as
// a google_compute_managed_ssl_certificate), or a Certificate Manager map.
type TLSSpec struct {
	CertFile        string   `json:"certFile,omitempty"`
	KeyFile         string   `json:"keyFile,omitempty"`
	SSLCertificates []string `json:"sslCertificates,omitempty"`
	CertificateMap  string   `json:"certificateMap,omitempty"`
}

// LoadBalancer is the kind of the app's load balancer (LBExternalHTTP
// when the plan names none).
func (c CutoverSpec) LoadBalancer() string {
	if c.LB.Kind == "" {
		return LBExternalHTTP
	}
	return c.LB.Kind
}

// FrontendPort is the port the load balancer answers on.
func (c CutoverSpec) FrontendPort() int {
	if c.LB.Port != 0 {
		return c.LB.Port
	}
	switch c.LoadBalancer() {
	case LBExternalHTTPS:
		return 443
	case LBInternalTCP:
		return c.HealthCheck.Port
	}
	return 80
}

// BackendProtocol is the protocol the load balancer speaks to the app's
// backends (GCE instances and datacenter endpoints alike): TCP behind the
// passthrough kind, which forwards connections and whatever TLS is in
// them; behind a proxy kind, HTTPS when the health check is https (the
// VMs serve TLS themselves, so the proxy must too), else HTTP.
func (c CutoverSpec) BackendProtocol() string {
	switch {
	case c.LoadBalancer() == LBInternalTCP:
		return "TCP"
	case c.HealthCheck.Protocol == "https":
		return "HTTPS"
	}
	return "HTTP"
}

// Weighted reports whether the kind splits traffic by weight: every
// proxy load balancer does, a passthrough one cannot.
func Weighted(kind string) bool { return kind != LBInternalTCP }

type tlsConf struct {
	CertFile        string   `hcl:"cert_file,optional"`
	KeyFile         string   `hcl:"key_file,optional"`
	SSLCertificates []string `hcl:"ssl_certificates,optional"`
	CertificateMap  string   `hcl:"certificate_map,optional"`
}

// lbKind reads load_balancer first: it decides the default strategy,
// steps and health check of the cutover.
func (r *resolver) lbKind(app string, c *cutoverConf, body *hclsyntax.Body) string {
	k := c.LoadBalancer
	if k == "" {
		return ""
	}
	for _, x := range LBKinds {
		if k == x {
			return k
		}
	}
	r.diags = append(r.diags, errAt(body, []string{"cutover"}, "load_balancer", "Unknown load balancer",
		fmt.Sprintf("App %q: load_balancer = %q; use %s.", app, k, strings.Join(quoteAll(LBKinds), ", "))))
	return ""
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// loadBalancer validates what the kind needs and fills out.LB.
func (r *resolver) loadBalancer(app string, c *cutoverConf, body *hclsyntax.Body, out *CutoverSpec) {
	path := []string{"cutover"}
	kind := out.LoadBalancer()
	out.LB.Port = c.Port
	if c.Port != 0 && (c.Port < 1 || c.Port > 65535) {
		r.diags = append(r.diags, errAt(body, path, "port", "Invalid load balancer port",
			fmt.Sprintf("App %q: port %d is not in 1-65535.", app, c.Port)))
	}
	switch {
	case kind == LBInternalTCP && out.Strategy == "lb":
		r.diags = append(r.diags, errAt(body, path, "strategy", "A passthrough load balancer cannot split traffic",
			fmt.Sprintf("App %q: load_balancer \"internal-tcp\" is an internal passthrough Network LB: it forwards TCP connections to its backends with no proxy and no URL map, so there are no weights to shift between the datacenter and GCP. "+
				"Use strategy = \"dns\" (the default for internal-tcp): the record clients resolve moves from the datacenter to the load balancer's address in one step, and back in one change on rollback.", app)))
	case kind != LBExternalHTTP && kind != LBInternalTCP && out.Strategy == "dns":
		r.diags = append(r.diags, errAt(body, path, "strategy", "The dns strategy bypasses this load balancer",
			fmt.Sprintf("App %q: strategy \"dns\" publishes the instances' addresses, so clients would never pass through the %s load balancer; use strategy = \"lb\" (a weighted split on its URL map).", app, kind)))
	}
	if kind == LBInternalTCP && len(c.Step)+len(c.Steps) > 0 && !(len(out.Steps) == 1 && out.Steps[0].Percent == 100) {
		rng := rangeOf(body, path, "steps")
		if len(c.Step) > 0 {
			rng = rangeOf(body, append(path, "step"), "")
		}
		r.diags = append(r.diags, diagAt(hcl.DiagError, rng, "A passthrough load balancer moves in one step",
			fmt.Sprintf("App %q: load_balancer \"internal-tcp\" cannot send part of the connections to GCP (no weights on a passthrough Network LB); write steps = [100] or leave steps out.", app)))
	}
	if c.ProxyOnlySubnet != "" && kind != LBInternalHTTP {
		r.diags = append(r.diags, errAt(body, path, "proxy_only_subnet", "proxy_only_subnet is for internal-http",
			fmt.Sprintf("App %q: only an internal Application LB (load_balancer = \"internal-http\") runs in a proxy-only subnet; remove proxy_only_subnet.", app)))
	}
	if kind == LBInternalHTTP {
		out.LB.ProxyOnlySubnet = c.ProxyOnlySubnet
		if c.ProxyOnlySubnet == "" {
			r.diags = append(r.diags, errAt(body, path, "load_balancer", "Internal Application LB without a proxy-only subnet",
				fmt.Sprintf("App %q: an internal Application LB (INTERNAL_MANAGED) runs its Envoy proxies in a proxy-only subnet of the app's network and region (%s); GCP refuses its forwarding rule without one. "+
					"One such subnet serves every internal Application LB of that network and region: create it once (gcloud compute networks subnets create proxy-only-%s --purpose=REGIONAL_MANAGED_PROXY --role=ACTIVE --region=%s --network=NETWORK --range=10.129.0.0/23) "+
					"and name it in the cutover block: proxy_only_subnet = \"proxy-only-%s\". ferry checks it at plan time and opens the app's port to its range.",
					app, r.p.GCP.Region, r.p.GCP.Region, r.p.GCP.Region, r.p.GCP.Region)))
		}
	}
	r.tls(app, c, body, out)
}

func (r *resolver) tls(app string, c *cutoverConf, body *hclsyntax.Body, out *CutoverSpec) {
	path := []string{"cutover", "tls"}
	t := c.TLS
	kind := out.LoadBalancer()
	if kind != LBExternalHTTPS {
		if t != nil {
			r.diags = append(r.diags, errAt(body, path, "", "tls is for external-https",
				fmt.Sprintf("App %q: a tls block needs load_balancer = \"external-https\" (TLS on the internal kinds is not supported by ferry yet: the backends keep their own TLS behind internal-tcp).", app)))
		}
		return
	}
	if c.PublicURL == "" {
		r.diags = append(r.diags, diagAt(hcl.DiagWarning, rangeOf(body, []string{"cutover"}, "load_balancer"), "HTTPS load balancer without public_url",
			fmt.Sprintf("App %q: without public_url the SLO gate probes https://<load balancer IP>/ and verifies the certificate against that IP, which a certificate for host names does not cover; set public_url to a name the certificate covers (e.g. \"https://%s.example.com/\").", app, app)))
	}
	if t == nil {
		r.diags = append(r.diags, errAt(body, []string{"cutover"}, "load_balancer", "HTTPS load balancer without a certificate",
			fmt.Sprintf("App %q: load_balancer \"external-https\" needs a tls block naming its certificate: cert_file and key_file (self-managed, PEM), ssl_certificates (existing compute SSL certificates, e.g. a google_compute_managed_ssl_certificate) or certificate_map (Certificate Manager).", app)))
		return
	}
	n := 0
	if t.CertFile != "" || t.KeyFile != "" {
		n++
	}
	if len(t.SSLCertificates) > 0 {
		n++
	}
	if t.CertificateMap != "" {
		n++
	}
	switch {
	case n == 0:
		r.diags = append(r.diags, errAt(body, path, "", "HTTPS load balancer without a certificate",
			fmt.Sprintf("App %q: the tls block names no certificate; set cert_file and key_file, ssl_certificates or certificate_map.", app)))
		return
	case n > 1:
		r.diags = append(r.diags, errAt(body, path, "", "More than one certificate source",
			fmt.Sprintf("App %q: set one of cert_file/key_file, ssl_certificates or certificate_map.", app)))
		return
	}
	for i, name := range t.SSLCertificates {
		if !validGCEName(name) {
			r.diags = append(r.diags, diagAt(hcl.DiagError, itemRange(firstBlockPath(body, path), "ssl_certificates", i), "Invalid certificate name",
				fmt.Sprintf("App %q: %q is not the name of a compute SSL certificate (lowercase letters, digits and dashes).", app, name)))
		}
	}
	if t.CertificateMap != "" && !validGCEName(t.CertificateMap) {
		r.diags = append(r.diags, errAt(body, path, "certificate_map", "Invalid certificate map name",
			fmt.Sprintf("App %q: %q is not a Certificate Manager map name (lowercase letters, digits and dashes).", app, t.CertificateMap)))
	}
	out.LB.TLS = TLSSpec{SSLCertificates: t.SSLCertificates, CertificateMap: t.CertificateMap}
	if t.CertFile == "" && t.KeyFile == "" {
		return
	}
	if t.CertFile == "" || t.KeyFile == "" {
		r.diags = append(r.diags, errAt(body, path, "", "Incomplete self-managed certificate",
			fmt.Sprintf("App %q: cert_file and key_file go together.", app)))
		return
	}
	dir := ""
	if rng := rangeOf(body, path, "cert_file"); rng != nil {
		dir = filepath.Dir(rng.Filename)
	}
	out.LB.TLS.CertFile, out.LB.TLS.KeyFile = absFrom(dir, t.CertFile), absFrom(dir, t.KeyFile)
	if d := checkKeyPair(out.LB.TLS.CertFile, out.LB.TLS.KeyFile); d != "" {
		sev := hcl.DiagError
		if strings.HasPrefix(d, "cannot read") {
			sev = hcl.DiagWarning // the worker may hold files this machine does not
		}
		r.diags = append(r.diags, diagAt(sev, rangeOf(body, path, "cert_file"), "Self-managed certificate",
			fmt.Sprintf("App %q: %s.", app, d)))
	}
}

func firstBlockPath(body *hclsyntax.Body, path []string) *hclsyntax.Body {
	for _, typ := range path {
		b := firstBlock(body, typ)
		if b == nil {
			return body
		}
		body = b.Body
	}
	return body
}

func validGCEName(s string) bool {
	if s == "" || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func absFrom(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" || dir == "." {
		return p
	}
	return filepath.Join(dir, p)
}

// checkKeyPair reads the certificate and key and says what is wrong with
// them, never quoting the key.
func checkKeyPair(certFile, keyFile string) string {
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return "cannot read cert_file " + certFile + ": " + pathErr(err) + "; the worker must be able to read it at plan time"
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return "cannot read key_file " + keyFile + ": " + pathErr(err) + "; the worker must be able to read it at plan time"
	}
	if b, _ := pem.Decode(cert); b == nil || b.Type != "CERTIFICATE" {
		return "cert_file " + certFile + " holds no PEM CERTIFICATE block"
	}
	if b, _ := pem.Decode(key); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
		return "key_file " + keyFile + " holds no PEM private key"
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return fmt.Sprintf("cert_file %s and key_file %s are not a pair: %v", certFile, keyFile, err)
	}
	return ""
}

func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
