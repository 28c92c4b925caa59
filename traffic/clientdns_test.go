package traffic_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/lbrig"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

const clientName = "billing.corp.example."

// clientZone creates managed zone corp-internal (corp.example.) with the
// records given, through the real Cloud DNS client.
func clientZone(t *testing.T, g gcp.Config, rrs ...*dns.ResourceRecordSet) {
	t.Helper()
	svc, err := dns.NewService(context.Background(), g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp-internal", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}
	if len(rrs) > 0 {
		if _, err := svc.Changes.Create(project, "corp-internal", &dns.Change{Additions: rrs}).Do(); err != nil {
			t.Fatal(err)
		}
	}
}

func clientDNS(t *testing.T, g gcp.Config, withServing bool) *traffic.ClientDNSClients {
	t.Helper()
	c, err := traffic.NewClientDNSClients(context.Background(), traffic.Config{}, g, project, g.Zone, withServing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// observe resolves the client name as a client does (Go's resolver, over
// real DNS from the fake) and reads the TTL the answer carries.
func observe(t *testing.T, d *gcpfake.DNSServer, name string) (addrs []string, ttl uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := d.Resolver().LookupHost(ctx, name)
	if err != nil {
		t.Fatalf("resolve %s: %v", name, err)
	}
	slices.Sort(addrs)
	a, err := gcpfake.QueryDNS(ctx, d.Addr(), name, "A")
	if err != nil || len(a.Records) == 0 {
		t.Fatalf("query %s: %+v %v", name, a, err)
	}
	return addrs, a.Records[len(a.Records)-1].TTL
}

// TestClientsFollowCutoverAndRollback is the acceptance of client names:
// a client resolving the app's name over DNS gets the datacenter VIP, then
// (after the TTL was lowered) the load balancer, through which it reaches
// the datacenter at 0 % and GCP at 100 %, then the VIP again after the
// rollback, and the original TTL at the end.
func TestClientsFollowCutoverAndRollback(t *testing.T) {
	ctx := context.Background()
	dcApp := newApp(t)
	const vip, dcEndpoint = "10.20.30.40", "10.20.30.40:8080"
	s, g := fake(t, gcpfake.Options{DataPlane: true, Hybrid: func(ip string, port int) string {
		if net.JoinHostPort(ip, fmt.Sprint(port)) == dcEndpoint {
			return strings.TrimPrefix(dcApp.URL, "http://")
		}
		return ""
	}})
	const app = "billing-api"
	lbrig.Provision(t, s, g, app, []string{"billing-web-1", "billing-web-2"}, 0, dcEndpoint)
	clientZone(t, g, &dns.ResourceRecordSet{Name: clientName, Type: "A", Ttl: 300, Rrdatas: []string{vip}})
	d, err := s.ServeDNS("", project)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	spec := plan.AppSpec{Name: app, Project: project, Region: g.Region, Zone: g.Zone,
		VMs:     []plan.VMSpec{{Name: "billing-web-1", GCEName: "billing-web-1"}, {Name: "billing-web-2", GCEName: "billing-web-2"}},
		Cutover: plan.CutoverSpec{Strategy: "lb", DCEndpoints: []string{dcEndpoint}}}
	entry := plan.ClientDNS{Name: clientName, Zone: "corp-internal", Project: project, TTLDuring: 30 * time.Second}
	c := clientDNS(t, g, true)
	cd := traffic.NewClientDNS(c.DNS, traffic.Config{}, entry)
	changes := func() int { return s.RequestCount("POST", `/managedZones/corp-internal/changes$`) }

	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, []string{vip}) || ttl != 300 {
		t.Fatalf("before: %v ttl %d", addrs, ttl)
	}

	// Prepare: same address, TTL 30; wait out the old 300 s.
	before := time.Now()
	st, err := cd.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []traffic.DNSRecord{{Type: "A", TTL: 300, Rrdatas: []string{vip}}}
	if fmt.Sprint(st.Original) != fmt.Sprint(want) || st.TTLDuring != 30 {
		t.Fatalf("prepare: %+v", st)
	}
	if w := st.WaitUntil.Sub(before); w < 299*time.Second || w > 301*time.Second {
		t.Errorf("wait until %v: %v after the change, want the old TTL (300 s)", st.WaitUntil, w)
	}
	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, []string{vip}) || ttl != 30 {
		t.Fatalf("after prepare: %v ttl %d", addrs, ttl)
	}
	// A retried Prepare (the worker died before it reported) changes
	// nothing and still knows the original, from the zone's history.
	n := changes()
	st2, err := cd.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if changes() != n || fmt.Sprint(st2.Original) != fmt.Sprint(want) || !st2.WaitUntil.Equal(st.WaitUntil) {
		t.Fatalf("retried prepare: %d changes, %+v, want none and %+v", changes()-n, st2, st)
	}

	// Cutover: the name points at the load balancer.
	sv, err := traffic.ServingAddresses(ctx, c.Serving, project, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.Addresses) != 1 || !strings.HasPrefix(sv.Addresses[0], gcpfake.LBPool+".") {
		t.Fatalf("serving: %+v, want the forwarding rule's address", sv)
	}
	if err := cd.PointAt(ctx, sv.Addresses); err != nil {
		t.Fatal(err)
	}
	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, sv.Addresses) || ttl != 30 {
		t.Fatalf("after point: %v ttl %d", addrs, ttl)
	}
	// A client using the name reaches the app through the load balancer:
	// the datacenter while the weights say so, GCP at 100 %.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{Resolver: d.Resolver()}).DialContext(ctx, network, addr)
	}}}
	get := func() string {
		t.Helper()
		resp, err := hc.Get("http://" + strings.TrimSuffix(clientName, ".") + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get(gcpfake.ServedByHeader)
	}
	if by := get(); by != "dc" {
		t.Errorf("at 0 %%: served by %q, want dc", by)
	}
	lb := traffic.NewLB(urlMapsClient(t, g), traffic.Config{}, project, app)
	if err := lb.Shift(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if by := get(); by != "gcp" {
		t.Errorf("at 100 %%: served by %q, want gcp", by)
	}
	n = changes()
	if err := cd.PointAt(ctx, sv.Addresses); err != nil || changes() != n {
		t.Fatalf("second PointAt: %v, %d changes", err, changes()-n)
	}
	// Prepare run again now (a cutover retried from its start) still
	// knows what clients used before, not the load balancer.
	if st3, err := cd.Prepare(ctx); err != nil || fmt.Sprint(st3.Original) != fmt.Sprint(want) || changes() != n {
		t.Fatalf("prepare after point: %+v %v, %d changes", st3, err, changes()-n)
	}

	// Rollback: the VIP again, still with the low TTL.
	if err := lb.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cd.Restore(ctx, st.Original); err != nil {
		t.Fatal(err)
	}
	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, []string{vip}) || ttl != 30 {
		t.Fatalf("after restore: %v ttl %d", addrs, ttl)
	}
	// Without the original (a workflow that lost it), from the history.
	if err := cd.Restore(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := cd.Finalize(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, []string{vip}) || ttl != 300 {
		t.Fatalf("after finalize: %v ttl %d", addrs, ttl)
	}
	n = changes()
	if err := cd.Finalize(ctx, st.Original); err != nil || changes() != n {
		t.Fatalf("second finalize: %v, %d changes", err, changes()-n)
	}
}

// A name that is a CNAME to the VIP's own name becomes an A record at
// cutover and the CNAME again on rollback; a dual-stack name loses its
// AAAA while it points at an IPv4-only load balancer.
func TestClientDNSCNAMEAndDualStack(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	clientZone(t, g,
		&dns.ResourceRecordSet{Name: clientName, Type: "CNAME", Ttl: 600, Rrdatas: []string{"vip-7.dc.corp.example."}},
		&dns.ResourceRecordSet{Name: "vip-7.dc.corp.example.", Type: "A", Ttl: 600, Rrdatas: []string{"10.20.30.40"}},
		&dns.ResourceRecordSet{Name: "dual.corp.example.", Type: "A", Ttl: 120, Rrdatas: []string{"10.20.30.41"}},
		&dns.ResourceRecordSet{Name: "dual.corp.example.", Type: "AAAA", Ttl: 90, Rrdatas: []string{"fd00::41"}})
	d, err := s.ServeDNS("", project)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := clientDNS(t, g, false)

	cd := traffic.NewClientDNS(c.DNS, traffic.Config{}, plan.ClientDNS{Name: clientName, Zone: "corp-internal", Project: project, TTLDuring: 20 * time.Second})
	st, err := cd.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Original) != 1 || st.Original[0].Type != "CNAME" || st.Original[0].TTL != 600 {
		t.Fatalf("prepare: %+v", st)
	}
	if err := cd.PointAt(ctx, []string{"34.120.0.9"}); err != nil {
		t.Fatal(err)
	}
	recs := s.DNSRecords(project, "corp-internal")
	if recs[clientName+" CNAME"] != nil || fmt.Sprint(recs[clientName+" A"]["rrdatas"]) != "[34.120.0.9]" {
		t.Fatalf("after point: %v", recs)
	}
	if err := cd.Restore(ctx, st.Original); err != nil {
		t.Fatal(err)
	}
	if addrs, ttl := observe(t, d, clientName); !slices.Equal(addrs, []string{"10.20.30.40"}) || ttl != 600 {
		// the CNAME's own TTL is 20 now; its target keeps 600
		t.Fatalf("after restore: %v ttl %d", addrs, ttl)
	}
	if rr := s.DNSRecords(project, "corp-internal")[clientName+" CNAME"]; rr == nil || fmt.Sprint(rr["ttl"]) != "20" {
		t.Fatalf("restored CNAME: %v", rr)
	}

	dual := traffic.NewClientDNS(c.DNS, traffic.Config{}, plan.ClientDNS{Name: "dual.corp.example.", Zone: "corp-internal", Project: project, TTLDuring: 30 * time.Second})
	st, err = dual.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Original) != 2 || st.WaitUntil.Sub(st.LoweredAt) != 120*time.Second {
		t.Fatalf("dual prepare: %+v", st)
	}
	if err := dual.PointAt(ctx, []string{"34.120.0.9"}); err != nil {
		t.Fatal(err)
	}
	if addrs, _ := observe(t, d, "dual.corp.example."); !slices.Equal(addrs, []string{"34.120.0.9"}) {
		t.Fatalf("dual after point: %v", addrs)
	}
	if err := dual.Restore(ctx, st.Original); err != nil {
		t.Fatal(err)
	}
	if err := dual.Finalize(ctx, st.Original); err != nil {
		t.Fatal(err)
	}
	recs = s.DNSRecords(project, "corp-internal")
	if fmt.Sprint(recs["dual.corp.example. A"]["ttl"], recs["dual.corp.example. AAAA"]["ttl"]) != "120 90" {
		t.Fatalf("dual after finalize: %v %v", recs["dual.corp.example. A"], recs["dual.corp.example. AAAA"])
	}
}

