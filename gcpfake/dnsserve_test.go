package gcpfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// dnsFixture creates zone corp (corp.example.) in project p with records
// through the Cloud DNS API and serves it over DNS.
func dnsFixture(t *testing.T) (*Server, *DNSServer) {
	t.Helper()
	s, _ := startFake(t, Options{})
	base := s.DNSEndpoint() + "projects/p/managedZones"
	if code, _, m := do(t, "POST", base, `{"name":"corp","dnsName":"corp.example."}`); code != 200 {
		t.Fatalf("create zone: %d %v", code, m)
	}
	if code, _, m := do(t, "POST", base, `{"name":"sub","dnsName":"east.corp.example."}`); code != 200 {
		t.Fatalf("create zone: %d %v", code, m)
	}
	change := `{"additions":[
	  {"name":"billing.corp.example.","type":"A","ttl":300,"rrdatas":["10.20.0.15"]},
	  {"name":"billing.corp.example.","type":"AAAA","ttl":300,"rrdatas":["fd00::15"]},
	  {"name":"www.corp.example.","type":"CNAME","ttl":60,"rrdatas":["billing.corp.example."]},
	  {"name":"api.corp.example.","type":"CNAME","ttl":60,"rrdatas":["api.east.corp.example."]},
	  {"name":"note.corp.example.","type":"TXT","ttl":120,"rrdatas":["\"hello \\\"world\\\"\" \"two\""]},
	  {"name":"x.deep.corp.example.","type":"A","ttl":30,"rrdatas":["10.0.0.1"]},
	  {"name":"big.corp.example.","type":"A","ttl":30,"rrdatas":[%s]},
	  {"name":"split.corp.example.","type":"A","ttl":5,"routingPolicy":{"wrr":{"items":[{"weight":0,"rrdatas":["10.0.0.1"]},{"weight":1,"rrdatas":["10.0.0.2"]}]}}}
	]}`
	var many []string
	for i := range 60 {
		many = append(many, fmt.Sprintf(`"10.30.0.%d"`, i+1))
	}
	if code, _, m := do(t, "POST", base+"/corp/changes", fmt.Sprintf(change, strings.Join(many, ","))); code != 200 {
		t.Fatalf("change: %d %v", code, m)
	}
	if code, _, m := do(t, "POST", base+"/sub/changes", `{"additions":[{"name":"api.east.corp.example.","type":"A","ttl":45,"rrdatas":["10.40.0.1"]}]}`); code != 200 {
		t.Fatalf("change: %d %v", code, m)
	}
	d, err := s.ServeDNS("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return s, d
}

func TestDNSServeAnswersFromZones(t *testing.T) {
	_, d := dnsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := func(name, typ string) DNSAnswer {
		t.Helper()
		a, err := QueryDNS(ctx, d.Addr(), name, typ)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := q("Billing.Corp.Example.", "A")
	if a.RCode != "RCodeSuccess" || !a.Authoritative || len(a.Records) != 1 || a.Records[0] != (DNSRR{"Billing.Corp.Example.", "A", 300, "10.20.0.15"}) {
		t.Errorf("A: %+v", a)
	}
	if a := q("billing.corp.example.", "AAAA"); len(a.Records) != 1 || a.Records[0].Data != "fd00::15" {
		t.Errorf("AAAA: %+v", a)
	}
	// A CNAME is followed inside the zone, and into a delegated zone.
	a = q("www.corp.example.", "A")
	if len(a.Records) != 2 || a.Records[0].Type != "CNAME" || a.Records[1] != (DNSRR{"billing.corp.example.", "A", 300, "10.20.0.15"}) {
		t.Errorf("CNAME chain: %+v", a)
	}
	if a := q("api.corp.example.", "A"); len(a.Records) != 2 || a.Records[1] != (DNSRR{"api.east.corp.example.", "A", 45, "10.40.0.1"}) {
		t.Errorf("CNAME into the sub zone: %+v", a)
	}
	if a := q("note.corp.example.", "TXT"); len(a.Records) != 1 || a.Records[0].Data != `"hello \"world\"" "two"` {
		t.Errorf("TXT: %+v", a)
	}
	// Weighted round robin by weight: the 0-weight item never answers.
	for range 10 {
		if a := q("split.corp.example.", "A"); len(a.Records) != 1 || a.Records[0].Data != "10.0.0.2" {
			t.Fatalf("wrr: %+v", a)
		}
	}
	if a := q("nope.corp.example.", "A"); a.RCode != "RCodeNameError" || len(a.Records) != 0 {
		t.Errorf("missing name: %+v", a)
	}
	if a := q("deep.corp.example.", "A"); a.RCode != "RCodeSuccess" || len(a.Records) != 0 {
		t.Errorf("empty non-terminal: %+v", a)
	}
	if a := q("billing.corp.example.", "MX"); a.RCode != "RCodeSuccess" || len(a.Records) != 0 {
		t.Errorf("no data: %+v", a)
	}
	if a := q("example.org.", "A"); a.RCode != "RCodeRefused" {
		t.Errorf("outside every zone: %+v", a)
	}
}

// Go's own resolver, asking only the fake: it finds the addresses, gets
// NXDOMAIN for a missing name, and retries a truncated UDP answer over TCP.
func TestDNSServeGoResolver(t *testing.T) {
	_, d := dnsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := d.Resolver()
	got, err := r.LookupHost(ctx, "billing.corp.example")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"10.20.0.15", "fd00::15"}) {
		t.Errorf("LookupHost: %v", got)
	}
	if cn, err := r.LookupCNAME(ctx, "www.corp.example."); err != nil || cn != "billing.corp.example." {
		t.Errorf("LookupCNAME: %q %v", cn, err)
	}
	_, err = r.LookupHost(ctx, "nope.corp.example.")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("missing name: %v", err)
	}
	ips, err := r.LookupIP(ctx, "ip4", "big.corp.example.")
	if err != nil || len(ips) != 60 {
		t.Errorf("60 addresses (over TCP after truncation): %d %v", len(ips), err)
	}
}

func TestDNSServeSeesChangesAndCloses(t *testing.T) {
	s, d := dnsFixture(t)
	ctx := context.Background()
	base := s.DNSEndpoint() + "projects/p/managedZones/corp/changes"
	body := `{"deletions":[{"name":"billing.corp.example.","type":"A","ttl":300,"rrdatas":["10.20.0.15"]}],
	  "additions":[{"name":"billing.corp.example.","type":"A","ttl":30,"rrdatas":["127.20.0.9"]}]}`
	if code, _, m := do(t, "POST", base, body); code != 200 {
		t.Fatalf("change: %d %v", code, m)
	}
	a, err := QueryDNS(ctx, d.Addr(), "billing.corp.example.", "A")
	if err != nil || len(a.Records) != 1 || a.Records[0].TTL != 30 || a.Records[0].Data != "127.20.0.9" {
		t.Fatalf("after the change: %+v %v", a, err)
	}
	// Only the projects asked for are served.
	d2, err := s.ServeDNS("", "other")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := QueryDNS(ctx, d2.Addr(), "billing.corp.example.", "A"); err != nil || a.RCode != "RCodeRefused" {
		t.Errorf("zone of another project: %+v %v", a, err)
	}
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d2.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := QueryDNS(cctx, d2.Addr(), "billing.corp.example.", "A"); err == nil {
		t.Error("a closed server answered")
	}
}
