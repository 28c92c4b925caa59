package traffic

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/ferrymigrate/ferry/plan"
)

// Health is one GCP instance's health.
type Health struct {
	Instance string `json:"instance"`
	Healthy  bool   `json:"healthy"`
	Detail   string `json:"detail"`
}

// InstanceURL is the health URL of one instance: the plan's health check
// port and path on the instance's address.
func InstanceURL(hc plan.HealthCheck, in Instance) string {
	port := hc.Port
	if port == 0 {
		port = 80
	}
	p := hc.Path
	if p == "" {
		p = "/"
	} else if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	scheme := "http"
	if strings.EqualFold(hc.Protocol, "https") {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(in.Address, strconv.Itoa(port)) + p
}

// GateTargets are what the SLO gate probes: the app's public URL (what
// users get, through the split) and each GCP instance directly (GCP alone,
// even when it takes a small share of the traffic). A tcp health check
// means the app speaks no HTTP on its instances, so only the public URL is
// probed.
func GateTargets(spec plan.AppSpec, insts []Instance) []Target {
	var ts []Target
	if u := spec.Cutover.PublicURL; u != "" {
		ts = append(ts, Target{Name: "public", URL: u})
	}
	if strings.EqualFold(spec.Cutover.HealthCheck.Protocol, "tcp") {
		return ts
	}
	for _, in := range insts {
		ts = append(ts, Target{Name: "gcp " + in.Name, URL: InstanceURL(spec.Cutover.HealthCheck, in),
			Instance: strings.EqualFold(spec.Cutover.HealthCheck.Protocol, "https")})
	}
	return ts
}

// CheckInstances probes every instance once: RUNNING on GCE, then an HTTP
// answer below 400 (over TLS, unverified, for protocol https; a TCP
// connect for protocol tcp) on the health check port.
func (p *Probe) CheckInstances(ctx context.Context, hc plan.HealthCheck, insts []Instance) []Health {
	out := make([]Health, len(insts))
	if strings.EqualFold(hc.Protocol, "https") {
		q := *p
		q.Client = p.instanceClient()
		defer q.Client.CloseIdleConnections()
		p = &q
	}
	sem := make(chan struct{}, max(p.Concurrency, 1))
	var wg sync.WaitGroup
	for i, in := range insts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = p.checkOne(ctx, hc, in)
		})
	}
	wg.Wait()
	return out
}

func (p *Probe) checkOne(ctx context.Context, hc plan.HealthCheck, in Instance) Health {
	h := Health{Instance: in.Name}
	switch {
	case in.Status != "RUNNING":
		h.Detail = fmt.Sprintf("%s: GCE status %s, want RUNNING", in.Name, in.Status)
		return h
	case in.Address == "":
		h.Detail = fmt.Sprintf("%s: no address", in.Name)
		return h
	}
	if strings.EqualFold(hc.Protocol, "tcp") {
		port := hc.Port
		if port == 0 {
			port = 80
		}
		addr := net.JoinHostPort(in.Address, strconv.Itoa(port))
		c, err := p.dialer().DialContext(ctx, "tcp", addr)
		if err != nil {
			h.Detail = fmt.Sprintf("%s: tcp %s: %s", in.Name, addr, shortErr(err))
			return h
		}
		c.Close()
		h.Healthy, h.Detail = true, fmt.Sprintf("%s: tcp %s open", in.Name, addr)
		return h
	}
	u := InstanceURL(hc, in)
	s := p.once(ctx, 0, u)
	if s.err != "" {
		h.Detail = fmt.Sprintf("%s: GET %s: %s", in.Name, u, s.err)
		return h
	}
	h.Healthy, h.Detail = true, fmt.Sprintf("%s: GET %s ok in %s", in.Name, u, s.d.Round(100_000))
	return h
}

// instanceClient is the probe's client for instances with an https health
// check: TLS without verifying the certificate. A VM that serves TLS
// itself holds a certificate for its datacenter name (often self-signed),
// never for the GCE address probed here, so verifying would fail on every
// healthy instance; GCP's own health checks do not verify either. Only
// instance probes use it: the public URL is what users reach and keeps
// verifying against the system and configured root CAs (p.client()).
func (p *Probe) instanceClient() *http.Client {
	c := *p.client()
	tr, ok := c.Transport.(*http.Transport)
	if ok {
		tr = tr.Clone()
	} else {
		// The default transport, or one this probe cannot adjust: dial
		// as the probe does, with the default transport's settings.
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = p.dialer().DialContext
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // instances: as GCP's health checks, see above
	c.Transport = tr
	return &c
}
