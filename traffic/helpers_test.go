package traffic_test

import (
	"context"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/traffic"
)

const project = "ferry-test"

// fake starts gcpfake and returns it with a gcp.Config pointing at it.
func fake(tb testing.TB, opts gcpfake.Options) (*gcpfake.Server, gcp.Config) {
	tb.Helper()
	s, err := gcpfake.Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, gcp.Config{Project: project, Region: "europe-west1", Zone: "europe-west1-b",
		ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint()}
}

// urlMapsClient is the real compute client against the fake.
func urlMapsClient(tb testing.TB, g gcp.Config) *compute.UrlMapsClient {
	tb.Helper()
	c, err := compute.NewUrlMapsRESTClient(context.Background(), g.ComputeOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// createLB creates what terraform creates for strategy lb, as far as the
// weights go: both backend services and the URL map at 100 % datacenter.
func createLB(tb testing.TB, g gcp.Config, app string) {
	tb.Helper()
	ctx := context.Background()
	bs, err := compute.NewBackendServicesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	defer bs.Close()
	for _, name := range []string{traffic.DCBackendName(app), traffic.GCPBackendName(app)} {
		op, err := bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: project, BackendServiceResource: &computepb.BackendService{
			Name: proto.String(name), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED"), Protocol: proto.String("HTTP"),
		}})
		if err != nil {
			tb.Fatalf("insert backend service %s: %v", name, err)
		}
		if err := op.Wait(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	base := "https://www.googleapis.com/compute/v1/projects/" + project + "/global/backendServices/"
	op, err := urlMapsClient(tb, g).Insert(ctx, &computepb.InsertUrlMapRequest{Project: project, UrlMapResource: &computepb.UrlMap{
		Name: proto.String(traffic.URLMapName(app)),
		DefaultRouteAction: &computepb.HttpRouteAction{WeightedBackendServices: []*computepb.WeightedBackendService{
			{BackendService: proto.String(base + traffic.DCBackendName(app)), Weight: proto.Uint32(100)},
			{BackendService: proto.String(base + traffic.GCPBackendName(app)), Weight: proto.Uint32(0)},
		}},
	}})
	if err != nil {
		tb.Fatalf("insert url map: %v", err)
	}
	if err := op.Wait(ctx); err != nil {
		tb.Fatal(err)
	}
}

// weights reads the split from the fake's own state.
func weights(tb testing.TB, s *gcpfake.Server, app string) (dc, gcpw int) {
	tb.Helper()
	w, err := s.URLMapWeights(project, traffic.URLMapName(app))
	if err != nil {
		tb.Fatal(err)
	}
	return w[traffic.DCBackendName(app)], w[traffic.GCPBackendName(app)]
}
