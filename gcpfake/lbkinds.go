package gcpfake

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// The load balancer kinds beyond the global external Application LB: SSL
// certificates and target HTTPS proxies (external HTTPS), the regional
// variants of backend services, URL maps, target proxies, health checks
// and forwarding rules (internal Application LB, INTERNAL_MANAGED), and
// internal passthrough Network LBs (INTERNAL: a forwarding rule straight to
// a regional backend service). The fake refuses what GCP refuses: an HTTPS
// proxy without a certificate, a certificate whose key does not match, an
// INTERNAL_MANAGED forwarding rule without a proxy-only subnet, a URL map
// (weights) in front of a passthrough backend service, a regional load
// balancer mixing regions or global parts.

// hiddenKey holds what GCP keeps but never returns (a certificate's
// private key): stored in the body, stripped by every view.
const hiddenKey = "gcpfake:privateKey"

func registerLBKinds() {
	for _, k := range []string{"backendServices", "urlMaps", "targetHttpProxies", "healthChecks", "forwardingRules"} {
		spec := kinds[k]
		spec.regional = true
		kinds[k] = spec
	}
	bs := kinds["backendServices"]
	bs.insert = checkedInsert(bs.insert, checkBackendService)
	bs.check = checkBackendService
	kinds["backendServices"] = bs
	um := kinds["urlMaps"]
	um.insert = checkedInsert(um.insert, checkURLMap)
	um.check = checkURLMap
	kinds["urlMaps"] = um
	hp := kinds["targetHttpProxies"]
	hp.insert = checkedInsert(hp.insert, checkProxy)
	hp.check = checkProxy
	kinds["targetHttpProxies"] = hp
	fr := kinds["forwardingRules"]
	fr.insert = func(s *Server, c *creq, o *object) *apiError {
		if aerr := checkForwardingRule(s, c, o); aerr != nil {
			return aerr
		}
		if sch := scheme(o.Body); (sch == "INTERNAL" || sch == "INTERNAL_MANAGED") && o.Body["IPAddress"] == nil && s.dp == nil {
			o.Body["IPAddress"] = s.allocIP("10.128") // an address of the subnet, not a public one
		}
		return insertForwardingRule(s, c, o)
	}
	kinds["forwardingRules"] = fr

	kinds["sslCertificates"] = kindSpec{scope: "global", regional: true, apiKind: "compute#sslCertificate",
		insert: insertSSLCertificate, view: viewSSLCertificate}
	kinds["targetHttpsProxies"] = kindSpec{scope: "global", regional: true, apiKind: "compute#targetHttpsProxy",
		fingerprint: true, insert: checkedInsert(nil, checkProxy), check: checkProxy}

	actions["targetHttpsProxies/setUrlMap"] = setRef("urlMap")
	actions["targetHttpsProxies/setSslCertificates"] = setSSLCertificates
	actions["targetHttpsProxies/setCertificateMap"] = setCertificateMap
	actions["targetHttpsProxies/setQuicOverride"] = setPlain("quicOverride")
	actions["targetHttpsProxies/setSslPolicy"] = setPlain("sslPolicy")
	actions["urlMaps/validate"] = validateURLMapAction
}

// checkedInsert runs check on the body, then the kind's own insert.
func checkedInsert(first func(*Server, *creq, *object) *apiError, check func(*Server, *creq, map[string]any) *apiError) func(*Server, *creq, *object) *apiError {
	return func(s *Server, c *creq, o *object) *apiError {
		if aerr := check(s, c, o.Body); aerr != nil {
			return aerr
		}
		if first != nil {
			return first(s, c, o)
		}
		return nil
	}
}

// regionOfRef returns the region of a regional resource URL, or "".
func regionOfRef(ref string) string {
	p := splitPath(strings.TrimPrefix(ref, computeBase))
	for i := 0; i+1 < len(p); i++ {
		if p[i] == "regions" {
			return p[i+1]
		}
	}
	return ""
}

