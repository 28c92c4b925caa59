package activities

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/redact"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// WatchSLOInput watches one traffic step's bake until Until.
type WatchSLOInput struct {
	Plan    PlanRef `json:"plan"`
	Percent int     `json:"percent"`
	// Until is the end of the bake (workflow time): a retried attempt
	// watches until the same moment, not a whole bake more.
	Until time.Time `json:"until"`
}

// watchProgress is the heartbeat: the samples so far, so an attempt on
// another worker resumes the watch where it was.
type watchProgress struct {
	Samples     []traffic.SLOSample `json:"samples"`
	Evaluations int                 `json:"evaluations"`
}

// WatchSLO evaluates the app's SLO every plan SLO.Watch.Every through a
// traffic step's bake, from the synthetic probe, the load balancer's own
// metrics (Cloud Monitoring) and Prometheus burn-rate rules, as the plan
// says. It returns at the first breach with Pass=false and the reason (the
// workflow rolls back at once), or with Pass=true once the bake is over;
// it always evaluates at least once. It heartbeats every evaluation with
// the samples so far. Errors mean the gate could not measure: transient
// ones are retried, a refused query or credential is not.
func (a *Activities) WatchSLO(ctx context.Context, in WatchSLOInput) (SLOGateResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SLOGateResult{}, err
	}
	w, closeFn, err := a.watcher(ctx, spec)
	if err != nil {
		return SLOGateResult{}, trafficError(err, runbooks.ReasonSLOGate)
	}
	defer closeFn()
	var prog watchProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prog) // a garbled one starts afresh
	}
	every := spec.Cutover.SLO.Watch.Every
	if every <= 0 {
		every = plan.DefaultSLOEvery
	}
	log := activity.GetLogger(ctx)
	// Heartbeats go on between evaluations too, so a lost worker is
	// noticed within the heartbeat timeout whatever the interval.
	var mu sync.Mutex
	snapshot := func() any {
		mu.Lock()
		defer mu.Unlock()
		return watchProgress{Samples: slices.Clone(prog.Samples), Evaluations: prog.Evaluations}
	}
	stop := keepAlive(ctx, snapshot)
	defer stop()
	failures := 0
	for {
		s, err := w.Evaluate(ctx, prog.Samples)
		if err != nil {
			return SLOGateResult{}, trafficError(err, runbooks.ReasonSLOGate)
		}
		mu.Lock()
		prog.Evaluations++
		prog.Samples = traffic.KeepSamples(prog.Samples, s)
		mu.Unlock()
		activity.RecordHeartbeat(ctx, snapshot())
		if !s.Pass {
			log.Warn("SLO breached during the bake", "app", spec.Name, "percent", in.Percent, "reason", s.Reason)
			return a.watchResult(in, prog, fmt.Sprintf("at %d%% GCP: %s", in.Percent, s.Reason)), nil
		}
		// A source that stays unreadable must not pass a bake blind.
		if s.Unmeasured != "" {
			failures++
			if failures >= 3 {
				return SLOGateResult{}, temporal.NewApplicationError(
					fmt.Sprintf("SLO watch of app %s: could not measure %d times in a row: %s", spec.Name, failures, s.Unmeasured),
					string(runbooks.ReasonSLOGate))
			}
		} else {
			failures = 0
		}
		if !time.Now().Before(in.Until) {
			break
		}
		// The next evaluation, or the last one when the bake ends.
		t := time.NewTimer(min(time.Until(s.At.Add(every)), time.Until(in.Until)))
		select {
		case <-ctx.Done():
			t.Stop()
			return SLOGateResult{}, ctx.Err()
		case <-t.C:
		}
	}
	log.Info("SLO held through the bake", "app", spec.Name, "percent", in.Percent, "evaluations", prog.Evaluations)
	return a.watchResult(in, prog, ""), nil
}

