package traffic

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// tcpHangup is how long a TCP probe waits after connecting for the server
// to hang up: a load balancer with no healthy backend accepts and closes
// (or resets), a live server waits for its client or greets it.
const tcpHangup = 150 * time.Millisecond

// onceTCP probes a tcp://HOST:PORT target (a passthrough load balancer):
// the connection must open and stay open; its latency is the connect time.
func (p *Probe) onceTCP(ctx context.Context, t int, url string) sample {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "tcp://"), "/")
	start := time.Now()
	d := net.Dialer{Timeout: p.client().Timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return sample{target: t, d: time.Since(start), err: shortErr(err)}
	}
	defer c.Close()
	s := sample{target: t, d: time.Since(start)}
	_ = c.SetReadDeadline(time.Now().Add(tcpHangup))
	var b [1]byte
	_, err = c.Read(b[:])
	var ne net.Error
	switch {
	case err == nil, errors.As(err, &ne) && ne.Timeout():
	case errors.Is(err, io.EOF):
		s.err = "connection closed by the server at once (no healthy backend?)"
	default:
		s.err = shortErr(err)
	}
	return s
}

// probeTransport trusts Config.ProbeRootCAs besides the system roots, so
// the gate can verify an HTTPS load balancer whose certificate a private
// CA signed.
func (c Config) probeTransport() http.RoundTripper {
	if c.ProbeRootCAs == "" {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(c.ProbeRootCAs)
	if err != nil || !pool.AppendCertsFromPEM(b) {
		// Verification then fails with the system roots only, and the
		// gate's reason names the certificate error.
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr
}
