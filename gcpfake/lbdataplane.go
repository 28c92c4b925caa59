package gcpfake

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"

	"sync"
	"time"
)

// The data plane of the load balancer kinds beyond external HTTP: a rule
// to a target HTTPS proxy ends TLS with the proxy's certificates (chosen
// by SNI, re-read on every handshake) and routes as HTTP does; regional
// rules (internal Application LB) serve like global ones; a passthrough
// rule (INTERNAL) forwards each TCP connection to a healthy backend on the
// same port, and the instances behind TCP backend services answer with a
// TCP stand-in: a banner line "gcp NAME", then an echo of every line.

// backendKind is how a backend service talks to its backends: "tcp" for
// passthrough and TCP/SSL/UDP services, "https" for HTTPS ones (over TLS,
// without verifying the backend's certificate, as GCP's proxies do),
// else "http".
func backendKind(bs *object) string {
	p, _ := bs.Body["protocol"].(string)
	switch {
	case scheme(bs.Body) == "INTERNAL", p == "TCP", p == "SSL", p == "UDP", p == "UNSPECIFIED":
		return "tcp"
	case p == "HTTPS":
		return "https"
	}
	return "http"
}

// portName is the named port a proxy's backend service sends requests
// to ("http" when it names none, as GCP defaults).
func portName(bs *object) string {
	if n, _ := bs.Body["portName"].(string); n != "" {
		return n
	}
	return "http"
}

// namedPort is the port an instance group names name (0: none).
func namedPort(g *object, name string) int {
	port := 0
	for _, y := range toSlice(g.Body["namedPorts"]) {
		np, _ := y.(map[string]any)
		if np["name"] == name {
			port = toInt(np["port"])
		}
	}
	return port
}

// wantedRule adds the addresses a forwarding rule answers on. Called with
// s.mu held.
func (s *Server) wantedRule(k string, o *object, out map[string]wanted, errs map[string]string) {
	ip, _ := o.Body["IPAddress"].(string)
	if net.ParseIP(ip) == nil {
		errs[k] = fmt.Sprintf("IPAddress %q is not an IP address", ip)
		return
	}
	if bs, _ := o.Body["backendService"].(string); bs != "" {
		ports := toSlice(o.Body["ports"])
		if len(ports) == 0 {
			errs[k] = "a passthrough rule with allPorts is not served by the data plane; list its ports"
			return
		}
		for _, p := range ports {
			n := toInt(p)
			if n <= 0 || n > 65535 {
				errs[k] = fmt.Sprintf("port %v is not a port", p)
				return
			}
			out[net.JoinHostPort(ip, strconv.Itoa(n))] = wanted{owner: k, kind: "tcp"}
		}
		return
	}
	port, err := firstPort(o.Body["portRange"])
	if err != nil {
		errs[k] = err.Error()
		return
	}
	kind := "http"
	if px := s.ref(o.Body["target"]); px != nil && px.Kind == "targetHttpsProxies" {
		kind = "https"
		if o.Body["portRange"] == nil {
			port = 443
		}
	}
	out[net.JoinHostPort(ip, strconv.Itoa(port))] = wanted{owner: k, kind: kind}
}

// serveListener serves one data plane address.
func (s *Server) serveListener(ln net.Listener, w wanted) *dpListener {
	l := &dpListener{owner: w.owner, kind: w.kind}
	switch {
	case w.instance != nil && w.kind == "tcp":
		project, name := w.instance.Project, w.instance.Name
		l.close = serveConns(ln, func(c net.Conn) { s.tcpApp(c, project, name) })
	case w.kind == "tcp":
		owner := w.owner
		l.close = serveConns(ln, func(c net.Conn) { s.tcpLB(c, owner) })
	default:
		var h http.Handler
		if w.instance != nil {
			h = s.appHandler(w.instance.Project, w.instance.Name)
		} else {
			h = s.lbHandler(w.owner)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		switch {
		case w.kind == "https" && w.instance != nil:
			// The app serves TLS itself, with its own certificate.
			cert, err := SelfSigned(w.instance.Name)
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12,
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, err }}
			ln = tls.NewListener(ln, srv.TLSConfig)
		case w.kind == "https":
			owner := w.owner
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12,
				GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) { return s.ruleCertificate(owner, hello) }}
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
		l.close = srv.Close
		go func() { _ = srv.Serve(ln) }()
	}
	return l
}

