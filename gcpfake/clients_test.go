package gcpfake

import (
	"context"
	"errors"
	"net/http"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/gcp"
)

func startFake(t *testing.T, opts Options) (*Server, gcp.Config) {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, gcp.Config{Project: "ferry-go", Region: "us-central1", Zone: "us-central1-a",
		ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint(), StorageEndpoint: s.StorageEndpoint()}
}

func httpCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func wait(t *testing.T, ctx context.Context, op *compute.Operation, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// lbSetup creates a health check, two backend services and a URL map
// splitting 100/0 between them, with the Go compute clients.
func lbSetup(t *testing.T, ctx context.Context, cfg gcp.Config) *compute.UrlMapsClient {
	t.Helper()
	hc, err := compute.NewHealthChecksRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	op, err := hc.Insert(ctx, &computepb.InsertHealthCheckRequest{Project: cfg.Project, HealthCheckResource: &computepb.HealthCheck{
		Name: proto.String("hc"), Type: proto.String("HTTP"), HttpHealthCheck: &computepb.HTTPHealthCheck{Port: proto.Int32(80)},
	}})
	wait(t, ctx, op, err)
	hcSelf := "https://www.googleapis.com/compute/v1/projects/" + cfg.Project + "/global/healthChecks/hc"
	bs, err := compute.NewBackendServicesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dc", "gcp"} {
		op, err := bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: cfg.Project, BackendServiceResource: &computepb.BackendService{
			Name: proto.String(n), HealthChecks: []string{hcSelf}, Protocol: proto.String("HTTP"),
		}})
		wait(t, ctx, op, err)
	}
	// A backend group that does not exist is refused, as in GCE.
	_, err = bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: cfg.Project, BackendServiceResource: &computepb.BackendService{
		Name: proto.String("bad"), Backends: []*computepb.Backend{{Group: proto.String("projects/" + cfg.Project + "/zones/us-central1-a/instanceGroups/nope")}},
	}})
	if httpCode(err) != http.StatusNotFound {
		t.Fatalf("backend service with an unknown group: err = %v, want 404", err)
	}
	um, err := compute.NewUrlMapsRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	op, err = um.Insert(ctx, &computepb.InsertUrlMapRequest{Project: cfg.Project, UrlMapResource: &computepb.UrlMap{
		Name: proto.String("lb"),
		DefaultRouteAction: &computepb.HttpRouteAction{WeightedBackendServices: []*computepb.WeightedBackendService{
			{BackendService: proto.String(bsSelf(cfg, "dc")), Weight: proto.Uint32(100)},
			{BackendService: proto.String(bsSelf(cfg, "gcp")), Weight: proto.Uint32(0)},
		}},
	}})
	wait(t, ctx, op, err)
	return um
}

func bsSelf(cfg gcp.Config, name string) string {
	return "https://www.googleapis.com/compute/v1/projects/" + cfg.Project + "/global/backendServices/" + name
}

