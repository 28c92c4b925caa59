package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// HealthCheck reads the app's GCE instances and probes each one on the
// plan's health check. Unhealthy instances fail the activity (reason
// health-check-failed, retryable: instances may still be booting) with the
// HealthCheckResult as the error's details; a missing instance or a plan
// without VMs is not retried.
func (a *Activities) HealthCheck(ctx context.Context, in HealthCheckInput) (HealthCheckResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return HealthCheckResult{}, err
	}
	insts, err := a.instances(ctx, spec)
	if err != nil {
		return HealthCheckResult{}, trafficError(err, runbooks.ReasonHealthCheck)
	}
	if len(insts) == 0 {
		return HealthCheckResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("health check of app %s: the plan lists no VMs", spec.Name), string(runbooks.ReasonHealthCheck), nil)
	}
	var res HealthCheckResult
	var bad []string
	for _, h := range traffic.NewProbe(a.Traffic).CheckInstances(ctx, spec.Cutover.HealthCheck, insts) {
		if h.Healthy {
			res.Healthy++
		} else {
			res.Unhealthy++
			bad = append(bad, h.Detail)
		}
		res.Details = append(res.Details, h.Detail)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	activity.GetLogger(ctx).Info("health check", "app", spec.Name, "healthy", res.Healthy, "unhealthy", res.Unhealthy)
	if res.Unhealthy > 0 {
		return res, temporal.NewApplicationError(
			fmt.Sprintf("app %s: %d of %d GCP instances unhealthy: %s; check the instances' serial console and the app's logs",
				spec.Name, res.Unhealthy, len(insts), strings.Join(bad, "; ")),
			string(runbooks.ReasonHealthCheck), res)
	}
	return res, nil
}

// ShiftTraffic sets the share of the app's traffic that goes to GCP.
func (a *Activities) ShiftTraffic(ctx context.Context, in ShiftTrafficInput) (ShiftTrafficResult, error) {
	spec, err := a.withStrategy(ctx, in.Plan, func(st traffic.Strategy) error { return st.Shift(ctx, in.Percent) })
	if err != nil {
		return ShiftTrafficResult{}, err
	}
	activity.GetLogger(ctx).Info("traffic shifted", "app", spec.Name, "gcpPercent", in.Percent, "strategy", spec.Cutover.Strategy)
	return ShiftTrafficResult{GCPPercent: in.Percent, At: time.Now().UTC()}, nil
}

// TrafficToDatacenter sends all of the app's traffic to the datacenter with
// one mutating API call: the first step of every rollback. Its result has
// GCPPercent 0.
func (a *Activities) TrafficToDatacenter(ctx context.Context, in TrafficToDatacenterInput) (ShiftTrafficResult, error) {
	spec, err := a.withStrategy(ctx, in.Plan, func(st traffic.Strategy) error { return st.ToDatacenter(ctx) })
	if err != nil {
		return ShiftTrafficResult{}, err
	}
	activity.GetLogger(ctx).Info("traffic back in the datacenter", "app", spec.Name)
	return ShiftTrafficResult{GCPPercent: 0, At: time.Now().UTC()}, nil
}

// withStrategy runs do on the traffic strategy of the app's plan; its
// errors, and the strategy's, are traffic-shift failures.
func (a *Activities) withStrategy(ctx context.Context, ref PlanRef, do func(traffic.Strategy) error) (plan.AppSpec, error) {
	spec, err := a.spec(ctx, ref)
	if err != nil {
		return spec, err
	}
	st, closeFn, err := traffic.New(ctx, a.Traffic, a.gcpFor(spec), spec)
	if err != nil {
		return spec, trafficError(err, runbooks.ReasonTrafficShift)
	}
	defer closeFn()
	if err := do(st); err != nil {
		return spec, trafficError(err, runbooks.ReasonTrafficShift)
	}
	return spec, nil
}