// ruleCertificate picks the certificate of the rule's HTTPS proxy that
// matches the client's SNI (the first one without a match or SNI), as
// Google's front ends do.
func (s *Server) ruleCertificate(ruleKey string, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	var certs []tls.Certificate
	if fr := s.state.Objects[ruleKey]; fr != nil {
		if px := s.ref(fr.Body["target"]); px != nil {
			certs = s.proxyCertificates(px)
		}
	}
	s.mu.Unlock()
	if len(certs) == 0 {
		return nil, errors.New("gcpfake: the target HTTPS proxy has no usable certificate")
	}
	for i := range certs {
		if hello.SupportsCertificate(&certs[i]) == nil {
			return &certs[i], nil
		}
	}
	return &certs[0], nil
}

// serveConns accepts connections until closed; close also ends the open
// ones.
func serveConns(ln net.Listener, handle func(net.Conn)) func() error {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	closed := false
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			open[c] = true
			mu.Unlock()
			go func() {
				defer func() { mu.Lock(); delete(open, c); mu.Unlock(); c.Close() }()
				handle(c)
			}()
		}
	}()
	return func() error {
		err := ln.Close()
		mu.Lock()
		closed = true
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		return err
	}
}

// tcpApp is the TCP stand-in of the app on one instance: a banner, then an
// echo of each line. An AppFault with a Status drops the connection at
// once; a Delay holds the banner back.
func (s *Server) tcpApp(c net.Conn, project, instance string) {
	f := s.dp.fault(project, instance)
	if f.Status != 0 {
		return
	}
	if f.Delay > 0 {
		time.Sleep(f.Delay)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := fmt.Fprintf(c, "gcp %s\n", instance); err != nil {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			if _, werr := io.WriteString(c, line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// tcpLB forwards one connection to a healthy backend of the passthrough
// rule's backend service, on the port it arrived at.
func (s *Server) tcpLB(c net.Conn, ruleKey string) {
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	s.mu.Lock()
	var cands []string
	if fr := s.state.Objects[ruleKey]; fr != nil {
		if bs := s.ref(fr.Body["backendService"]); bs != nil {
			cands = s.passthroughBackends(bs, port)
		}
	}
	s.mu.Unlock()
	if len(cands) == 0 {
		return // no healthy backend: the connection is reset, as on GCP
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	b, err := (&net.Dialer{}).DialContext(ctx, "tcp", cands[rand.IntN(len(cands))])
	cancel()
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); closeWrite(b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// passthroughBackends lists RUNNING members of bs's instance groups that
// the data plane serves on port. Called with s.mu held.
func (s *Server) passthroughBackends(bs *object, port string) []string {
	var out []string
	for _, x := range toSlice(bs.Body["backends"]) {
		be, _ := x.(map[string]any)
		g := s.ref(be["group"])
		if g == nil || g.Kind != "instanceGroups" {
			continue
		}
		for _, m := range g.Members {
			inst := s.ref(m)
			if inst == nil || inst.Body["status"] != "RUNNING" {
				continue
			}
			addr := net.JoinHostPort(instanceIP(inst), port)
			if s.listening(addr) {
				out = append(out, addr)
			}
		}
	}
	return out
}

// isProxyKind reports whether a forwarding rule's target is an HTTP(S)
// proxy the data plane routes through a URL map.
func isProxyKind(kind string) bool {
	return kind == "targetHttpProxies" || kind == "targetHttpsProxies"
}