func TestURLMapPatchWithFingerprint(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{OperationPolls: 2})
	um := lbSetup(t, ctx, cfg)

	got, err := um.Get(ctx, &computepb.GetUrlMapRequest{Project: cfg.Project, UrlMap: "lb"})
	if err != nil {
		t.Fatal(err)
	}
	stale := got.GetFingerprint()
	got.DefaultRouteAction.WeightedBackendServices[0].Weight = proto.Uint32(50)
	got.DefaultRouteAction.WeightedBackendServices[1].Weight = proto.Uint32(50)
	op, err := um.Patch(ctx, &computepb.PatchUrlMapRequest{Project: cfg.Project, UrlMap: "lb", UrlMapResource: got})
	wait(t, ctx, op, err)
	w, err := s.URLMapWeights(cfg.Project, "lb")
	if err != nil {
		t.Fatal(err)
	}
	if w["dc"] != 50 || w["gcp"] != 50 || len(w) != 2 {
		t.Fatalf("weights after patch = %v, want dc=50 gcp=50", w)
	}

	// A writer holding the old fingerprint loses: 412, weights unchanged.
	_, err = um.Patch(ctx, &computepb.PatchUrlMapRequest{Project: cfg.Project, UrlMap: "lb", UrlMapResource: &computepb.UrlMap{
		Fingerprint: proto.String(stale),
		DefaultRouteAction: &computepb.HttpRouteAction{WeightedBackendServices: []*computepb.WeightedBackendService{
			{BackendService: proto.String(bsSelf(cfg, "dc")), Weight: proto.Uint32(0)},
			{BackendService: proto.String(bsSelf(cfg, "gcp")), Weight: proto.Uint32(100)},
		}},
	}})
	if httpCode(err) != http.StatusPreconditionFailed {
		t.Fatalf("patch with a stale fingerprint: err = %v, want 412", err)
	}
	// Without any fingerprint: also refused.
	_, err = um.Patch(ctx, &computepb.PatchUrlMapRequest{Project: cfg.Project, UrlMap: "lb", UrlMapResource: &computepb.UrlMap{}})
	if httpCode(err) != http.StatusPreconditionFailed {
		t.Fatalf("patch without a fingerprint: err = %v, want 412", err)
	}
	if w, _ := s.URLMapWeights(cfg.Project, "lb"); w["dc"] != 50 {
		t.Fatalf("a refused patch changed the weights: %v", w)
	}
	// A backend service in use by the URL map cannot be deleted.
	bs, _ := compute.NewBackendServicesRESTClient(ctx, cfg.ComputeOptions()...)
	if _, err := bs.Delete(ctx, &computepb.DeleteBackendServiceRequest{Project: cfg.Project, BackendService: "gcp"}); httpCode(err) != http.StatusBadRequest {
		t.Fatalf("delete of a backend service in use: err = %v, want 400 resourceInUseByAnotherResource", err)
	}
	if n := len(s.Resources(cfg.Project, "backendServices")); n != 2 {
		t.Fatalf("%d backend services, want 2", n)
	}
}

func TestInstancesClient(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{})
	ic, err := compute.NewInstancesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		op, err := ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, InstanceResource: &computepb.Instance{
			Name: proto.String(n), MachineType: proto.String("zones/us-central1-a/machineTypes/e2-small"),
			Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
				InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/debian-cloud/global/images/family/debian-12")}}},
			NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default")}},
		}})
		wait(t, ctx, op, err)
	}
	_, err = ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, InstanceResource: &computepb.Instance{
		Name: proto.String("a"), MachineType: proto.String("zones/us-central1-a/machineTypes/e2-small"),
		Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), InitializeParams: &computepb.AttachedDiskInitializeParams{DiskName: proto.String("other")}}},
	}})
	if httpCode(err) != http.StatusConflict {
		t.Fatalf("second insert of instance a: err = %v, want 409", err)
	}
	var names []string
	it := ic.List(ctx, &computepb.ListInstancesRequest{Project: cfg.Project, Zone: cfg.Zone})
	for {
		inst, err := it.Next()
		if err != nil {
			break
		}
		names = append(names, inst.GetName())
		if inst.GetStatus() != "RUNNING" || inst.GetId() == 0 {
			t.Errorf("instance %s: status %q id %d", inst.GetName(), inst.GetStatus(), inst.GetId())
		}
	}
	if len(names) != 2 || names[0] != "a" || names[1] != "b" {
		t.Fatalf("listed %v, want [a b]", names)
	}
	inst, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// setMetadata with a stale fingerprint fails; with the current one works.
	_, err = ic.SetMetadata(ctx, &computepb.SetMetadataInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a",
		MetadataResource: &computepb.Metadata{Fingerprint: proto.String("stale")}})
	if httpCode(err) != http.StatusPreconditionFailed {
		t.Fatalf("setMetadata with a stale fingerprint: err = %v, want 412", err)
	}
	op, err := ic.SetMetadata(ctx, &computepb.SetMetadataInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a",
		MetadataResource: &computepb.Metadata{Fingerprint: inst.Metadata.Fingerprint, Items: []*computepb.Items{{Key: proto.String("k"), Value: proto.String("v")}}}})
	wait(t, ctx, op, err)
	op, err = ic.Stop(ctx, &computepb.StopInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a"})
	wait(t, ctx, op, err)
	if inst, _ := ic.Get(ctx, &computepb.GetInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a"}); inst.GetStatus() != "TERMINATED" {
		t.Fatalf("after stop: status %q", inst.GetStatus())
	}
	if n := len(s.Resources(cfg.Project, "disks")); n != 2 {
		t.Fatalf("%d disks, want the 2 boot disks", n)
	}
	op, err = ic.Delete(ctx, &computepb.DeleteInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a"})
	wait(t, ctx, op, err)
	if n := len(s.Resources(cfg.Project, "disks")); n != 1 {
		t.Fatalf("%d disks after deleting a, want 1 (auto-delete boot disk)", n)
	}
	_, err = ic.Get(ctx, &computepb.GetInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "a"})
	if httpCode(err) != http.StatusNotFound {
		t.Fatalf("get of a deleted instance: err = %v, want 404", err)
	}
}

