package traffic_test

import (
	"context"
	"fmt"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/dns/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// createInstances inserts one GCE instance per VM with the given internal
// address.
func createInstances(tb testing.TB, g gcp.Config, spec plan.AppSpec, ips []string) {
	tb.Helper()
	ctx := context.Background()
	c, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	for i, vm := range spec.VMs {
		op, err := c.Insert(ctx, &computepb.InsertInstanceRequest{Project: project, Zone: spec.Zone, InstanceResource: &computepb.Instance{
			Name: proto.String(vm.GCEName), MachineType: proto.String("e2-small"),
			Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
				InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/debian-cloud/global/images/debian-12")}}},
			NetworkInterfaces: []*computepb.NetworkInterface{{NetworkIP: proto.String(ips[i])}},
		}})
		if err != nil {
			tb.Fatalf("insert instance %s: %v", vm.GCEName, err)
		}
		if err := op.Wait(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestDNSStepsAndRollback(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	spec := plan.AppSpec{Name: "portal", Project: project, Zone: "europe-west1-b",
		VMs: []plan.VMSpec{{Ref: "vm-1", Name: "portal-1", GCEName: "portal-1"}, {Ref: "vm-2", Name: "portal-2", GCEName: "portal-2"}},
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyDNS, DCEndpoints: []string{"192.0.2.10:443", "192.0.2.11:443"},
			DNS: plan.DNSTarget{ManagedZone: "corp", Name: "portal.corp.example."}}}
	createInstances(t, g, spec, []string{"10.128.0.7", "10.128.0.8"})
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}

	st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	record := func() map[string]any { return s.DNSRecords(project, "corp")["portal.corp.example. A"] }

	// The record does not exist yet: rollback creates it pointing at the DC.
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(record()["rrdatas"]); got != "[192.0.2.10 192.0.2.11]" {
		t.Fatalf("initial record %v", record())
	}
	for _, p := range []int{10, 50, 100, 0} {
		if err := st.Shift(ctx, p); err != nil {
			t.Fatalf("shift %d: %v", p, err)
		}
		rr := record()
		switch p {
		case 0:
			if fmt.Sprint(rr["rrdatas"]) != "[192.0.2.10 192.0.2.11]" || rr["routingPolicy"] != nil {
				t.Fatalf("0%%: %v", rr)
			}
		case 100:
			if fmt.Sprint(rr["rrdatas"]) != "[10.128.0.7 10.128.0.8]" || rr["routingPolicy"] != nil {
				t.Fatalf("100%%: %v", rr)
			}
		default:
			want := fmt.Sprintf("map[wrr:map[items:[map[rrdatas:[192.0.2.10 192.0.2.11] weight:%d] map[rrdatas:[10.128.0.7 10.128.0.8] weight:%d]]]]", 100-p, p)
			if got := fmt.Sprint(rr["routingPolicy"]); got != want {
				t.Fatalf("%d%%: routingPolicy %s", p, got)
			}
		}
		if ttl := fmt.Sprint(rr["ttl"]); ttl != fmt.Sprint(traffic.DefaultDNSTTL) {
			t.Fatalf("ttl %s", ttl)
		}
		if cur, err := st.Current(ctx); err != nil || cur != p {
			t.Fatalf("Current after %d = %d, %v", p, cur, err)
		}
	}
}

// racingDNS changes the record behind the strategy's back after each of its
// first reads.
type racingDNS struct {
	traffic.DNSAPI
	races int
}

func (r *racingDNS) GetRecordSet(ctx context.Context, project, zone, name, typ string) (*dns.ResourceRecordSet, error) {
	rr, err := r.DNSAPI.GetRecordSet(ctx, project, zone, name, typ)
	if err == nil && r.races > 0 {
		r.races--
		other := *rr
		other.Ttl++
		if _, err := r.DNSAPI.CreateChange(ctx, project, zone, &dns.Change{Deletions: []*dns.ResourceRecordSet{rr}, Additions: []*dns.ResourceRecordSet{&other}}); err != nil {
			panic(err)
		}
	}
	return rr, err
}

func TestDNSConflictRetry(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Changes.Create(project, "corp", &dns.Change{Additions: []*dns.ResourceRecordSet{
		{Name: "api.corp.example.", Type: "A", Ttl: 300, Rrdatas: []string{"10.128.0.9"}}}}).Do(); err != nil {
		t.Fatal(err)
	}
	spec := plan.AppSpec{Name: "api", Project: project, Cutover: plan.CutoverSpec{Strategy: traffic.StrategyDNS,
		DCEndpoints: []string{"192.0.2.20"}, DNS: plan.DNSTarget{ManagedZone: "corp", Name: "api.corp.example.", TTL: 10}}}
	d, err := traffic.NewDNS(&racingDNS{DNSAPI: traffic.DNSService{S: svc}, races: 2}, nil, traffic.Config{}, project, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	rr := s.DNSRecords(project, "corp")["api.corp.example. A"]
	if fmt.Sprint(rr["rrdatas"], rr["ttl"]) != "[192.0.2.20] 10" {
		t.Fatalf("record after rollback: %v", rr)
	}
	var conflicts int
	for _, r := range s.Requests() {
		if r.Status == 412 {
			conflicts++
		}
	}
	if conflicts != 2 {
		t.Fatalf("%d conflicts, want 2", conflicts)
	}
}
