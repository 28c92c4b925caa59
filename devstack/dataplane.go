package devstack

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
)

// datacenter stands in for the apps in the datacenter: one HTTP server on
// loopback per DC endpoint the plan names (cutover dc_endpoints, or the VMs'
// addresses on the health check port), answering 200 "dc <ip:port>" on any
// path. The endpoints are vCenter addresses (10.x) nothing here can reach;
// gcpfake's hybrid NEGs reach them through hybrid, the dev stack's
// "hybrid connectivity".
type datacenter struct {
	mu      sync.RWMutex
	addrs   map[string]string // DC endpoint "ip:port" -> local "127.0.0.1:port"
	servers []*http.Server
}

func newDatacenter() *datacenter { return &datacenter{addrs: map[string]string{}} }

// hybrid is gcpfake.Options.Hybrid: the local address of a DC endpoint, or
// "" for one no app of the plan has.
func (d *datacenter) hybrid(ip string, port int) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.addrs[net.JoinHostPort(ip, strconv.Itoa(port))]
}

// serve starts a stand-in for every DC endpoint of specs not served yet.
// An app whose VMs serve TLS themselves (health_check protocol https
// behind a proxy load balancer: backend protocol HTTPS) gets stand-ins
// that speak TLS, with a self-signed certificate for the endpoint, as
// such a VM would; the load balancer does not verify it, as on GCP.
func (d *datacenter) serve(specs []plan.AppSpec) error {
	tlsEP := map[string]bool{}
	var eps []string
	for _, s := range specs {
		eps = append(eps, s.Cutover.DCEndpoints...)
		if s.Cutover.BackendProtocol() == "HTTPS" {
			for _, ep := range s.Cutover.DCEndpoints {
				tlsEP[ep] = true
			}
		}
	}
	sort.Strings(eps)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range eps {
		if _, ok := d.addrs[ep]; ok {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("datacenter stand-in for %s: %w", ep, err)
		}
		if tlsEP[ep] {
			cert, err := gcpfake.SelfSigned(ep)
			if err != nil {
				ln.Close()
				return fmt.Errorf("datacenter stand-in for %s: %w", ep, err)
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		}
		body := []byte("dc " + ep + "\n")
		srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(body)
		})}
		go func() { _ = srv.Serve(ln) }()
		d.addrs[ep] = ln.Addr().String()
		d.servers = append(d.servers, srv)
	}
	return nil
}

// endpoints is how many DC endpoints have a stand-in.
func (d *datacenter) endpoints() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.addrs)
}

func (d *datacenter) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.servers {
		_ = s.Close()
	}
	d.servers = nil
}
