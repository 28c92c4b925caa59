package gcpfake

import (
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The data plane (Options.DataPlane) serves what the stored resources
// describe, on loopback: every instance gets its networkIP from
// InstancePool and an HTTP stand-in of the app on the ports the load
// balancer and its health checks use (behind TLS with the VM's own
// self-signed certificate where an HTTPS backend service or an https
// health check reaches it); every global forwarding rule gets its
// IPAddress from LBPool and routes requests as Google's external
// Application Load Balancer does: forwarding rule → target HTTP proxy →
// URL map (default route weights) → backend service → a healthy backend.
// All of 127.0.0.0/8 reaches the loopback interface on Linux, so nothing
// needs configuring.
const (
	InstancePool = "127.10" // 127.10.0.0/16
	LBPool       = "127.20" // 127.20.0.0/16
)

// AppFault makes the stand-in app on one instance misbehave: Delay holds
// each answer back, Status (when set) answers with that status instead of
// 200. The zero value clears the fault.
type AppFault struct {
	Status int
	Delay  time.Duration
}

// ServedByHeader names the side that answered a request through a
// forwarding rule: "gcp" (an instance group or GCE endpoint) or "dc" (a
// hybrid NEG endpoint, through Options.Hybrid).
const ServedByHeader = "X-Served-By"

type dataPlane struct {
	mu        sync.Mutex // held while reconciling; before Server.mu
	base      int        // random offset into the pools, so fakes in parallel processes rarely meet
	listeners map[string]*dpListener
	errs      map[string]string // resource key -> why it does not serve
	transport *http.Transport
	closed    bool

	// live mirrors the keys of listeners for the request path, which
	// holds Server.mu and so cannot take mu.
	lmu  sync.RWMutex
	live map[string]bool

	fmu    sync.Mutex
	faults map[string]AppFault // "project/instance"
}

type dpListener struct {
	owner string // object key of the instance or forwarding rule
	kind  string // see wanted.kind
	close func() error
}

func newDataPlane() *dataPlane {
	return &dataPlane{
		base:      rand.IntN(240) * 250,
		listeners: map[string]*dpListener{},
		live:      map[string]bool{},
		errs:      map[string]string{},
		faults:    map[string]AppFault{},
		transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
			// Used for HTTPS backend services only. GCP's proxies do not
			// verify backend certificates: a VM's self-signed one works.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as GCP
		},
	}
}

// allocLoopback hands out an address of a data plane pool. Called with
// s.mu held.
func (s *Server) allocLoopback(pool string) string {
	s.state.Seq++
	n := (s.dp.base + int(s.state.Seq)) % (250 * 250)
	return fmt.Sprintf("%s.%d.%d", pool, n/250, n%250+2)
}

// SetAppFault makes the stand-in app of one instance fail or slow down
// (see AppFault); AppFault{} clears it.
func (s *Server) SetAppFault(project, instance string, f AppFault) {
	if s.dp == nil {
		return
	}
	s.dp.fmu.Lock()
	defer s.dp.fmu.Unlock()
	if f == (AppFault{}) {
		delete(s.dp.faults, project+"/"+instance)
		return
	}
	s.dp.faults[project+"/"+instance] = f
}

func (dp *dataPlane) fault(project, instance string) AppFault {
	dp.fmu.Lock()
	defer dp.fmu.Unlock()
	return dp.faults[project+"/"+instance]
}

// DataPlaneAddrs lists the addresses the data plane listens on, sorted,
// each with the resource that owns it ("projects/p/zones/z/instances/n").
func (s *Server) DataPlaneAddrs() map[string]string {
	out := map[string]string{}
	if s.dp == nil {
		return out
	}
	s.dp.mu.Lock()
	defer s.dp.mu.Unlock()
	for addr, l := range s.dp.listeners {
		out[addr] = l.owner
	}
	return out
}

