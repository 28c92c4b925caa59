package gcpfake

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// backend is one place a request can go.
type backend struct {
	addr string // host:port to dial
	side string // "gcp" or "dc"
	tls  bool   // the backend service speaks HTTPS to it
	// What the request went through, for the load balancer's metrics
	// (monitoring.go).
	project, urlMap, rule, proxy string
	service, group, groupType    string
}

// lbHandler serves a global forwarding rule's address: each request is
// routed anew, so a weight shift takes effect on the next request, as on
// Google's load balancers.
func (s *Server) lbHandler(ruleKey string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		be, status, why := s.route(ruleKey)
		w := &statusWriter{ResponseWriter: rw}
		defer func() {
			code := w.status
			if code == 0 {
				code = http.StatusOK
			}
			s.mon.record(lbRequest{project: be.project, urlMap: be.urlMap, rule: be.rule, proxy: be.proxy,
				service: be.service, group: be.group, groupType: be.groupType, status: code, latency: time.Since(start)})
		}()
		if status != 0 {
			if be.side != "" {
				w.Header().Set(ServedByHeader, be.side)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "gcpfake load balancer %s: %s\n", lastSegment(ruleKey), why)
			return
		}
		rp := &httputil.ReverseProxy{
			Transport: s.dp.transport,
			Rewrite: func(pr *httputil.ProxyRequest) {
				scheme := "http"
				if be.tls {
					scheme = "https" // dp.transport does not verify, as GCP does not
				}
				pr.SetURL(&url.URL{Scheme: scheme, Host: be.addr})
				pr.Out.Host = pr.In.Host
				pr.SetXForwarded()
			},
			ModifyResponse: func(resp *http.Response) error {
				resp.Header.Set(ServedByHeader, be.side)
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				w.Header().Set(ServedByHeader, be.side)
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, "gcpfake load balancer %s: backend %s (%s) failed: %v\n", lastSegment(ruleKey), be.addr, be.side, err)
			},
		}
		rp.ServeHTTP(w, r)
	})
}

// route picks the backend of one request: forwarding rule → target proxy →
// URL map → a backend service by the default route's weights (or the
// default service) → a healthy backend of it. A non-zero status is the
// load balancer's own answer (502 when nothing healthy serves).
func (s *Server) route(ruleKey string) (backend, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fr := s.state.Objects[ruleKey]
	if fr == nil {
		return backend{}, http.StatusNotFound, "forwarding rule deleted"
	}
	at := backend{project: fr.Project, rule: fr.Name}
	px := s.ref(fr.Body["target"])
	if px == nil || !isProxyKind(px.Kind) {
		return at, http.StatusBadGateway, fmt.Sprintf("target %v is not a target HTTP(S) proxy", fr.Body["target"])
	}
	at.proxy = px.Name
	um := s.ref(px.Body["urlMap"])
	if um == nil {
		return at, http.StatusBadGateway, fmt.Sprintf("proxy %s has no URL map", px.Name)
	}
	at.urlMap = um.Name
	svc, why := pickService(um)
	if svc == "" {
		return at, http.StatusServiceUnavailable, why
	}
	bs := s.ref(svc)
	if bs == nil || bs.Kind != "backendServices" {
		return at, http.StatusBadGateway, fmt.Sprintf("URL map %s routes to %s, which is not a backend service", um.Name, svc)
	}
	at.service = bs.Name
	cands := s.healthyBackends(bs)
	if len(cands) == 0 {
		if s.hasHybrid(bs) {
			at.side = "dc"
		} else if len(toSlice(bs.Body["backends"])) > 0 {
			at.side = "gcp"
		}
		return at, http.StatusBadGateway, fmt.Sprintf("backend service %s has no healthy backend", bs.Name)
	}
	be := cands[rand.IntN(len(cands))]
	be.project, be.rule, be.proxy, be.urlMap, be.service = at.project, at.rule, at.proxy, at.urlMap, at.service
	be.tls = backendKind(bs) == "https"
	return be, 0, ""
}

