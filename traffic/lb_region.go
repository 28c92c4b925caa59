package traffic

import (
	"context"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2"
)

// RegionURLMaps is the part of the region URL map client the internal
// Application LB strategy uses.
type RegionURLMaps interface {
	Get(ctx context.Context, req *computepb.GetRegionUrlMapRequest, opts ...gax.CallOption) (*computepb.UrlMap, error)
	Patch(ctx context.Context, req *computepb.PatchRegionUrlMapRequest, opts ...gax.CallOption) (*compute.Operation, error)
}

var _ RegionURLMaps = (*compute.RegionUrlMapsClient)(nil)

// regionMaps lets the weighted LB strategy drive a region URL map: an
// internal Application LB splits traffic exactly as the global one does,
// with the same fingerprint discipline, on regions/R/urlMaps.
type regionMaps struct {
	c      RegionURLMaps
	region string
}

func (r regionMaps) Get(ctx context.Context, req *computepb.GetUrlMapRequest, opts ...gax.CallOption) (*computepb.UrlMap, error) {
	return r.c.Get(ctx, &computepb.GetRegionUrlMapRequest{Project: req.Project, Region: r.region, UrlMap: req.UrlMap}, opts...)
}

func (r regionMaps) Patch(ctx context.Context, req *computepb.PatchUrlMapRequest, opts ...gax.CallOption) (*compute.Operation, error) {
	return r.c.Patch(ctx, &computepb.PatchRegionUrlMapRequest{Project: req.Project, Region: r.region, UrlMap: req.UrlMap,
		UrlMapResource: req.UrlMapResource, RequestId: req.RequestId}, opts...)
}

// NewRegionLB returns the weighted strategy of an internal Application LB
// (plan load_balancer "internal-http"): the weights of the default route of
// the app's region URL map. ToDatacenter is one patch, as for NewLB.
func NewRegionLB(maps RegionURLMaps, cfg Config, project, region, app string) *LB {
	l := NewLB(regionMaps{c: maps, region: region}, cfg, project, app)
	l.region = region
	return l
}