// A concurrent writer (412 on the change) is re-read and retried; what
// the plan got wrong fails at once, permanently, saying what to fix.
func TestClientDNSConflictsAndPlanErrors(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	clientZone(t, g, &dns.ResourceRecordSet{Name: clientName, Type: "A", Ttl: 300, Rrdatas: []string{"10.20.30.40"}})
	c := clientDNS(t, g, false)
	if err := s.Faults().Add(gcpfake.Fault{Method: "POST", PathRegexp: `/changes$`, Status: 412, Times: 2}); err != nil {
		t.Fatal(err)
	}
	cd := traffic.NewClientDNS(c.DNS, traffic.Config{}, plan.ClientDNS{Name: clientName, Zone: "corp-internal", Project: project, TTLDuring: 30 * time.Second})
	if _, err := cd.Prepare(ctx); err != nil {
		t.Fatalf("prepare through two conflicts: %v", err)
	}
	if rr := s.DNSRecords(project, "corp-internal")[clientName+" A"]; fmt.Sprint(rr["ttl"]) != "30" {
		t.Fatalf("after conflicts: %v", rr)
	}
	for _, tc := range []struct {
		entry plan.ClientDNS
		want  string
	}{
		{plan.ClientDNS{Name: clientName, Zone: "nope", Project: project}, "has no managed zone nope"},
		{plan.ClientDNS{Name: "billing.other.example.", Zone: "corp-internal", Project: project}, "holds corp.example. and below"},
		{plan.ClientDNS{Name: "gone.corp.example.", Zone: "corp-internal", Project: project}, "no A, AAAA or CNAME record gone.corp.example."},
	} {
		_, err := traffic.NewClientDNS(c.DNS, traffic.Config{}, tc.entry).Prepare(ctx)
		if err == nil || !traffic.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want a permanent error with %q", tc.entry, err, tc.want)
		}
	}
	for _, bad := range [][]traffic.DNSRecord{
		{{Type: "TXT", TTL: 60, Rrdatas: []string{`"x"`}}},
		{{Type: "A", TTL: 60, Rrdatas: []string{"fd00::1"}}},
		{{Type: "CNAME", TTL: 60, Rrdatas: []string{"a.example."}}, {Type: "A", TTL: 60, Rrdatas: []string{"10.0.0.1"}}},
		{{Type: "A", TTL: -1, Rrdatas: []string{"10.0.0.1"}}},
	} {
		if err := cd.Restore(ctx, bad); err == nil || !traffic.IsPermanent(err) {
			t.Errorf("restore %+v: got %v, want a permanent refusal", bad, err)
		}
	}
	if err := cd.PointAt(ctx, []string{"not-an-ip"}); err == nil || !traffic.IsPermanent(err) {
		t.Errorf("point at a non-address: %v", err)
	}
}

