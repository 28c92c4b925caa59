package traffic_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

func lbSpec(app string) plan.AppSpec {
	return plan.AppSpec{Name: app, Project: project, Cutover: plan.CutoverSpec{Strategy: traffic.StrategyLB}}
}

func TestLBStepsAndRollback(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{OperationPolls: 2}) // operations come back RUNNING
	createLB(t, g, "billing-api")
	st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, lbSpec("billing-api"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for _, p := range []int{10, 50, 100, 100, 0} {
		if err := st.Shift(ctx, p); err != nil {
			t.Fatalf("shift %d: %v", p, err)
		}
		if dc, gw := weights(t, s, "billing-api"); dc != 100-p || gw != p {
			t.Fatalf("after shift %d: fake holds dc=%d gcp=%d", p, dc, gw)
		}
		if cur, err := st.Current(ctx); err != nil || cur != p {
			t.Fatalf("Current after %d = %d, %v", p, cur, err)
		}
	}
	if err := st.Shift(ctx, 50); err != nil {
		t.Fatal(err)
	}
	patches := s.RequestCount(http.MethodPatch, "/urlMaps/")
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if dc, gw := weights(t, s, "billing-api"); dc != 100 || gw != 0 {
		t.Fatalf("after rollback: dc=%d gcp=%d", dc, gw)
	}
	if n := s.RequestCount(http.MethodPatch, "/urlMaps/") - patches; n != 1 {
		t.Fatalf("rollback sent %d patches, want exactly 1", n)
	}
	// Idempotent: already at 100 % DC, no further patch.
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount(http.MethodPatch, "/urlMaps/") - patches; n != 1 {
		t.Fatalf("second rollback patched again (%d patches)", n)
	}
	if err := st.Shift(ctx, 101); !traffic.IsPermanent(err) {
		t.Fatalf("shift 101: want a permanent error, got %v", err)
	}
}

// racingMaps lets another writer change the URL map between our Get and our
// Patch, the first few times.
type racingMaps struct {
	traffic.URLMaps
	other traffic.URLMaps
	races int
	mu    sync.Mutex
}

func (r *racingMaps) Get(ctx context.Context, req *computepb.GetUrlMapRequest, opts ...gax.CallOption) (*computepb.UrlMap, error) {
	m, err := r.URLMaps.Get(ctx, req, opts...)
	r.mu.Lock()
	race := r.races > 0
	r.races--
	r.mu.Unlock()
	if race && err == nil {
		other, _ := r.other.Get(ctx, req)
		other.Description = new("touched by another writer")
		if _, err := r.other.Patch(ctx, &computepb.PatchUrlMapRequest{Project: req.Project, UrlMap: req.UrlMap, UrlMapResource: other}); err != nil {
			panic(err)
		}
	}
	return m, err
}

func TestLBConflictRetriesWithFreshFingerprint(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	createLB(t, g, "shop")
	c := urlMapsClient(t, g)
	lb := traffic.NewLB(&racingMaps{URLMaps: c, other: c, races: 3}, traffic.Config{}, project, "shop")
	if err := lb.Shift(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if dc, gw := weights(t, s, "shop"); dc != 50 || gw != 50 {
		t.Fatalf("dc=%d gcp=%d", dc, gw)
	}
	var conflicts int
	for _, r := range s.Requests() {
		if r.Method == http.MethodPatch && r.Status == http.StatusPreconditionFailed {
			conflicts++
		}
	}
	if conflicts != 3 {
		t.Fatalf("saw %d conflicts, want 3 (one per race)", conflicts)
	}
	// More races than retries: the error says so and is not permanent.
	lb = traffic.NewLB(&racingMaps{URLMaps: c, other: c, races: 100}, traffic.Config{ConflictRetries: 2}, project, "shop")
	err := lb.Shift(ctx, 10)
	if err == nil || traffic.IsPermanent(err) {
		t.Fatalf("want a retryable error after exhausting retries, got %v", err)
	}
}

func TestLBConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	createLB(t, g, "web")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			lb := traffic.NewLB(urlMapsClient(t, g), traffic.Config{ConflictRetries: 20}, project, "web")
			errs <- lb.Shift(ctx, 10*(i+1))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	dc, gw := weights(t, s, "web")
	if dc+gw != 100 || gw%10 != 0 || gw < 10 || gw > 80 {
		t.Fatalf("lost update: dc=%d gcp=%d", dc, gw)
	}
}

func TestLBErrors(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	c := urlMapsClient(t, g)

	// No URL map at all: permanent, names the map.
	err := traffic.NewLB(c, traffic.Config{}, project, "nothing").Shift(ctx, 10)
	if !traffic.IsPermanent(err) {
		t.Fatalf("missing url map: want permanent, got %v", err)
	}

	createLB(t, g, "api")
	lb := traffic.NewLB(c, traffic.Config{}, project, "api")
	// A 503 on the patch is retryable.
	if err := s.Faults().Add(gcpfake.Fault{Method: http.MethodPatch, PathRegexp: "urlMaps", Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if err := lb.Shift(ctx, 10); err == nil || traffic.IsPermanent(err) {
		t.Fatalf("503: want a retryable error, got %v", err)
	}
	// An operation that ends in error is reported.
	s.Faults().Clear()
	if err := s.Faults().Add(gcpfake.Fault{Method: http.MethodPatch, PathRegexp: "urlMaps", OpError: "backend quota exceeded", Times: 1}); err != nil {
		t.Fatal(err)
	}
	if err := lb.Shift(ctx, 10); err == nil {
		t.Fatal("operation error not reported")
	}
	s.Faults().Clear()
	if err := lb.Shift(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if dc, gw := weights(t, s, "api"); dc != 90 || gw != 10 {
		t.Fatalf("dc=%d gcp=%d", dc, gw)
	}
}