// sameScope refuses a reference from a regional resource to a global one
// or to another region (and from a global one to a regional one).
func sameScope(c *creq, field, ref string) *apiError {
	got := regionOfRef(ref)
	if got == c.scope.Region {
		return nil
	}
	switch {
	case c.scope.Region == "":
		return errInvalid("Invalid value for field '%s': '%s'. A global resource cannot reference the regional resource in region '%s'.", field, ref, got)
	case got == "":
		return errInvalid("Invalid value for field '%s': '%s'. Regional resources in region '%s' must reference regional resources in the same region, not global ones.", field, ref, c.scope.Region)
	}
	return errInvalid("Invalid value for field '%s': '%s'. The resource is in region '%s', not '%s'.", field, ref, got, c.scope.Region)
}

func scheme(b map[string]any) string {
	if v, _ := b["loadBalancingScheme"].(string); v != "" {
		return v
	}
	return "EXTERNAL"
}

func checkBackendService(s *Server, c *creq, b map[string]any) *apiError {
	sch := scheme(b)
	proto, _ := b["protocol"].(string)
	if proto == "" {
		proto = "HTTP"
		if sch == "INTERNAL" {
			proto = "TCP"
		}
	}
	switch proto {
	case "HTTP", "HTTPS", "HTTP2", "H2C", "TCP", "SSL", "UDP", "GRPC", "UNSPECIFIED":
	default:
		// The API's enum: anything else (a lowercase "https" too) is refused.
		return errInvalid("Invalid value for field 'resource.protocol': '%s'. Protocol must be one of HTTP, HTTPS, HTTP2, H2C, TCP, SSL, UDP, GRPC, UNSPECIFIED.", proto)
	}
	switch sch {
	case "INTERNAL":
		if c.scope.Region == "" {
			return errInvalid("Invalid value for field 'resource.loadBalancingScheme': 'INTERNAL'. Internal passthrough backend services are regional; create it under regions/REGION/backendServices.")
		}
		if proto != "TCP" && proto != "UDP" && proto != "UNSPECIFIED" {
			return errInvalid("Invalid value for field 'resource.protocol': '%s'. Protocol must be TCP, UDP or UNSPECIFIED for backend services with load balancing scheme INTERNAL.", proto)
		}
	case "INTERNAL_MANAGED", "EXTERNAL_MANAGED", "EXTERNAL":
		if sch == "INTERNAL_MANAGED" && c.scope.Region == "" && proto != "HTTP" && proto != "HTTPS" && proto != "HTTP2" {
			return errInvalid("Invalid value for field 'resource.protocol': '%s'.", proto)
		}
	default:
		return errInvalid("Invalid value for field 'resource.loadBalancingScheme': '%s'.", sch)
	}
	for i, x := range toSlice(b["backends"]) {
		be, _ := x.(map[string]any)
		g, _ := be["group"].(string)
		mode, _ := be["balancingMode"].(string)
		if sch == "INTERNAL" && mode != "" && mode != "CONNECTION" {
			return errInvalid("Invalid value for field 'resource.backends[%d].balancingMode': '%s'. Balancing mode must be CONNECTION for an INTERNAL backend service.", i, mode)
		}
		if go_ := s.ref(g); go_ != nil && go_.Kind == "networkEndpointGroups" && go_.Body["networkEndpointType"] == "NON_GCP_PRIVATE_IP_PORT" && sch == "INTERNAL" {
			return errInvalid("Invalid value for field 'resource.backends[%d].group': '%s'. Hybrid connectivity network endpoint groups are not supported by passthrough Network Load Balancers.", i, g)
		}
		if c.scope.Region != "" {
			if z := zoneOfRef(g); z != "" && regionOf(z) != c.scope.Region {
				return errInvalid("Invalid value for field 'resource.backends[%d].group': '%s'. The backend is in zone '%s', outside region '%s'.", i, g, z, c.scope.Region)
			}
		}
	}
	for i, h := range toSlice(b["healthChecks"]) {
		ref := fmt.Sprint(h)
		if sch == "INTERNAL_MANAGED" && c.scope.Region != "" && regionOfRef(ref) != c.scope.Region {
			return errInvalid("Invalid value for field 'resource.healthChecks[%d]': '%s'. Regional backend services with load balancing scheme INTERNAL_MANAGED must use a regional health check in region '%s'.", i, ref, c.scope.Region)
		}
		if c.scope.Region == "" && regionOfRef(ref) != "" {
			return errInvalid("Invalid value for field 'resource.healthChecks[%d]': '%s'. A global backend service cannot use a regional health check.", i, ref)
		}
	}
	return nil
}

