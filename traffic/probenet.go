package traffic

// How the probes reach the app: the CAs they trust besides the system's
// (Config.ProbeRootCAs) and the DNS server that resolves the app's names
// (Config.Resolver). A gate that probes https://shop.example.com/ must
// resolve the name as the app's clients do — a split-horizon view, or the
// dev stack's DNS server — and verify the certificate against that name.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// resolverAddr checks a resolver address and gives it a port (53) when it
// has none: "10.0.0.53", "10.0.0.53:5353", "[fd00::53]:53", "dns.corp:53".
func resolverAddr(s string) (string, error) {
	if strings.ContainsAny(s, "/@ ") {
		return "", fmt.Errorf("resolver %q is not host:port of a DNS server, e.g. 10.0.0.53:53", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port (or an IPv6 address without brackets).
		host, port = s, "53"
		if ip := net.ParseIP(s); ip == nil && !validHost(s) {
			return "", fmt.Errorf("resolver %q is not host:port of a DNS server, e.g. 10.0.0.53:53", s)
		}
	}
	if host == "" {
		return "", fmt.Errorf("resolver %q names no host; write host:port of a DNS server, e.g. 10.0.0.53:53", s)
	}
	if p, err := net.LookupPort("udp", port); err != nil || p <= 0 {
		return "", fmt.Errorf("resolver %q: %q is not a port", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// validHost: letters, digits, '-', '.' and '_' only.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// ProbeResolver is the resolver of the probes: Go's own (the pure Go one),
// asking only Config.Resolver over UDP and, for truncated answers, TCP;
// nil (the system's) when Config.Resolver is empty. /etc/hosts still comes
// first, as for every Go resolver.
func (c Config) ProbeResolver() *net.Resolver {
	if c.Resolver == "" {
		return nil
	}
	addr, err := resolverAddr(c.Resolver)
	if err != nil {
		addr = c.Resolver // the dial fails and the probe's error names it
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// rootCAs is the system's roots and the PEM file's certificates.
func rootCAs(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the probes' CA certificates: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// probeTransport is the probes' HTTP transport: it trusts
// Config.ProbeRootCAs besides the system roots and resolves through
// Config.Resolver; nil (http.DefaultTransport) when neither is set.
func (c Config) probeTransport() http.RoundTripper {
	var pool *x509.CertPool
	if c.ProbeRootCAs != "" {
		// Unreadable, verification fails with the system roots only and
		// the gate's reason names the certificate error (ConfigFromEnv
		// refuses such a file at the worker's start).
		pool, _ = rootCAs(c.ProbeRootCAs)
	}
	r := c.ProbeResolver()
	if pool == nil && r == nil {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if r != nil {
		// As http.DefaultTransport's dialer, with the probes' resolver.
		tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: r}).DialContext
	}
	return tr
}

// dialer is the probes' TCP dialer (tcp:// targets, tcp health checks).
func (p *Probe) dialer() *net.Dialer {
	return &net.Dialer{Timeout: p.client().Timeout, Resolver: p.Resolver}
}