func TestDNSClient(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{})
	svc, err := dns.NewService(ctx, option.WithEndpoint(cfg.DNSEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(cfg.Project, &dns.ManagedZone{Name: "apps", DnsName: "apps.example.com.", Description: "x"}).Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(cfg.Project, &dns.ManagedZone{Name: "apps", DnsName: "apps.example.com."}).Context(ctx).Do(); httpCode(err) != http.StatusConflict {
		t.Fatalf("second zone create: err = %v, want 409", err)
	}
	a := &dns.ResourceRecordSet{Name: "billing.apps.example.com.", Type: "A", Ttl: 30, Rrdatas: []string{"10.0.0.1"}}
	if _, err := svc.Changes.Create(cfg.Project, "apps", &dns.Change{Additions: []*dns.ResourceRecordSet{a}}).Context(ctx).Do(); err != nil {
		t.Fatal(err)
	}
	wrr := &dns.ResourceRecordSet{Name: a.Name, Type: "A", Ttl: 30, RoutingPolicy: &dns.RRSetRoutingPolicy{Wrr: &dns.RRSetRoutingPolicyWrrPolicy{
		Items: []*dns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{{Weight: 90, Rrdatas: []string{"10.0.0.1"}}, {Weight: 10, Rrdatas: []string{"34.1.2.3"}}},
	}}}
	chg, err := svc.Changes.Create(cfg.Project, "apps", &dns.Change{Deletions: []*dns.ResourceRecordSet{a}, Additions: []*dns.ResourceRecordSet{wrr}}).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if chg.Status != "done" {
		t.Fatalf("change status %q", chg.Status)
	}
	// Deleting what is no longer there exactly: 412.
	if _, err := svc.Changes.Create(cfg.Project, "apps", &dns.Change{Deletions: []*dns.ResourceRecordSet{a}}).Context(ctx).Do(); httpCode(err) != http.StatusPreconditionFailed {
		t.Fatalf("deletion of a changed record: err = %v, want 412", err)
	}
	list, err := svc.ResourceRecordSets.List(cfg.Project, "apps").Name(a.Name).Type("A").Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Rrsets) != 1 || list.Rrsets[0].RoutingPolicy == nil || len(list.Rrsets[0].RoutingPolicy.Wrr.Items) != 2 {
		t.Fatalf("record sets = %+v", list.Rrsets)
	}
	recs := s.DNSRecords(cfg.Project, "apps")
	if len(recs) != 3 { // SOA, NS, A
		t.Fatalf("records %v, want SOA NS A", recs)
	}
	if err := svc.ManagedZones.Delete(cfg.Project, "apps").Context(ctx).Do(); httpCode(err) != http.StatusBadRequest {
		t.Fatalf("delete of a non-empty zone: err = %v, want 400", err)
	}
}
