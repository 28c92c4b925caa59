package traffic

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/plan"
)

// Strategy moves an app's traffic between the datacenter and GCP.
type Strategy interface {
	// Shift sends percentToGCP percent of the traffic to GCP and the rest
	// to the datacenter. Shifting to the weights already in effect is a
	// no-op.
	Shift(ctx context.Context, percentToGCP int) error
	// Current returns the percentage of traffic that goes to GCP now.
	Current(ctx context.Context) (int, error)
	// ToDatacenter sends all traffic to the datacenter with one mutating
	// API call: the first step of every rollback.
	ToDatacenter(ctx context.Context) error
}

// Strategy names as the plan spells them.
const (
	StrategyLB  = "lb"
	StrategyDNS = "dns"
)

// New builds the strategy the app's plan names, with clients for the
// endpoints of g. Call closeFn when done. By load balancer: external HTTP
// and HTTPS split on the global URL map (LB), internal HTTP on the region
// URL map (NewRegionLB), internal TCP moves its DNS record in one step
// (NewPassthrough); strategy dns on external HTTP swaps the record to the
// instances (DNS).
func New(ctx context.Context, cfg Config, g gcp.Config, spec plan.AppSpec) (s Strategy, closeFn func() error, err error) {
	project := spec.Project
	if project == "" {
		project = g.Project
	}
	region := spec.Region
	if region == "" {
		region = g.Region
	}
	switch kind := spec.Cutover.LoadBalancer(); {
	case kind == plan.LBInternalHTTP && spec.Cutover.Strategy != StrategyDNS:
		c, err := compute.NewRegionUrlMapsRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		return NewRegionLB(c, cfg, project, region, spec.Name), c.Close, nil
	case kind == plan.LBInternalTCP:
		if spec.Cutover.Strategy == StrategyLB {
			return nil, nil, &Error{Op: "choose strategy", Object: spec.Name, Permanent: true, Err: errOneStep}
		}
		svc, err := dns.NewService(ctx, g.DNSOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: dns client for app %s: %w", spec.Name, err)
		}
		rc, err := compute.NewForwardingRulesRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		d, err := NewPassthrough(DNSService{svc}, rc, cfg, project, region, spec)
		if err != nil {
			rc.Close()
			return nil, nil, err
		}
		return d, rc.Close, nil
	}
	switch spec.Cutover.Strategy {
	case StrategyLB, "":
		c, err := compute.NewUrlMapsRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		return NewLB(c, cfg, project, spec.Name), c.Close, nil
	case StrategyDNS:
		svc, err := dns.NewService(ctx, g.DNSOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: dns client for app %s: %w", spec.Name, err)
		}
		ic, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return nil, nil, fmt.Errorf("traffic: compute client for app %s: %w", spec.Name, err)
		}
		inst := &GCE{Instances: ic, Project: project, Zone: spec.Zone, Address: cfg.InstanceAddress}
		d, err := NewDNS(DNSService{svc}, inst, cfg, project, spec)
		if err != nil {
			ic.Close()
			return nil, nil, err
		}
		return d, ic.Close, nil
	default:
		return nil, nil, &Error{Op: "choose strategy", Object: spec.Name, Permanent: true,
			Err: fmt.Errorf("unknown cutover strategy %q: the plan must say lb or dns", spec.Cutover.Strategy)}
	}
}

// Error is a failed traffic operation. Permanent errors will fail the same
// way on retry (a missing URL map, a plan that names no endpoints); the
// others (API unavailable, conflicts that outlasted the retries) may not.
type Error struct {
	Op        string // e.g. "shift to 50% GCP"
	Object    string // e.g. "url map billing-lb"
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return fmt.Sprintf("traffic: %s on %s: %v", e.Op, e.Object, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err will fail the same way on retry.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// httpCode returns the HTTP status of a Google API error, or 0.
func httpCode(err error) int {
	var ae *apierror.APIError
	if errors.As(err, &ae) && ae.HTTPCode() > 0 {
		return ae.HTTPCode()
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// apiError wraps a Google API error; 4xx other than 408/409/412/429 will not
// get better on retry.
func apiError(op, object string, err error) error {
	code := httpCode(err)
	permanent := code >= 400 && code < 500 &&
		code != http.StatusRequestTimeout && code != http.StatusConflict &&
		code != http.StatusPreconditionFailed && code != http.StatusTooManyRequests
	return &Error{Op: op, Object: object, Permanent: permanent, Err: err}
}

// backoff sleeps before conflict retry n (0-based): full jitter over an
// exponential ceiling, so racing writers spread out.
func backoff(ctx context.Context, n int) error {
	ceil := 10 * time.Millisecond << min(n, 6)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceil)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func checkPercent(p int) error {
	if p < 0 || p > 100 {
		return fmt.Errorf("percent to GCP must be 0..100, got %d", p)
	}
	return nil
}