func zoneOfRef(ref string) string {
	p := splitPath(strings.TrimPrefix(ref, computeBase))
	for i := 0; i+1 < len(p); i++ {
		if p[i] == "zones" {
			return p[i+1]
		}
	}
	return ""
}

// checkURLMap refuses weights outside 0-1000 and services a URL map cannot
// route to: a passthrough (INTERNAL) backend service, one of another
// scope, one of another load balancing scheme than the map's others.
func checkURLMap(s *Server, c *creq, b map[string]any) *apiError {
	if aerr := validateURLMap(s, c, &object{Body: b}); aerr != nil {
		return aerr
	}
	var refs []struct{ field, ref string }
	if ds, _ := b["defaultService"].(string); ds != "" {
		refs = append(refs, struct{ field, ref string }{"resource.defaultService", ds})
	}
	if ra, ok := b["defaultRouteAction"].(map[string]any); ok {
		for i, x := range toSlice(ra["weightedBackendServices"]) {
			w, _ := x.(map[string]any)
			refs = append(refs, struct{ field, ref string }{fmt.Sprintf("resource.defaultRouteAction.weightedBackendServices[%d].backendService", i), fmt.Sprint(w["backendService"])})
		}
	}
	schemes := map[string]bool{}
	for _, r := range refs {
		if aerr := sameScope(c, r.field, r.ref); aerr != nil {
			return aerr
		}
		bs := s.ref(r.ref)
		if bs == nil {
			continue
		}
		sch := scheme(bs.Body)
		if sch == "INTERNAL" {
			return errInvalid("Invalid value for field '%s': '%s'. Backend services with load balancing scheme INTERNAL (passthrough Network Load Balancers) cannot be used by a URL map: a passthrough load balancer forwards connections without a proxy and cannot split them by weight.", r.field, r.ref)
		}
		schemes[sch] = true
	}
	if len(schemes) > 1 {
		return errInvalid("Invalid value for field 'resource': the URL map references backend services of different load balancing schemes.")
	}
	return nil
}

func checkProxy(s *Server, c *creq, b map[string]any) *apiError {
	um, _ := b["urlMap"].(string)
	if um == "" {
		return errInvalid("Invalid value for field 'resource.urlMap': ''. The URL map is required.")
	}
	if aerr := sameScope(c, "resource.urlMap", um); aerr != nil {
		return aerr
	}
	if c.coll != "targetHttpsProxies" {
		return nil
	}
	certs := toSlice(b["sslCertificates"])
	cm, _ := b["certificateMap"].(string)
	if len(certs) == 0 && cm == "" {
		return errInvalid("Invalid value for field 'resource.sslCertificates': ''. At least one SSL certificate or a certificate map must be specified for a target HTTPS proxy.")
	}
	if len(certs) > 0 && cm != "" {
		return errInvalid("Invalid value for field 'resource.certificateMap': '%s'. sslCertificates and certificateMap cannot both be set.", cm)
	}
	if len(certs) > 15 {
		return errInvalid("Invalid value for field 'resource.sslCertificates': at most 15 certificates per target proxy.")
	}
	for i, x := range certs {
		if aerr := sameScope(c, fmt.Sprintf("resource.sslCertificates[%d]", i), fmt.Sprint(x)); aerr != nil {
			return aerr
		}
	}
	if cm != "" {
		if c.scope.Region != "" {
			return errInvalid("Invalid value for field 'resource.certificateMap': '%s'. Certificate maps are only supported by global target HTTPS proxies.", cm)
		}
		if _, aerr := s.certificateMap(c.project, cm); aerr != nil {
			return aerr
		}
	}
	return nil
}

