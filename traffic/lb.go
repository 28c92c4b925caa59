package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"
)

// URLMaps is the part of the compute URL map client the lb strategy uses.
type URLMaps interface {
	Get(ctx context.Context, req *computepb.GetUrlMapRequest, opts ...gax.CallOption) (*computepb.UrlMap, error)
	Patch(ctx context.Context, req *computepb.PatchUrlMapRequest, opts ...gax.CallOption) (*compute.Operation, error)
}

var _ URLMaps = (*compute.UrlMapsClient)(nil)

// LB splits traffic with the weighted backend services of the default route
// of the app's URL map: DCBackendName (hybrid NEG in the datacenter) and
// GCPBackendName (the instance group on GCE). Terraform creates both and
// ignores the weights; only this code sets them.
type LB struct {
	maps       URLMaps
	project    string
	urlMap     string
	gcpBackend string
	dcBackend  string
	retries    int
	region     string // a region URL map (internal Application LB); "" for global
}

// NewLB returns the lb strategy for app in project.
func NewLB(maps URLMaps, cfg Config, project, app string) *LB {
	return &LB{
		maps:       maps,
		project:    project,
		urlMap:     URLMapName(app),
		gcpBackend: GCPBackendName(app),
		dcBackend:  DCBackendName(app),
		retries:    cfg.conflictRetries(),
	}
}

func (l *LB) object() string {
	if l.region != "" {
		return fmt.Sprintf("region url map %s (project %s, region %s)", l.urlMap, l.project, l.region)
	}
	return fmt.Sprintf("url map %s (project %s)", l.urlMap, l.project)
}

// Current returns the GCP backend's share of the default route's weight.
func (l *LB) Current(ctx context.Context) (int, error) {
	m, err := l.maps.Get(ctx, &computepb.GetUrlMapRequest{Project: l.project, UrlMap: l.urlMap})
	if err != nil {
		return 0, apiError("read weights", l.object(), err)
	}
	dc, gcp, err := l.backends(m)
	if err != nil {
		return 0, err
	}
	total := dc.GetWeight() + gcp.GetWeight()
	if total == 0 {
		return 0, &Error{Op: "read weights", Object: l.object(), Permanent: true,
			Err: errors.New("both backend weights are 0: the load balancer sends no traffic anywhere; set them with `ferry migrate rollback` or terraform")}
	}
	return int(math.Round(float64(gcp.GetWeight()) * 100 / float64(total))), nil
}

// ToDatacenter sets the weights to 100 % datacenter: one read and one patch
// unless another writer raced it.
func (l *LB) ToDatacenter(ctx context.Context) error { return l.Shift(ctx, 0) }

// Shift sets the weights to percentToGCP and 100-percentToGCP. It patches
// with the fingerprint it read; on a conflict (412) it re-reads and tries
// again, with jitter, at most Config.ConflictRetries times.
func (l *LB) Shift(ctx context.Context, percentToGCP int) error {
	op := fmt.Sprintf("shift to %d%% GCP", percentToGCP)
	if err := checkPercent(percentToGCP); err != nil {
		return &Error{Op: op, Object: l.object(), Permanent: true, Err: err}
	}
	for attempt := 0; ; attempt++ {
		m, err := l.maps.Get(ctx, &computepb.GetUrlMapRequest{Project: l.project, UrlMap: l.urlMap})
		if err != nil {
			return apiError(op, l.object(), err)
		}
		dc, gcp, err := l.backends(m)
		if err != nil {
			return err
		}
		wantGCP, wantDC := uint32(percentToGCP), uint32(100-percentToGCP)
		if gcp.GetWeight() == wantGCP && dc.GetWeight() == wantDC {
			return nil
		}
		gcp.Weight, dc.Weight = &wantGCP, &wantDC
		// The whole map goes back with the fingerprint it was read with:
		// correct whether the server merges or replaces, and a concurrent
		// writer's change makes the patch fail rather than be overwritten.
		o, err := l.maps.Patch(ctx, &computepb.PatchUrlMapRequest{
			Project: l.project, UrlMap: l.urlMap, UrlMapResource: m,
		})
		if httpCode(err) == http.StatusPreconditionFailed && attempt < l.retries {
			if err := backoff(ctx, attempt); err != nil {
				return &Error{Op: op, Object: l.object(), Err: err}
			}
			continue
		}
		if err != nil {
			return apiError(op, l.object(), fmt.Errorf("patch (attempt %d): %w", attempt+1, err))
		}
		return waitOperation(ctx, o, op, l.object())
	}
}

// backends finds the two weighted backend services of the default route.
func (l *LB) backends(m *computepb.UrlMap) (dc, gcp *computepb.WeightedBackendService, err error) {
	for _, w := range m.GetDefaultRouteAction().GetWeightedBackendServices() {
		switch path.Base(w.GetBackendService()) {
		case l.dcBackend:
			dc = w
		case l.gcpBackend:
			gcp = w
		}
	}
	if dc == nil || gcp == nil {
		return nil, nil, &Error{Op: "find backends", Object: l.object(), Permanent: true,
			Err: fmt.Errorf("defaultRouteAction.weightedBackendServices must hold backend services %s and %s; re-run the provision stage (terraform) for this app", l.dcBackend, l.gcpBackend)}
	}
	return dc, gcp, nil
}

// waitOperation polls a compute operation until DONE. It polls faster than
// Operation.Wait (which first sleeps a second) because a rollback waits on
// it.
func waitOperation(ctx context.Context, o *compute.Operation, op, object string) error {
	delay := 20 * time.Millisecond
	for !o.Done() {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Op: op, Object: object, Err: fmt.Errorf("waiting for operation %s: %w", o.Name(), ctx.Err())}
		case <-t.C:
		}
		delay = min(delay*2, time.Second)
		if err := o.Poll(ctx); err != nil {
			return apiError(op, object, fmt.Errorf("operation %s: %w", o.Name(), err))
		}
	}
	if e := o.Proto().GetError(); e != nil && len(e.GetErrors()) > 0 {
		first := e.GetErrors()[0]
		return &Error{Op: op, Object: object,
			Err: fmt.Errorf("operation %s failed: %s: %s", o.Name(), first.GetCode(), first.GetMessage())}
	}
	return nil
}