// ref resolves a stored reference (a selfLink). Called with s.mu held.
func (s *Server) ref(v any) *object {
	str, _ := v.(string)
	if str == "" {
		return nil
	}
	return s.state.Objects[strings.TrimPrefix(str, computeBase)]
}

// pickService draws a backend service by the default route's weights.
func pickService(um *object) (string, string) {
	if ra, ok := um.Body["defaultRouteAction"].(map[string]any); ok {
		ws := toSlice(ra["weightedBackendServices"])
		total := 0
		for _, x := range ws {
			w, _ := x.(map[string]any)
			total += toInt(w["weight"])
		}
		if len(ws) > 0 {
			if total == 0 {
				return "", fmt.Sprintf("URL map %s: every weighted backend service has weight 0", um.Name)
			}
			n := rand.IntN(total)
			for _, x := range ws {
				w, _ := x.(map[string]any)
				if n -= toInt(w["weight"]); n < 0 {
					return fmt.Sprint(w["backendService"]), ""
				}
			}
		}
	}
	if ds, _ := um.Body["defaultService"].(string); ds != "" {
		return ds, ""
	}
	return "", fmt.Sprintf("URL map %s has no default route", um.Name)
}

func (s *Server) hasHybrid(bs *object) bool {
	for _, x := range toSlice(bs.Body["backends"]) {
		be, _ := x.(map[string]any)
		if g := s.ref(be["group"]); g != nil && g.Body["networkEndpointType"] == "NON_GCP_PRIVATE_IP_PORT" {
			return true
		}
	}
	return false
}

// healthyBackends lists where bs can send a request now: RUNNING members
// of its instance groups whose app answers on the group's named port (the
// service's portName, "http" by default), GCE endpoints, and hybrid NEG
// endpoints that Options.Hybrid maps to a local address. Called with s.mu
// held.
func (s *Server) healthyBackends(bs *object) []backend {
	name := portName(bs)
	var out []backend
	for _, x := range toSlice(bs.Body["backends"]) {
		be, _ := x.(map[string]any)
		g := s.ref(be["group"])
		if g == nil {
			continue
		}
		switch g.Kind {
		case "instanceGroups":
			port := namedPort(g, name)
			if port == 0 {
				continue
			}
			for _, m := range g.Members {
				inst := s.ref(m)
				if inst == nil || inst.Body["status"] != "RUNNING" {
					continue
				}
				addr := net.JoinHostPort(instanceIP(inst), strconv.Itoa(port))
				if s.listening(addr) {
					out = append(out, backend{addr: addr, side: "gcp", group: g.Name, groupType: "INSTANCE_GROUP"})
				}
			}
		case "networkEndpointGroups":
			hybrid := g.Body["networkEndpointType"] == "NON_GCP_PRIVATE_IP_PORT"
			for _, e := range g.Endpoints {
				ip, port := fmt.Sprint(e["ipAddress"]), toInt(e["port"])
				if !hybrid {
					out = append(out, backend{addr: net.JoinHostPort(ip, strconv.Itoa(port)), side: "gcp", group: g.Name, groupType: "NETWORK_ENDPOINT_GROUP"})
					continue
				}
				if s.opts.Hybrid == nil {
					continue
				}
				if addr := s.opts.Hybrid(ip, port); addr != "" {
					out = append(out, backend{addr: addr, side: "dc", group: g.Name, groupType: "NETWORK_ENDPOINT_GROUP"})
				}
			}
		}
	}
	return out
}

// listening reports whether the data plane serves addr. It reads the
// listener table without the reconcile lock: a stale answer only routes a
// request to a backend that just went away, which then fails as it would.
func (s *Server) listening(addr string) bool {
	s.dp.lmu.RLock()
	defer s.dp.lmu.RUnlock()
	_, ok := s.dp.live[addr]
	return ok
}