func checkForwardingRule(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	sch := scheme(b)
	target, _ := b["target"].(string)
	bsRef, _ := b["backendService"].(string)
	switch sch {
	case "INTERNAL_MANAGED":
		if c.scope.Region == "" {
			return nil // cross-region internal ALB: not modelled further
		}
		if target == "" {
			return errInvalid("Invalid value for field 'resource.target': ''. A forwarding rule with load balancing scheme INTERNAL_MANAGED needs a regional target HTTP(S) proxy.")
		}
		if aerr := sameScope(c, "resource.target", target); aerr != nil {
			return aerr
		}
		network := fmt.Sprint(b["network"])
		if b["network"] == nil {
			network = computeBase + "projects/" + c.project + "/global/networks/default"
			b["network"] = network
		}
		if !s.hasProxyOnlySubnet(c.project, c.scope.Region, network) {
			return errInvalid("Invalid value for field 'resource.target': '%s'. An active proxy-only subnetwork (purpose REGIONAL_MANAGED_PROXY, role ACTIVE) is required in the same region (%s) and VPC network (%s) as the forwarding rule.", target, c.scope.Region, lastSegment(network))
		}
		if px := s.ref(target); px != nil {
			if um := s.ref(px.Body["urlMap"]); um != nil {
				if aerr := schemeOfMap(s, um, "INTERNAL_MANAGED"); aerr != nil {
					return aerr
				}
			}
		}
	case "INTERNAL":
		if c.scope.Region == "" {
			return errInvalid("Invalid value for field 'resource.loadBalancingScheme': 'INTERNAL'. Internal passthrough forwarding rules are regional.")
		}
		if target != "" {
			return errInvalid("Invalid value for field 'resource.target': '%s'. A passthrough forwarding rule (INTERNAL) points at a backend service, not a target proxy.", target)
		}
		if bsRef == "" {
			return errInvalid("Invalid value for field 'resource.backendService': ''. A forwarding rule with load balancing scheme INTERNAL needs a regional backend service.")
		}
		if aerr := sameScope(c, "resource.backendService", bsRef); aerr != nil {
			return aerr
		}
		if bs := s.ref(bsRef); bs != nil && scheme(bs.Body) != "INTERNAL" {
			return errInvalid("Invalid value for field 'resource.backendService': '%s'. Its load balancing scheme is %s, not INTERNAL.", bsRef, scheme(bs.Body))
		}
		if pr, _ := b["portRange"].(string); pr != "" {
			return errInvalid("Invalid value for field 'resource.portRange': '%s'. Internal passthrough forwarding rules take ports or allPorts, not portRange.", pr)
		}
		ports := toSlice(b["ports"])
		all, _ := b["allPorts"].(bool)
		if len(ports) == 0 && !all {
			return errInvalid("Invalid value for field 'resource.ports': ''. Specify up to 5 ports, or allPorts.")
		}
		if len(ports) > 5 {
			return errInvalid("Invalid value for field 'resource.ports': at most 5 ports; use allPorts for more.")
		}
		if b["network"] == nil {
			b["network"] = computeBase + "projects/" + c.project + "/global/networks/default"
		}
		if b["subnetwork"] == nil && strings.HasSuffix(fmt.Sprint(b["network"]), "/global/networks/default") {
			b["subnetwork"] = fmt.Sprintf("%sprojects/%s/regions/%s/subnetworks/default", computeBase, c.project, c.scope.Region)
		}
	default:
		if c.scope.Region != "" && target != "" && strings.Contains(target, "/regions/") {
			if px := s.ref(target); px != nil {
				if um := s.ref(px.Body["urlMap"]); um != nil {
					if aerr := schemeOfMap(s, um, sch); aerr != nil {
						return aerr
					}
				}
			}
		}
	}
	if target != "" {
		if px := s.ref(target); px != nil && px.Kind != "targetHttpProxies" && px.Kind != "targetHttpsProxies" {
			return nil // other target kinds are not modelled
		}
	}
	return nil
}