// The zones read from Cloud DNS make plan validation check each
// client_dns zone and name, at the block.
func TestReadDNSZonesForValidation(t *testing.T) {
	_, g := fake(t, gcpfake.Options{})
	clientZone(t, g)
	src := `
gcp {
  project = "` + project + `"
  region  = "europe-west1"
}
wave "w" {
  apps = ["billing-api"]
}
app "billing-api" {
  cutover {
    client_dns {
      zone = "corp-internal"
      name = "billing.corp.example."
    }
    client_dns {
      zone = "corp-public"
      name = "billing.example.com."
    }
  }
}
`
	p, diags := plan.Parse("ferry.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	projects := plan.ClientDNSProjects(p)
	if !slices.Equal(projects, []string{project}) {
		t.Fatalf("projects %v", projects)
	}
	zones, err := traffic.ReadDNSZones(context.Background(), g, projects)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(zones) != fmt.Sprintf("map[%s:[{corp-internal corp.example.}]]", project) {
		t.Fatalf("zones %v", zones)
	}
	p.DNSZones = zones
	var got []string
	inv := &inventory.Inventory{Apps: []inventory.App{{Name: "billing-api", VMs: []string{"vm-1"}}},
		VMs: []inventory.VM{{Ref: "vm-1", Name: "billing-web-1", NumCPU: 2, MemoryMB: 4096}}}
	for _, d := range plan.Validate(p, inv, nil) {
		if strings.Contains(d.Detail, "client_dns") {
			got = append(got, fmt.Sprintf("%s: %s", d.Subject, d.Summary))
		}
	}
	if want := []string{"ferry.hcl:16,14-27: Unknown managed zone"}; !slices.Equal(got, want) {
		t.Fatalf("diagnostics %q, want %q", got, want)
	}
}