// DataPlaneErrors reports, by resource key, why a resource's address does
// not serve (an address that cannot be bound, an unparsable port range).
func (s *Server) DataPlaneErrors() map[string]string {
	out := map[string]string{}
	if s.dp == nil {
		return out
	}
	s.dp.mu.Lock()
	defer s.dp.mu.Unlock()
	for k, v := range s.dp.errs {
		out[k] = v
	}
	return out
}

// wanted is one address the stored resources say should answer.
type wanted struct {
	owner    string
	instance *object // nil for a forwarding rule
	// kind: "http" (an instance's HTTP stand-in, or a forwarding rule to
	// a target HTTP proxy), "https" (a rule to a target HTTPS proxy: TLS
	// ends here; or an instance's HTTP stand-in behind TLS, for an app
	// that serves TLS itself), "tcp" (an instance's TCP stand-in, or a
	// passthrough rule to an INTERNAL backend service).
	kind string
}

// wantedListeners derives the addresses to serve from the stored
// resources. Called with s.mu held.
func (s *Server) wantedListeners() (map[string]wanted, map[string]string) {
	out := map[string]wanted{}
	errs := map[string]string{}
	// Ports per instance group: its named ports, and the ports of the
	// health checks of the backend services that use it.
	// A port is "tcp" when only TCP-speaking backend services use it,
	// "https" when an HTTPS backend service or an https health check
	// reaches it: the app serves TLS there.
	groupPorts := map[string]map[int]string{}
	// A backend service's kind beats a bare named port (""); https beats
	// http beats tcp when several use the port.
	rank := map[string]int{"": 0, "tcp": 1, "http": 2, "https": 3}
	add := func(group string, port int, kind string) {
		if port <= 0 {
			return
		}
		if groupPorts[group] == nil {
			groupPorts[group] = map[int]string{}
		}
		if cur, ok := groupPorts[group][port]; !ok || rank[kind] > rank[cur] {
			groupPorts[group][port] = kind
		}
	}
	for k, o := range s.state.Objects {
		switch o.Kind {
		case "instanceGroups":
			for _, x := range toSlice(o.Body["namedPorts"]) {
				np, _ := x.(map[string]any)
				add(computeBase+k, toInt(np["port"]), "")
			}
		case "backendServices":
			kind := backendKind(o)
			var ports []int
			var tlsPorts []int // of https health checks
			for _, h := range toSlice(o.Body["healthChecks"]) {
				if hc := s.state.Objects[strings.TrimPrefix(fmt.Sprint(h), computeBase)]; hc != nil {
					if _, ok := hc.Body["httpsHealthCheck"]; ok {
						tlsPorts = append(tlsPorts, healthCheckPort(hc.Body))
						continue
					}
					ports = append(ports, healthCheckPort(hc.Body))
				}
			}
			// A passthrough rule keeps the destination port: the
			// instances answer on the rule's ports.
			for _, fr := range s.state.Objects {
				if fr.Kind == "forwardingRules" && s.ref(fr.Body["backendService"]) == o {
					for _, p := range toSlice(fr.Body["ports"]) {
						ports = append(ports, toInt(p))
					}
				}
			}
			for _, x := range toSlice(o.Body["backends"]) {
				be, _ := x.(map[string]any)
				group := fmt.Sprint(be["group"])
				for _, p := range ports {
					add(group, p, kind)
				}
				for _, p := range tlsPorts {
					add(group, p, "https")
				}
				// An HTTPS service sends requests over TLS to the
				// named port it names, wherever its checks look.
				if g := s.ref(be["group"]); kind == "https" && g != nil {
					add(group, namedPort(g, portName(o)), kind)
				}
			}
		}
	}
	for k, o := range s.state.Objects {
		switch o.Kind {
		case "instanceGroups":
			for _, m := range o.Members {
				inst := s.state.Objects[strings.TrimPrefix(m, computeBase)]
				ip := instanceIP(inst)
				if inst == nil || inst.Body["status"] != "RUNNING" || !strings.HasPrefix(ip, "127.") {
					continue
				}
				for p, kind := range groupPorts[computeBase+k] {
					if kind == "" {
						kind = "http"
					}
					out[net.JoinHostPort(ip, strconv.Itoa(p))] = wanted{owner: strings.TrimPrefix(m, computeBase), instance: inst, kind: kind}
				}
			}
		case "forwardingRules":
			s.wantedRule(k, o, out, errs)
		}
	}
	return out, errs
}