// watchResult summarises the samples: the latest sample's measurements,
// and how many evaluations there were.
func (a *Activities) watchResult(in WatchSLOInput, prog watchProgress, breach string) SLOGateResult {
	res := SLOGateResult{Pass: breach == "", Reason: breach, Samples: prog.Samples, Evaluations: prog.Evaluations}
	var req, errs int
	for _, s := range prog.Samples {
		if s.Probe != nil {
			req += s.Probe.Requests
			errs += s.Probe.Errors
		}
	}
	res.Requests = req
	if req > 0 {
		res.ErrorRatio = float64(errs) / float64(req)
	}
	if n := len(prog.Samples); n > 0 {
		last := prog.Samples[n-1]
		if last.Probe != nil {
			res.P95 = last.Probe.P95
			res.MeasuredFrom = append(res.MeasuredFrom, fmt.Sprintf("probe: %d requests, %d errors, p95 %s (last evaluation)",
				last.Probe.Requests, last.Probe.Errors, last.Probe.P95.Round(time.Millisecond)))
		}
		if last.LB != nil {
			res.MeasuredFrom = append(res.MeasuredFrom, fmt.Sprintf("load balancer: %d requests, %d 5xx, p95 %s (last window)",
				last.LB.Requests, last.LB.Errors, last.LB.P95.Round(time.Millisecond)))
		}
		for _, b := range last.Burn {
			res.MeasuredFrom = append(res.MeasuredFrom, fmt.Sprintf("prometheus: burn %.2fx over %s, %.2fx over %s (page above %gx)",
				b.LongBurn, traffic.PromDuration(b.Long), b.ShortBurn, traffic.PromDuration(b.Short), b.Factor))
		}
		res.Prometheus = last.Prometheus
	}
	return res
}

// watcher builds the plan's sources. Secrets come from the worker's
// environment variables the plan names, and are registered for redaction.
func (a *Activities) watcher(ctx context.Context, spec plan.AppSpec) (*traffic.Watcher, func(), error) {
	slo := spec.Cutover.SLO
	w := &traffic.Watcher{SLO: slo}
	closers := []func(){}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	watch := slo.Watch
	probe := watch.Probe || (watch.Monitoring == nil && watch.Prometheus == nil) // zero Watch: the probe, as before
	if probe {
		insts, err := a.instances(ctx, spec)
		if err != nil {
			return nil, closeAll, err
		}
		targets, err := traffic.Targets(ctx, a.gcpFor(spec), spec, insts)
		if err != nil {
			return nil, closeAll, err
		}
		if len(targets) == 0 {
			return nil, closeAll, &traffic.Error{Op: "watch", Object: "app " + spec.Name, Permanent: true,
				Err: fmt.Errorf("nothing to probe; set cutover public_url in the plan")}
		}
		w.Probe, w.Targets = traffic.NewProbe(a.Traffic), targets
	}
	if watch.Monitoring != nil {
		g := a.gcpFor(spec)
		c, err := monitoring.NewMetricClient(ctx, g.MonitoringOptions()...)
		if err != nil {
			return nil, closeAll, fmt.Errorf("monitoring client: %w", err)
		}
		closers = append(closers, func() { c.Close() })
		w.LB, w.Project, w.BackendService = c, g.Project, traffic.GCPBackendName(spec.Name)
		if watch.Monitoring.Project != "" {
			w.Project = watch.Monitoring.Project
		}
	}
	if p := watch.Prometheus; p != nil {
		auth := traffic.PrometheusAuth{Kind: p.Auth, Username: p.Username}
		if p.BearerTokenEnv != "" {
			auth.Token = os.Getenv(p.BearerTokenEnv)
			redact.Register(auth.Token)
		}
		if p.PasswordEnv != "" {
			auth.Password = os.Getenv(p.PasswordEnv)
			redact.Register(auth.Password)
		}
		prom, err := traffic.NewPrometheus(ctx, p.URL, auth, nil)
		if err != nil {
			return nil, closeAll, err
		}
		w.Prom = prom
	}
	if slo.PrometheusURL != "" && slo.PrometheusQuery != "" {
		w.LegacyProm = &traffic.Prometheus{Base: slo.PrometheusURL}
	}
	return w, closeAll, nil
}
