package gcpfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// TestRefusesWhatGCERefuses inserts instances and subnetworks with the Go
// compute client and checks each refusal's code and GCE's message.
func TestRefusesWhatGCERefuses(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{})
	ic, err := compute.NewInstancesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	insert := func(name, zone, machineType, image string) error {
		_, err := ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cfg.Project, Zone: zone, InstanceResource: &computepb.Instance{
			Name: proto.String(name), MachineType: proto.String(machineType),
			Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
				InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String(image)}}},
			NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default")}},
		}})
		return err
	}
	const debian = "projects/debian-cloud/global/images/debian-12-bookworm-v20250610"
	cases := []struct {
		name, zone, machineType, image string
		msg                            string
	}{
		{"e2-highmem-32", "us-central1-a", "zones/us-central1-a/machineTypes/e2-highmem-32", debian,
			"Invalid value for field 'resource.machineType': 'projects/ferry-go/zones/us-central1-a/machineTypes/e2-highmem-32'. Machine type with name 'e2-highmem-32' does not exist in zone 'us-central1-a'."},
		{"n2-highcpu-128", "us-central1-a", "n2-highcpu-128", debian, "Machine type with name 'n2-highcpu-128' does not exist in zone 'us-central1-a'."},
		{"bad-zone", "us-central1-z", "e2-small", debian, "Invalid value for field 'zone': 'us-central1-z'. Unknown zone."},
		{"bad-image", "us-central1-a", "e2-small", "projects/centos-cloud/global/images/family/centos-7",
			"Invalid value for field 'resource.disks[0].initializeParams.sourceImage': 'projects/centos-cloud/global/images/family/centos-7'. The referenced image resource cannot be found."},
	}
	for _, c := range cases {
		err := insert(c.name, c.zone, c.machineType, c.image)
		var ge *googleapi.Error
		if !errors.As(err, &ge) || ge.Code != http.StatusBadRequest || !strings.Contains(ge.Message, c.msg) {
			t.Errorf("%s: err = %v, want 400 %q", c.name, err, c.msg)
		}
	}
	if n := len(s.Resources(cfg.Project, "instances")) + len(s.Resources(cfg.Project, "disks")); n != 0 {
		t.Fatalf("refused inserts left %d objects behind", n)
	}
	// What GCE sells goes through: a real shape, a shared-core one, a custom one.
	for i, mt := range []string{"n2-highmem-128", "e2-small", "n2-custom-6-24576"} {
		op, err := ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cfg.Project, Zone: "europe-west1-b", InstanceResource: &computepb.Instance{
			Name: proto.String("ok-" + string(rune('a'+i))), MachineType: proto.String(mt),
			Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
				InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/windows-cloud/global/images/windows-server-2022-dc-v20250610")}}},
			NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default")}},
		}})
		wait(t, ctx, op, err)
	}

	sc, err := compute.NewSubnetworksRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	_, err = sc.Insert(ctx, &computepb.InsertSubnetworkRequest{Project: cfg.Project, Region: "europe-west9", SubnetworkResource: &computepb.Subnetwork{
		Name: proto.String("s"), Network: proto.String("global/networks/default"), IpCidrRange: proto.String("10.9.0.0/24")}})
	if httpCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Unknown region") {
		t.Errorf("subnetwork in an unknown region: %v", err)
	}
}

// TestServesTheCatalogue reads machine types through the Compute API the
// way catalog.FromCompute does, and single types, zones and regions.
func TestServesTheCatalogue(t *testing.T) {
	ctx := context.Background()
	_, cfg := startFake(t, Options{})
	mc, err := compute.NewMachineTypesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	c, err := catalog.FromCompute(ctx, mc, cfg.Project)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ZoneTypes) != len(catalog.Default().Zones()) || !strings.Contains(c.Origin, "aggregatedList") {
		t.Fatalf("zones read: %d, origin %q", len(c.ZoneTypes), c.Origin)
	}
	zt := c.ZoneTypes["europe-west1-b"]
	if m, ok := zt["n2-highmem-128"]; !ok || m.MemoryGB != 864 || m.VCPU != 128 {
		t.Errorf("n2-highmem-128 in europe-west1-b: %+v", m)
	}
	if _, ok := zt["e2-highmem-32"]; ok {
		t.Error("e2-highmem-32 served")
	}
	if m := zt["e2-micro"]; !m.SharedCore || m.MemoryGB != 1 {
		t.Errorf("e2-micro: %+v", m)
	}
	if err := c.Validate("e2-standard-4", "europe-west1-b"); err != nil {
		t.Error(err)
	}

	mt, err := mc.Get(ctx, &computepb.GetMachineTypeRequest{Project: cfg.Project, Zone: "us-central1-a", MachineType: "n1-highcpu-2"})
	if err != nil || mt.GetGuestCpus() != 2 || mt.GetMemoryMb() != 1843 {
		t.Errorf("n1-highcpu-2: %v %v", mt, err)
	}
	if _, err := mc.Get(ctx, &computepb.GetMachineTypeRequest{Project: cfg.Project, Zone: "us-central1-a", MachineType: "n2-highcpu-128"}); httpCode(err) != http.StatusNotFound {
		t.Errorf("GET n2-highcpu-128: %v, want 404", err)
	}
	zc, err := compute.NewZonesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	if z, err := zc.Get(ctx, &computepb.GetZoneRequest{Project: cfg.Project, Zone: "europe-west1-d"}); err != nil || !strings.HasSuffix(z.GetRegion(), "/regions/europe-west1") {
		t.Errorf("zone europe-west1-d: %v %v", z, err)
	}
	if _, err := zc.Get(ctx, &computepb.GetZoneRequest{Project: cfg.Project, Zone: "europe-west1-a"}); httpCode(err) != http.StatusNotFound {
		t.Errorf("zone europe-west1-a (does not exist): %v, want 404", err)
	}
}