// schemeOfMap refuses a forwarding rule whose scheme differs from the
// backend services its URL map routes to.
func schemeOfMap(s *Server, um *object, want string) *apiError {
	var refs []string
	if ds, _ := um.Body["defaultService"].(string); ds != "" {
		refs = append(refs, ds)
	}
	if ra, ok := um.Body["defaultRouteAction"].(map[string]any); ok {
		for _, x := range toSlice(ra["weightedBackendServices"]) {
			w, _ := x.(map[string]any)
			refs = append(refs, fmt.Sprint(w["backendService"]))
		}
	}
	for _, r := range refs {
		if bs := s.ref(r); bs != nil && scheme(bs.Body) != want {
			return errInvalid("Invalid value for field 'resource.loadBalancingScheme': '%s'. The URL map %s routes to backend service %s of scheme %s.", want, um.Name, bs.Name, scheme(bs.Body))
		}
	}
	return nil
}

// hasProxyOnlySubnet reports whether network has an active proxy-only
// subnet in region. Called with s.mu held.
func (s *Server) hasProxyOnlySubnet(project, region, network string) bool {
	prefix := "projects/" + project + "/regions/" + region + "/subnetworks/"
	for k, o := range s.state.Objects {
		if !strings.HasPrefix(k, prefix) || o.Kind != "subnetworks" {
			continue
		}
		p, _ := o.Body["purpose"].(string)
		role, _ := o.Body["role"].(string)
		if (p == "REGIONAL_MANAGED_PROXY" || p == "INTERNAL_HTTPS_LOAD_BALANCER") && (role == "" || role == "ACTIVE") &&
			lastSegment(fmt.Sprint(o.Body["network"])) == lastSegment(network) {
			return true
		}
	}
	return false
}

func insertSSLCertificate(s *Server, c *creq, o *object) *apiError {
	b := o.Body
	if m, ok := b["managed"].(map[string]any); ok || b["type"] == "MANAGED" {
		domains := toSlice(m["domains"])
		if len(domains) == 0 {
			return errInvalid("Invalid value for field 'resource.managed.domains': ''. A managed certificate needs at least one domain.")
		}
		if c.scope.Region != "" {
			return errInvalid("Invalid value for field 'resource.type': 'MANAGED'. Google-managed SSL certificates are global.")
		}
		var hosts []string
		for _, d := range domains {
			hosts = append(hosts, fmt.Sprint(d))
		}
		certPEM, keyPEM, exp, err := s.issue(hosts)
		if err != nil {
			return &apiError{500, "internalError", err.Error()}
		}
		b["type"] = "MANAGED"
		b["certificate"] = string(certPEM)
		b[hiddenKey] = string(keyPEM)
		b["subjectAlternativeNames"] = domains
		b["expireTime"] = exp.Format(time.RFC3339)
		st := map[string]any{}
		for _, d := range hosts {
			st[d] = "ACTIVE"
		}
		m["status"] = "ACTIVE"
		m["domainStatus"] = st
		return nil
	}
	certPEM, _ := b["certificate"].(string)
	keyPEM, _ := b["privateKey"].(string)
	if certPEM == "" {
		return errInvalid("Invalid value for field 'resource.certificate': ''. The certificate is required.")
	}
	if keyPEM == "" {
		return errInvalid("Invalid value for field 'resource.privateKey': ''. The private key is required.")
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return errInvalid("The SSL certificate and private key do not match.")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return errInvalid("Invalid value for field 'resource.certificate': the certificate could not be parsed.")
	}
	delete(b, "privateKey")
	b[hiddenKey] = keyPEM
	b["type"] = "SELF_MANAGED"
	b["expireTime"] = leaf.NotAfter.UTC().Format(time.RFC3339)
	var sans []any
	for _, n := range leaf.DNSNames {
		sans = append(sans, n)
	}
	for _, ip := range leaf.IPAddresses {
		sans = append(sans, ip.String())
	}
	if len(sans) > 0 {
		b["subjectAlternativeNames"] = sans
	}
	return nil
}

func viewSSLCertificate(s *Server, o *object) map[string]any {
	b := copyMap(o.Body)
	delete(b, hiddenKey)
	return b
}

