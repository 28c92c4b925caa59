package traffic_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// The strategies of the internal kinds against gcpfake, with the
// resources created through the API (the terraform-made ones are in
// lbkinds_e2e_test.go).

func TestRegionLBStepsAndRollback(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{OperationPolls: 2})
	r := "regions/europe-west1/"
	for _, n := range []string{traffic.DCBackendName("ledger"), traffic.GCPBackendName("ledger")} {
		call(t, g, "POST", r+"backendServices", obj{"name": n, "protocol": "HTTP", "loadBalancingScheme": "INTERNAL_MANAGED"})
	}
	call(t, g, "POST", r+"urlMaps", obj{"name": traffic.URLMapName("ledger"), "defaultRouteAction": obj{"weightedBackendServices": []any{
		obj{"backendService": r + "backendServices/" + traffic.DCBackendName("ledger"), "weight": 100},
		obj{"backendService": r + "backendServices/" + traffic.GCPBackendName("ledger"), "weight": 0}}}})
	spec := plan.AppSpec{Name: "ledger", Project: project, Region: "europe-west1",
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyLB, LB: plan.LBSpec{Kind: plan.LBInternalHTTP}}}
	st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for _, p := range []int{10, 50, 100} {
		if err := st.Shift(ctx, p); err != nil {
			t.Fatalf("shift %d: %v", p, err)
		}
		if cur, err := st.Current(ctx); err != nil || cur != p {
			t.Fatalf("Current after %d: %d %v", p, cur, err)
		}
	}
	patches := s.RequestCount(http.MethodPatch, "/regions/europe-west1/urlMaps/")
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount(http.MethodPatch, "/regions/europe-west1/urlMaps/") - patches; n != 1 {
		t.Fatalf("rollback sent %d patches, want 1", n)
	}
	if cur, _ := st.Current(ctx); cur != 0 {
		t.Fatalf("after rollback: %d %%", cur)
	}
	// A missing map names the region URL map.
	spec.Name = "nothing"
	st2, c2, _ := traffic.New(ctx, traffic.Config{}, g, spec)
	defer c2()
	if err := st2.Shift(ctx, 10); !traffic.IsPermanent(err) || !strings.Contains(err.Error(), "region url map nothing-lb") {
		t.Fatalf("missing region url map: %v", err)
	}
}

func TestPassthroughOneStep(t *testing.T) {
	ctx := context.Background()
	s, g := fake(t, gcpfake.Options{})
	r := "regions/europe-west1/"
	call(t, g, "POST", r+"backendServices", obj{"name": traffic.GCPBackendName("orders-db"), "protocol": "TCP", "loadBalancingScheme": "INTERNAL"})
	call(t, g, "POST", r+"forwardingRules", obj{"name": traffic.ForwardingRuleName("orders-db"), "loadBalancingScheme": "INTERNAL",
		"backendService": r + "backendServices/" + traffic.GCPBackendName("orders-db"), "ports": []any{"5432"}, "IPAddress": "10.128.9.9"})
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}
	spec := plan.AppSpec{Name: "orders-db", Project: project, Region: "europe-west1",
		Cutover: plan.CutoverSpec{Strategy: traffic.StrategyDNS, LB: plan.LBSpec{Kind: plan.LBInternalTCP},
			DCEndpoints: []string{"10.20.0.31:5432"}, DNS: plan.DNSTarget{ManagedZone: "corp", Name: "orders-db.corp.example."}}}
	st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	record := func() []any {
		d, _ := s.DNSRecords(project, "corp")["orders-db.corp.example. A"]["rrdatas"].([]any)
		return d
	}
	if err := st.Shift(ctx, 10); !traffic.IsPermanent(err) || !strings.Contains(err.Error(), "cannot split") {
		t.Fatalf("a split of a passthrough LB: %v", err)
	}
	if err := st.Shift(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if d := record(); len(d) != 1 || d[0] != "10.128.9.9" {
		t.Fatalf("at 100 %% the record holds %v, want the forwarding rule's address", d)
	}
	if cur, err := st.Current(ctx); err != nil || cur != 100 {
		t.Fatalf("Current %d %v", cur, err)
	}
	changes := s.RequestCount(http.MethodPost, "/changes$")
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount(http.MethodPost, "/changes$") - changes; n != 1 {
		t.Fatalf("rollback made %d changes, want 1", n)
	}
	if d := record(); len(d) != 1 || d[0] != "10.20.0.31" {
		t.Fatalf("after rollback the record holds %v", d)
	}
	// strategy lb on a passthrough LB is refused when building it.
	spec.Cutover.Strategy = traffic.StrategyLB
	if _, _, err := traffic.New(ctx, traffic.Config{}, g, spec); !traffic.IsPermanent(err) {
		t.Fatalf("strategy lb on internal-tcp: %v", err)
	}
}

func TestLBURLs(t *testing.T) {
	ctx := context.Background()
	_, g := fake(t, gcpfake.Options{})
	r := "regions/europe-west1/"
	call(t, g, "POST", r+"backendServices", obj{"name": "db-gcp", "protocol": "TCP", "loadBalancingScheme": "INTERNAL"})
	call(t, g, "POST", r+"forwardingRules", obj{"name": traffic.ForwardingRuleName("db"), "loadBalancingScheme": "INTERNAL",
		"backendService": r + "backendServices/db-gcp", "ports": []any{"5432"}, "IPAddress": "10.128.9.10"})
	spec := plan.AppSpec{Name: "db", Project: project, Region: "europe-west1", Cutover: plan.CutoverSpec{Strategy: "dns",
		LB: plan.LBSpec{Kind: plan.LBInternalTCP}, HealthCheck: plan.HealthCheck{Protocol: "tcp", Port: 5432}}}
	ts, err := traffic.Targets(ctx, g, spec, nil)
	if err != nil || len(ts) != 1 || ts[0].URL != "tcp://10.128.9.10:5432" {
		t.Fatalf("tcp targets: %v %v", ts, err)
	}
	// The TCP probe: a closed port fails, an open one passes.
	v, err := traffic.NewProbe(traffic.Config{}).Gate(ctx, plan.SLO{Requests: 3}, []traffic.Target{{Name: "public", URL: "tcp://127.0.0.1:1"}})
	if err != nil || v.Pass {
		t.Fatalf("closed port: %+v %v", v, err)
	}
}
