package traffic

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

// SLOSample is one evaluation of the SLO during a bake: what each source
// saw and the verdict.
type SLOSample struct {
	At     time.Time `json:"at"`
	Pass   bool      `json:"pass"`
	Reason string    `json:"reason,omitempty"` // why it breached
	// Unmeasured names the sources that could not be read this time
	// (transient errors: the other sources still judge).
	Unmeasured string       `json:"unmeasured,omitempty"`
	Probe      *ProbeSample `json:"probe,omitempty"`
	LB         *LBSample    `json:"lb,omitempty"`
	Burn       []BurnSample `json:"burn,omitempty"`
	Prometheus *float64     `json:"prometheus,omitempty"` // the plan's prometheus_query
}

// ProbeSample is one evaluation's synthetic requests over every target.
type ProbeSample struct {
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	P95        time.Duration `json:"p95"`
	FirstError string        `json:"firstError,omitempty"`
}

// Watcher evaluates an app's SLO from its sources; the activity calls
// Evaluate every SLO.Watch.Every through a bake.
type Watcher struct {
	SLO plan.SLO
	// Probe and Targets: the synthetic probe (nil: none).
	Probe   *Probe
	Targets []Target
	// LB: the load balancer's metrics of BackendService in Project (nil:
	// none).
	LB             TimeSeriesLister
	Project        string
	BackendService string
	// Prom: the burn-rate rules' Prometheus (nil: none); LegacyProm runs
	// the plan's single prometheus_query, when it has one.
	Prom       *Prometheus
	LegacyProm *Prometheus
	Now        func() time.Time
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Evaluate measures once and judges: the probe over the samples of the
// window (history holds the earlier ones), the load balancer's metrics
// over the window, and every burn-rate rule. A source that cannot be read
// for a transient reason is named in Unmeasured; a permanent failure (a
// refused query, bad credentials) is an error.
func (w *Watcher) Evaluate(ctx context.Context, history []SLOSample) (SLOSample, error) {
	watch := w.SLO.Watch
	window := watch.Window
	if window <= 0 {
		window = plan.DefaultSLOWindow
	}
	minReq := watch.MinRequests
	if minReq <= 0 {
		minReq = plan.DefaultSLOMinRequests
	}
	s := SLOSample{At: w.now().UTC(), Pass: true}
	var reasons, unmeasured []string
	transient := func(src string, err error) error {
		if IsPermanent(err) || ctx.Err() != nil {
			return err
		}
		unmeasured = append(unmeasured, src+": "+err.Error())
		return nil
	}

	if w.Probe != nil && len(w.Targets) > 0 {
		n := watch.ProbeRequests
		if n <= 0 {
			n = plan.DefaultSLOProbeRequests
		}
		ms, lat, err := w.Probe.measure(ctx, n, w.Targets)
		if err != nil {
			return SLOSample{}, err
		}
		p := &ProbeSample{P95: p95(lat)}
		for _, m := range ms {
			p.Requests += m.Requests
			p.Errors += m.Errors
			if p.FirstError == "" && m.FirstError != "" {
				p.FirstError = fmt.Sprintf("%s: %s", m.Target, m.FirstError)
			}
		}
		s.Probe = p
		req, errs := p.Requests, p.Errors
		for _, h := range history {
			if h.Probe != nil && s.At.Sub(h.At) < window {
				req += h.Probe.Requests
				errs += h.Probe.Errors
			}
		}
		if req >= minReq && float64(errs)/float64(req) > w.SLO.MaxErrorRatio {
			r := fmt.Sprintf("probe: error ratio %.3f > %.3f over the last %s (%d of %d failed", float64(errs)/float64(req), w.SLO.MaxErrorRatio, window, errs, req)
			if p.FirstError != "" {
				r += ", e.g. " + p.FirstError
			}
			reasons = append(reasons, r+")")
		}
		if w.SLO.MaxP95 > 0 && p.Requests > 0 && p.P95 > w.SLO.MaxP95 {
			reasons = append(reasons, fmt.Sprintf("probe: p95 latency %s > %s", p.P95.Round(time.Millisecond), w.SLO.MaxP95))
		}
	}

	if w.LB != nil {
		lb, err := LBMetrics(ctx, w.LB, w.Project, w.BackendService, window, s.At)
		if err != nil {
			if err := transient("load balancer metrics", err); err != nil {
				return SLOSample{}, err
			}
		} else {
			s.LB = &lb
			if lb.Requests >= int64(minReq) {
				if ratio := float64(lb.Errors) / float64(lb.Requests); ratio > w.SLO.MaxErrorRatio {
					reasons = append(reasons, fmt.Sprintf("load balancer: 5xx ratio %.3f > %.3f on %s over the last %s (%d of %d)",
						ratio, w.SLO.MaxErrorRatio, w.BackendService, max(window, time.Minute), lb.Errors, lb.Requests))
				}
				if w.SLO.MaxP95 > 0 && lb.P95 > w.SLO.MaxP95 {
					reasons = append(reasons, fmt.Sprintf("load balancer: p95 latency %s > %s on %s", lb.P95.Round(time.Millisecond), w.SLO.MaxP95, w.BackendService))
				}
			}
		}
	}

	if w.Prom != nil && watch.Prometheus != nil {
		burn, err := EvaluateBurn(ctx, watch.Prometheus.BurnRates, watch.Prometheus.Objective, PromRatio(w.Prom, watch.Prometheus))
		if err != nil {
			if err := transient("prometheus", err); err != nil {
				return SLOSample{}, err
			}
		} else {
			s.Burn = burn
			if r := burnReason(burn, watch.Prometheus.Objective); r != "" {
				reasons = append(reasons, "prometheus: "+r)
			}
		}
	}

	if w.LegacyProm != nil && w.SLO.PrometheusQuery != "" {
		v, err := w.LegacyProm.Query(ctx, w.SLO.PrometheusQuery)
		switch {
		case err != nil && IsPermanent(err):
			reasons = append(reasons, err.Error())
		case err != nil:
			if err := transient("prometheus_query", err); err != nil {
				return SLOSample{}, err
			}
		default:
			s.Prometheus = &v
			if math.IsNaN(v) || v > w.SLO.PrometheusMax {
				reasons = append(reasons, fmt.Sprintf("prometheus %q = %g > %g", w.SLO.PrometheusQuery, v, w.SLO.PrometheusMax))
			}
		}
	}
	if len(reasons) > 0 {
		s.Pass = false
		s.Reason = strings.Join(reasons, "; ")
	}
	s.Unmeasured = strings.Join(unmeasured, "; ")
	return s, nil
}

// MaxSLOSamples bounds the samples kept as evidence: the first, and the
// latest ones.
const MaxSLOSamples = 40

// KeepSamples appends s and drops the oldest samples but the first beyond
// MaxSLOSamples.
func KeepSamples(samples []SLOSample, s SLOSample) []SLOSample {
	samples = append(samples, s)
	if len(samples) > MaxSLOSamples {
		samples = append(samples[:1], samples[len(samples)-MaxSLOSamples+1:]...)
	}
	return samples
}