func healthCheckPort(b map[string]any) int {
	for _, t := range []string{"http", "https", "http2", "tcp", "ssl", "grpc"} {
		if hc, ok := b[t+"HealthCheck"].(map[string]any); ok {
			if p := toInt(hc["port"]); p > 0 {
				return p
			}
			if t == "https" || t == "ssl" {
				return 443
			}
			return 80
		}
	}
	return 0
}

func instanceIP(inst *object) string {
	if inst == nil {
		return ""
	}
	if nics := toSlice(inst.Body["networkInterfaces"]); len(nics) > 0 {
		if nic, ok := nics[0].(map[string]any); ok {
			ip, _ := nic["networkIP"].(string)
			return ip
		}
	}
	return ""
}

// firstPort reads a forwarding rule's portRange ("80", "8080-8080");
// absent means 80, as for a target HTTP proxy.
func firstPort(v any) (int, error) {
	s := fmt.Sprint(v)
	if v == nil || s == "" {
		return 80, nil
	}
	if i := strings.Index(s, "-"); i > 0 {
		s = s[:i]
	}
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("portRange %q is not a port or port range", fmt.Sprint(v))
	}
	return p, nil
}

// reconcile starts and stops listeners so that the data plane serves
// exactly what the stored resources describe. It runs after every change
// (and at start), outside s.mu.
func (s *Server) reconcile() {
	if s.dp == nil {
		return
	}
	dp := s.dp
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return
	}
	s.mu.Lock()
	want, errs := s.wantedListeners()
	s.mu.Unlock()
	for addr, l := range dp.listeners {
		if w, ok := want[addr]; !ok || w.owner != l.owner || w.kind != l.kind {
			_ = l.close()
			delete(dp.listeners, addr)
		}
	}
	addrs := make([]string, 0, len(want))
	for addr := range want {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	for _, addr := range addrs {
		w := want[addr]
		if _, ok := dp.listeners[addr]; ok {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			msg := fmt.Sprintf("listen on %s: %v", addr, err)
			errs[w.owner] = msg
			s.logf("gcpfake: data plane of %s cannot serve: %s", w.owner, msg)
			continue
		}
		dp.listeners[addr] = s.serveListener(ln, w)
	}
	dp.errs = errs
	dp.setLive()
}

// setLive copies the listener table for listening. Called with dp.mu held.
func (dp *dataPlane) setLive() {
	live := make(map[string]bool, len(dp.listeners))
	for addr := range dp.listeners {
		live[addr] = true
	}
	dp.lmu.Lock()
	dp.live = live
	dp.lmu.Unlock()
}

// closeDataPlane stops every data plane listener.
func (s *Server) closeDataPlane() {
	if s.dp == nil {
		return
	}
	s.dp.mu.Lock()
	defer s.dp.mu.Unlock()
	s.dp.closed = true
	for addr, l := range s.dp.listeners {
		_ = l.close()
		delete(s.dp.listeners, addr)
	}
	s.dp.setLive()
	s.dp.transport.CloseIdleConnections()
}

// appHandler is the stand-in of the app on one instance: 200 "gcp NAME"
// on any path, unless SetAppFault says otherwise.
func (s *Server) appHandler(project, instance string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.dp.fault(project, instance)
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if f.Status != 0 {
			w.WriteHeader(f.Status)
			fmt.Fprintf(w, "gcp %s: injected fault %d\n", instance, f.Status)
			return
		}
		fmt.Fprintf(w, "gcp %s\n", instance)
	})
}
