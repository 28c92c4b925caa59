package traffic

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

// Target is one URL the SLO gate probes.
type Target struct {
	Name string `json:"name"` // e.g. "public", "gcp web-1"
	URL  string `json:"url"`
	// Instance marks an instance behind an https health check: probed
	// over TLS without verifying, as its health checks are
	// (instanceClient). Every other target is verified.
	Instance bool `json:"instance,omitempty"`
}

// Measurement is what the probe saw of one target.
type Measurement struct {
	Target     string        `json:"target"`
	URL        string        `json:"url"`
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	ErrorRatio float64       `json:"errorRatio"`
	P95        time.Duration `json:"p95"`
	FirstError string        `json:"firstError,omitempty"`
}

// Verdict is the SLO gate's decision with the measurements behind it.
type Verdict struct {
	Pass       bool          `json:"pass"`
	Reason     string        `json:"reason,omitempty"` // what failed, when Pass is false
	Requests   int           `json:"requests"`
	ErrorRatio float64       `json:"errorRatio"`
	P95        time.Duration `json:"p95"`
	Prometheus *float64      `json:"prometheus,omitempty"`
	Targets    []Measurement `json:"targets"`
}

// Probe measures error ratio and p95 latency of HTTP targets against an
// SLO, and optionally a Prometheus instant query.
type Probe struct {
	Client      *http.Client // default: one with Config.ProbeTimeout
	Concurrency int          // parallel requests across all targets
	// Resolver resolves tcp:// targets' host names (nil: the system's);
	// NewProbe's Client resolves HTTP targets' with the same one.
	Resolver *net.Resolver

	prom *http.Client // the SLO's Prometheus query: the system's resolver
}

// NewProbe returns a probe with cfg's bounds.
func NewProbe(cfg Config) *Probe {
	sys := cfg
	sys.Resolver = ""
	return &Probe{Client: &http.Client{Timeout: cfg.probeTimeout(), Transport: cfg.probeTransport()}, Concurrency: cfg.probeConcurrency(),
		Resolver: cfg.ProbeResolver(), prom: &http.Client{Timeout: cfg.probeTimeout(), Transport: sys.probeTransport()}}
}

// Gate sends slo.Requests GET requests to every target (concurrently,
// bounded), then compares each target's error ratio and p95 with the SLO,
// and, when the SLO names one, the Prometheus query with PrometheusMax.
// A failing app is a Verdict with Pass false; an error means the gate could
// not measure (context ended, Prometheus unreachable).
func (p *Probe) Gate(ctx context.Context, slo plan.SLO, targets []Target) (Verdict, error) {
	n := slo.Requests
	if n <= 0 {
		n = DefaultRequests
	}
	ms, lat, err := p.measure(ctx, n, targets)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Pass: true, Targets: ms}
	var errs int
	for _, m := range ms {
		v.Requests += m.Requests
		errs += m.Errors
	}
	if v.Requests > 0 {
		v.ErrorRatio = float64(errs) / float64(v.Requests)
	}
	v.P95 = p95(lat)
	var reasons []string
	for _, m := range ms {
		if m.ErrorRatio > slo.MaxErrorRatio {
			r := fmt.Sprintf("%s (%s): error ratio %.3f > %.3f (%d of %d failed", m.Target, m.URL, m.ErrorRatio, slo.MaxErrorRatio, m.Errors, m.Requests)
			if m.FirstError != "" {
				r += ", first: " + m.FirstError
			}
			reasons = append(reasons, r+")")
		}
		if slo.MaxP95 > 0 && m.P95 > slo.MaxP95 {
			reasons = append(reasons, fmt.Sprintf("%s (%s): p95 latency %s > %s", m.Target, m.URL, m.P95.Round(time.Millisecond), slo.MaxP95))
		}
	}
	if slo.PrometheusURL != "" && slo.PrometheusQuery != "" {
		val, err := PrometheusQuery(ctx, p.promClient(), slo.PrometheusURL, slo.PrometheusQuery)
		switch {
		case err != nil && IsPermanent(err):
			reasons = append(reasons, err.Error())
		case err != nil:
			return Verdict{}, err
		default:
			v.Prometheus = &val
			if math.IsNaN(val) || val > slo.PrometheusMax {
				reasons = append(reasons, fmt.Sprintf("prometheus %q = %g > %g", slo.PrometheusQuery, val, slo.PrometheusMax))
			}
		}
	}
	if len(reasons) > 0 {
		v.Pass = false
		v.Reason = strings.Join(reasons, "; ")
	}
	return v, nil
}

func (p *Probe) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return &http.Client{Timeout: DefaultProbeTimeout}
}

// promClient queries Prometheus: the probes' CAs without their resolver,
// which answers for the app's names and may know no other.
func (p *Probe) promClient() *http.Client {
	if p.prom != nil {
		return p.prom
	}
	return p.client()
}

type sample struct {
	target int
	d      time.Duration
	err    string
}

// measure runs n requests per target through a bounded pool of workers.
func (p *Probe) measure(ctx context.Context, n int, targets []Target) ([]Measurement, []time.Duration, error) {
	workers := p.Concurrency
	if workers <= 0 {
		workers = DefaultProbeConcurrency
	}
	clients := make([]*http.Client, len(targets))
	var unverified *http.Client
	for i, t := range targets {
		clients[i] = p.client()
		if t.Instance {
			if unverified == nil {
				unverified = p.instanceClient()
				defer unverified.CloseIdleConnections()
			}
			clients[i] = unverified
		}
	}
	jobs := make(chan int)
	results := make(chan sample)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for t := range jobs {
				results <- p.onceWith(ctx, clients[t], t, targets[t].URL)
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range n * len(targets) {
			select {
			case jobs <- i % len(targets):
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	ms := make([]Measurement, len(targets))
	lats := make([][]time.Duration, len(targets))
	var all []time.Duration
	for s := range results {
		m := &ms[s.target]
		m.Requests++
		lats[s.target] = append(lats[s.target], s.d)
		all = append(all, s.d)
		if s.err != "" {
			m.Errors++
			if m.FirstError == "" {
				m.FirstError = s.err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("traffic: slo gate interrupted: %w", err)
	}
	for i, t := range targets {
		ms[i].Target, ms[i].URL = t.Name, redactURL(t.URL)
		if ms[i].Requests > 0 {
			ms[i].ErrorRatio = float64(ms[i].Errors) / float64(ms[i].Requests)
		}
		ms[i].P95 = p95(lats[i])
	}
	return ms, all, nil
}

func (p *Probe) once(ctx context.Context, t int, url string) sample {
	return p.onceWith(ctx, p.client(), t, url)
}

func (p *Probe) onceWith(ctx context.Context, c *http.Client, t int, url string) sample {
	if strings.HasPrefix(url, "tcp://") {
		return p.onceTCP(ctx, t, url) // tcpprobe.go
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return sample{target: t, err: err.Error()}
	}
	req.Header.Set("User-Agent", "ferry-slo-gate")
	resp, err := c.Do(req)
	if err != nil {
		return sample{target: t, d: time.Since(start), err: shortErr(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	s := sample{target: t, d: time.Since(start)}
	if resp.StatusCode >= 400 {
		s.err = resp.Status
	}
	return s
}

// shortErr keeps the tail of a transport error: the URL is already in the
// measurement.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// p95 is the nearest-rank 95th percentile.
func p95(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(0.95*float64(len(s)))) - 1
	return s[max(i, 0)]
}