func setSSLCertificates(s *Server, c *creq, o *object) (any, *apiError) {
	if e := post(c); e != nil {
		return nil, e
	}
	certs := toSlice(c.body["sslCertificates"])
	if len(certs) == 0 && o.Body["certificateMap"] == nil {
		return nil, errInvalid("Invalid value for field 'sslCertificates': ''. At least one SSL certificate must be specified.")
	}
	n, aerr := s.normRefs(c.project, certs, "sslCertificates")
	if aerr != nil {
		return nil, aerr
	}
	for i, x := range n.([]any) {
		if aerr := sameScope(c, fmt.Sprintf("sslCertificates[%d]", i), fmt.Sprint(x)); aerr != nil {
			return nil, aerr
		}
	}
	o.Body["sslCertificates"] = n
	o.Body["fingerprint"] = s.fingerprint()
	return s.done(c, o, c.verb)
}

func setCertificateMap(s *Server, c *creq, o *object) (any, *apiError) {
	if e := post(c); e != nil {
		return nil, e
	}
	cm, _ := c.body["certificateMap"].(string)
	if cm == "" {
		delete(o.Body, "certificateMap")
	} else {
		if _, aerr := s.certificateMap(c.project, cm); aerr != nil {
			return nil, aerr
		}
		o.Body["certificateMap"] = cm
	}
	o.Body["fingerprint"] = s.fingerprint()
	return s.done(c, o, c.verb)
}

func setPlain(field string) action {
	return func(s *Server, c *creq, o *object) (any, *apiError) {
		if e := post(c); e != nil {
			return nil, e
		}
		if v, ok := c.body[field]; ok && v != nil && v != "" {
			o.Body[field] = deepCopy(v)
		} else {
			delete(o.Body, field)
		}
		return s.done(c, o, c.verb)
	}
}

func validateURLMapAction(s *Server, c *creq, o *object) (any, *apiError) {
	res := map[string]any{"loadSucceeded": true, "testPassed": true}
	return map[string]any{"result": res}, nil
}

// certificateMap finds a Certificate Manager map registered with
// AddCertificateMap. The fake does not serve the Certificate Manager API;
// a test or dev stack registers the maps a plan names.
func (s *Server) certificateMap(project, ref string) (tls.Certificate, *apiError) {
	name := lastSegment(ref)
	want := "//certificatemanager.googleapis.com/projects/" + project + "/locations/global/certificateMaps/" + name
	if ref != want && !strings.HasSuffix(ref, "projects/"+project+"/locations/global/certificateMaps/"+name) {
		return tls.Certificate{}, errInvalid("Invalid value for field 'resource.certificateMap': '%s'. Expected //certificatemanager.googleapis.com/projects/%s/locations/global/certificateMaps/NAME.", ref, project)
	}
	cm, ok := s.certMaps[project+"/"+name]
	if !ok {
		return tls.Certificate{}, errNotFound("projects/" + project + "/locations/global/certificateMaps/" + name)
	}
	return cm, nil
}

// AddCertificateMap registers a Certificate Manager certificate map (by
// name, in project) serving certPEM/keyPEM, so a target HTTPS proxy may
// reference it as
// //certificatemanager.googleapis.com/projects/P/locations/global/certificateMaps/NAME.
func (s *Server) AddCertificateMap(project, name string, certPEM, keyPEM []byte) error {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("gcpfake: certificate map %s: certificate and key are not a pair: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.certMaps == nil {
		s.certMaps = map[string]tls.Certificate{}
	}
	s.certMaps[project+"/"+name] = pair
	return nil
}

// proxyCertificates returns the key pairs a target HTTPS proxy serves.
// Called with s.mu held.
func (s *Server) proxyCertificates(px *object) []tls.Certificate {
	var out []tls.Certificate
	if cm, _ := px.Body["certificateMap"].(string); cm != "" {
		if pair, aerr := s.certificateMap(px.Project, cm); aerr == nil {
			out = append(out, pair)
		}
	}
	for _, x := range toSlice(px.Body["sslCertificates"]) {
		sc := s.ref(x)
		if sc == nil {
			continue
		}
		certPEM, _ := sc.Body["certificate"].(string)
		keyPEM, _ := sc.Body[hiddenKey].(string)
		if pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err == nil {
			out = append(out, pair)
		}
	}
	return out
}

// IssuerCA is the PEM of the CA that signs the fake's Google-managed
// certificates: trust it to verify an HTTPS load balancer that serves one.
func (s *Server) IssuerCA() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureIssuer(); err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.issuer.Certificate[0]})
}