// SLOGate probes the app's public URL and each GCP instance and compares
// error ratio and p95 (and the Prometheus query, when the plan has one)
// with the plan's SLO. A failing app is Pass=false with the reason, not an
// error: the workflow decides to roll back. Errors mean the gate could not
// measure (GCE unreadable, Prometheus unreachable) and are retried.
func (a *Activities) SLOGate(ctx context.Context, in SLOGateInput) (SLOGateResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SLOGateResult{}, err
	}
	insts, err := a.instances(ctx, spec)
	if err != nil {
		return SLOGateResult{}, trafficError(err, runbooks.ReasonSLOGate)
	}
	// Without a public URL in the plan, the gate goes through the app's
	// load balancer (its forwarding rule's address).
	targets, err := traffic.Targets(ctx, a.gcpFor(spec), spec, insts)
	if err != nil {
		return SLOGateResult{}, trafficError(err, runbooks.ReasonSLOGate)
	}
	if len(targets) == 0 {
		return SLOGateResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("SLO gate of app %s: nothing to probe; set cutover public_url in the plan", spec.Name),
			string(runbooks.ReasonSLOGate), nil)
	}
	stop := keepAlive(ctx, func() any { return fmt.Sprintf("probing %d targets at %d%%", len(targets), in.Percent) })
	v, err := traffic.NewProbe(a.Traffic).Gate(ctx, spec.Cutover.SLO, targets)
	stop()
	if err != nil {
		return SLOGateResult{}, trafficError(err, runbooks.ReasonSLOGate)
	}
	res := SLOGateResult{Pass: v.Pass, Reason: v.Reason, Requests: v.Requests, ErrorRatio: v.ErrorRatio, P95: v.P95, Prometheus: v.Prometheus}
	for _, m := range v.Targets {
		res.MeasuredFrom = append(res.MeasuredFrom, fmt.Sprintf("%s %s: %d requests, %d errors, p95 %s", m.Target, m.URL, m.Requests, m.Errors, m.P95.Round(time.Millisecond)))
	}
	if !v.Pass {
		res.Reason = fmt.Sprintf("at %d%% GCP: %s", in.Percent, v.Reason)
	}
	activity.GetLogger(ctx).Info("SLO gate", "app", spec.Name, "percent", in.Percent, "pass", res.Pass, "reason", res.Reason)
	return res, nil
}

func (a *Activities) gcpFor(spec plan.AppSpec) gcp.Config {
	g := a.GCP
	if spec.Project != "" {
		g.Project = spec.Project
	}
	if spec.Region != "" {
		g.Region = spec.Region
	}
	if spec.Zone != "" {
		g.Zone = spec.Zone
	}
	return g
}

func (a *Activities) instances(ctx context.Context, spec plan.AppSpec) ([]traffic.Instance, error) {
	g := a.gcpFor(spec)
	c, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		return nil, fmt.Errorf("compute client: %w", err)
	}
	defer c.Close()
	gce := &traffic.GCE{Instances: c, Project: g.Project, Zone: g.Zone, Address: a.Traffic.InstanceAddress}
	return gce.List(ctx, spec)
}

// trafficError: permanent traffic errors are not retried; the rest are,
// with the same reason so a workflow parks with the right runbook once the
// retries are spent.
func trafficError(err error, reason runbooks.Reason) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if traffic.IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), string(reason), nil)
	}
	return temporal.NewApplicationError(err.Error(), string(reason))
}

// keepAlive heartbeats every half heartbeat timeout (10 s when none is set)
// until stop is called.
func keepAlive(ctx context.Context, details func() any) (stop func()) {
	every := activity.GetInfo(ctx).HeartbeatTimeout / 2
	if every <= 0 {
		every = 10 * time.Second
	}
	return heartbeats(ctx, every, details)
}

// heartbeats records details() as the activity's heartbeat every
// interval until stop is called or ctx ends.
func heartbeats(ctx context.Context, every time.Duration, details func() any) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details())
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
