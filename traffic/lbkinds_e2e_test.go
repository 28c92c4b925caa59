package traffic_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/dns/v1"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/testcert"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
)

const tfRegion, tfZone = "europe-west1", "europe-west1-b"

// kindSpec is a one-VM app behind load balancer kind, resolved as the plan
// resolver would resolve it.
func kindSpec(name, kind string, port int, dcEndpoints ...string) plan.AppSpec {
	s := plan.AppSpec{Name: name, Project: project, Region: tfRegion, Zone: tfZone, Network: "default", Wave: "wave-1", Owner: "ana",
		Backend: plan.Backend{Type: "gcs", Bucket: "ferry-state", Prefix: "ferry"},
		VMs: []plan.VMSpec{{Ref: "vm-" + name, Name: name + "-1", GCEName: name + "-1", MachineType: "n2-standard-2", Zone: tfZone,
			Image: "projects/debian-cloud/global/images/debian-12-bookworm-v20250610", DiskGB: 10, Ports: []int{port}}},
		Cutover: plan.CutoverSpec{Strategy: "lb", LB: plan.LBSpec{Kind: kind}, DCEndpoints: dcEndpoints,
			HealthCheck: plan.HealthCheck{Protocol: "http", Port: port, Path: "/healthz"},
			Steps:       []plan.Step{{Percent: 10}, {Percent: 50}, {Percent: 100}}},
	}
	if kind == plan.LBInternalTCP {
		s.Cutover.Strategy = "dns"
		s.Cutover.HealthCheck = plan.HealthCheck{Protocol: "tcp", Port: port}
		s.Cutover.Steps = []plan.Step{{Percent: 100}}
	}
	return s
}

// tfEnv starts gcpfake with its data plane and a state bucket, and returns a
// terraform runner config (skips without the pinned tools).
func tfEnv(t *testing.T, hybrid func(ip string, port int) string) (*gcpfake.Server, terraform.Config, gcp.Config) {
	t.Helper()
	bin, rc := testenv.Terraform(t)
	s, err := gcpfake.Start(gcpfake.Options{DataPlane: true, OperationPolls: 1, Hybrid: hybrid})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.CreateBucket("ferry-state")
	g := gcp.Config{Project: project, Region: tfRegion, Zone: tfZone,
		ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint(), StorageEndpoint: s.StorageEndpoint()}
	return s, terraform.Config{Binary: bin, CLIConfigFile: rc, WorkRoot: t.TempDir()}, g
}

// provision plans and applies spec with the real terraform and google
// provider, and checks a second plan has nothing to do.
func provision(t *testing.T, cfg terraform.Config, g gcp.Config, spec plan.AppSpec) (*terraform.Runner, terraform.ApplyResult) {
	t.Helper()
	ctx := context.Background()
	r, err := terraform.NewRunner(cfg, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := r.Plan(ctx)
	if err != nil {
		t.Fatalf("%s: plan: %v", spec.Name, err)
	}
	res, err := r.Apply(ctx, sum.Hash)
	if err != nil {
		t.Fatalf("%s: apply: %v", spec.Name, err)
	}
	again, _, err := r.Plan(ctx)
	if err != nil || again.HasChanges() {
		t.Fatalf("%s: plan after apply: %+v %v", spec.Name, again, err)
	}
	return r, res
}

// dcHTTP is the app in the datacenter, reached over the fake's hybrid
// connectivity.
func dcHTTP(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "dc %s\n", name) }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// dcTCP is a database-like app in the datacenter: a banner, then silence.
func dcTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintln(c, "dc orders-db")
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// servedBy sends n requests through the load balancer and counts the
// sides that answered.
func servedBy(t *testing.T, client *http.Client, url string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", url, resp.Status)
		}
		out[resp.Header.Get(gcpfake.ServedByHeader)]++
	}
	return out
}

// banner connects to addr and reads the first line.
func banner(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestLBKindsCutoverAndRollback is the acceptance of the three load
// balancer kinds: each app is provisioned by the real terraform and google
// provider against gcpfake (a second plan shows no change), its traffic is
// cut over with the strategy its kind calls for, through the fake's data
// plane (TLS ended with the plan's certificate, the internal LB, TCP
// passthrough), judged by the SLO gate through the load balancer, rolled
// back with one mutating call, and destroyed.
func TestLBKindsCutoverAndRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("three terraform applies and destroys (minutes): not in -short")
	}
	dcAddr := map[string]string{"10.20.0.11:8080": dcHTTP(t, "billing"), "10.20.0.21:8080": dcHTTP(t, "ledger")}
	s, cfg, g := tfEnv(t, func(ip string, port int) string { return dcAddr[net.JoinHostPort(ip, strconv.Itoa(port))] })
	call(t, g, "POST", "regions/"+tfRegion+"/subnetworks", obj{"name": "proxy-only", "network": "global/networks/default",
		"ipCidrRange": "10.129.0.0/23", "purpose": "REGIONAL_MANAGED_PROXY", "role": "ACTIVE"})
	ctx := context.Background()
	svc, err := dns.NewService(ctx, g.DNSOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ManagedZones.Create(project, &dns.ManagedZone{Name: "corp", DnsName: "corp.example."}).Do(); err != nil {
		t.Fatal(err)
	}

	pair := testcert.New(t, "billing.example.test")
	https := kindSpec("billing", plan.LBExternalHTTPS, 8080, "10.20.0.11:8080")
	https.Cutover.LB.TLS = plan.TLSSpec{CertFile: pair.CertFile, KeyFile: pair.KeyFile}
	internal := kindSpec("ledger", plan.LBInternalHTTP, 8080, "10.20.0.21:8080")
	internal.Cutover.LB.ProxyOnlySubnet = "proxy-only"
	tcp := kindSpec("orders-db", plan.LBInternalTCP, 5432, dcTCP(t))
	tcp.Cutover.DNS = plan.DNSTarget{ManagedZone: "corp", Name: "orders-db.corp.example.", TTL: 30}

	// The SLO gate verifies the HTTPS LB with the plan's CA and host name.
	probe := traffic.NewProbe(traffic.Config{})
	probe.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Roots, ServerName: "billing.example.test"}}
	slo := plan.SLO{Requests: 10, MaxErrorRatio: 0}

	t.Run("external-https", func(t *testing.T) {
		t.Parallel()
		r, res := provision(t, cfg, g, https)
		client := probe.Client
		url := "https://" + res.Outputs["lb_ip"] + "/healthz"
		st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, https)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if got := servedBy(t, client, url, 10); got["dc"] != 10 {
			t.Fatalf("before the cutover: %v", got)
		}
		for _, p := range []int{10, 50, 100} {
			if err := st.Shift(ctx, p); err != nil {
				t.Fatal(err)
			}
			if cur, err := st.Current(ctx); err != nil || cur != p {
				t.Fatalf("Current after %d: %d %v", p, cur, err)
			}
		}
		if got := servedBy(t, client, url, 10); got["gcp"] != 10 {
			t.Fatalf("at 100 %%: %v", got)
		}
		gate(t, probe, g, https, slo, url)
		rollback(t, s, st, "/global/urlMaps/")
		if got := servedBy(t, client, url, 10); got["dc"] != 10 {
			t.Fatalf("after rollback: %v", got)
		}
		destroy(t, r)
	})
	t.Run("internal-http", func(t *testing.T) {
		t.Parallel()
		r, res := provision(t, cfg, g, internal)
		url := "http://" + res.Outputs["lb_ip"] + "/healthz"
		st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, internal)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		for _, p := range []int{10, 50} {
			if err := st.Shift(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if got := servedBy(t, http.DefaultClient, url, 40); got["gcp"] == 0 || got["dc"] == 0 {
			t.Fatalf("at 50 %% both sides serve: %v", got)
		}
		if err := st.Shift(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if got := servedBy(t, http.DefaultClient, url, 10); got["gcp"] != 10 {
			t.Fatalf("at 100 %%: %v", got)
		}
		gate(t, probe, g, internal, slo, url)
		rollback(t, s, st, "/regions/"+tfRegion+"/urlMaps/")
		if got := servedBy(t, http.DefaultClient, url, 10); got["dc"] != 10 {
			t.Fatalf("after rollback: %v", got)
		}
		destroy(t, r)
	})
	t.Run("internal-tcp", func(t *testing.T) {
		t.Parallel()
		r, res := provision(t, cfg, g, tcp)
		lb := net.JoinHostPort(res.Outputs["lb_ip"], "5432")
		st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, tcp)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		// Clients resolve the record; it starts in the datacenter.
		if err := st.ToDatacenter(ctx); err != nil {
			t.Fatal(err)
		}
		resolve := func() string {
			rr := s.DNSRecords(project, "corp")["orders-db.corp.example. A"]
			datas, _ := rr["rrdatas"].([]any)
			if len(datas) != 1 {
				t.Fatalf("record: %v", rr)
			}
			return datas[0].(string)
		}
		_, dcPort, _ := net.SplitHostPort(tcp.Cutover.DCEndpoints[0])
		if got := banner(t, net.JoinHostPort(resolve(), dcPort)); got != "dc orders-db" {
			t.Fatalf("before the cutover the client reaches %q", got)
		}
		// No weights on a passthrough LB: a split is refused, permanently.
		if err := st.Shift(ctx, 50); !traffic.IsPermanent(err) || !strings.Contains(err.Error(), "one step") {
			t.Fatalf("shift 50 on a passthrough LB: %v", err)
		}
		if err := st.Shift(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if ip := resolve(); ip != res.Outputs["lb_ip"] {
			t.Fatalf("at 100 %% the record holds %s, want the LB %s", ip, res.Outputs["lb_ip"])
		}
		if got := banner(t, net.JoinHostPort(resolve(), "5432")); got != "gcp orders-db-1" {
			t.Fatalf("through the passthrough LB: %q", got)
		}
		ts := gate(t, probe, g, tcp, slo, "tcp://"+lb)
		// A backend that drops connections fails the gate.
		s.SetAppFault(project, "orders-db-1", gcpfake.AppFault{Status: 503})
		if v, err := probe.Gate(ctx, slo, ts); err != nil || v.Pass {
			t.Fatalf("gate with a failing backend: %+v %v", v, err)
		}
		s.SetAppFault(project, "orders-db-1", gcpfake.AppFault{})
		rollback(t, s, st, "/managedZones/corp/changes")
		if got := banner(t, net.JoinHostPort(resolve(), dcPort)); got != "dc orders-db" {
			t.Fatalf("after rollback the client reaches %q", got)
		}
		destroy(t, r)
	})
}

// gate runs the SLO gate on the app's targets (public URL from the load
// balancer) and wants it to pass through wantURL.
func gate(t *testing.T, probe *traffic.Probe, g gcp.Config, spec plan.AppSpec, slo plan.SLO, wantURL string) []traffic.Target {
	t.Helper()
	ts, err := traffic.Targets(context.Background(), g, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].URL != wantURL {
		t.Fatalf("gate targets %v, want the load balancer %s", ts, wantURL)
	}
	v, err := probe.Gate(context.Background(), slo, ts)
	if err != nil || !v.Pass || v.Requests != slo.Requests {
		t.Fatalf("SLO gate through %s: %+v %v", wantURL, v, err)
	}
	return ts
}

// rollback sends everything to the datacenter and checks it took exactly
// one mutating call, and that a second is a no-op.
func rollback(t *testing.T, s *gcpfake.Server, st traffic.Strategy, pathRegexp string) {
	t.Helper()
	ctx := context.Background()
	before := s.RequestCount("", pathRegexp) - s.RequestCount(http.MethodGet, pathRegexp)
	start := time.Now()
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback to 100 %% datacenter in %s", time.Since(start).Round(time.Millisecond))
	if n := s.RequestCount("", pathRegexp) - s.RequestCount(http.MethodGet, pathRegexp) - before; n != 1 {
		t.Fatalf("rollback made %d mutating calls, want 1", n)
	}
	if cur, err := st.Current(ctx); err != nil || cur != 0 {
		t.Fatalf("Current after rollback: %d %v", cur, err)
	}
	if err := st.ToDatacenter(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount("", pathRegexp) - s.RequestCount(http.MethodGet, pathRegexp) - before; n != 1 {
		t.Fatalf("a second rollback mutated again (%d calls)", n)
	}
}

func destroy(t *testing.T, r *terraform.Runner) {
	t.Helper()
	if _, err := r.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPSCertificateSourcesApply: an external HTTPS LB whose certificate
// is an existing Google-managed SSL certificate, and one whose certificate
// is a Certificate Manager map, applied by the real terraform and google
// provider (no diff on re-plan), serving TLS with that certificate.
func TestHTTPSCertificateSourcesApply(t *testing.T) {
	if testing.Short() {
		t.Skip("terraform applies (minutes): not in -short")
	}
	s, cfg, g := tfEnv(t, func(string, int) string { return "" })
	call(t, g, "POST", "global/sslCertificates", obj{"name": "shop-managed", "type": "MANAGED", "managed": obj{"domains": []any{"shop.example.test"}}})
	pair := testcert.New(t, "maps.example.test")
	if err := s.AddCertificateMap(project, "maps-map", pair.CertPEM, pair.KeyPEM); err != nil {
		t.Fatal(err)
	}
	managed := kindSpec("shop", plan.LBExternalHTTPS, 8080, "10.20.0.41:8080")
	managed.Cutover.LB.TLS = plan.TLSSpec{SSLCertificates: []string{"shop-managed"}}
	byMap := kindSpec("maps", plan.LBExternalHTTPS, 8080, "10.20.0.51:8080")
	byMap.Cutover.LB.TLS = plan.TLSSpec{CertificateMap: "maps-map"}
	roots := pair.Roots.Clone()
	roots.AppendCertsFromPEM(s.IssuerCA())
	for _, c := range []struct {
		spec plan.AppSpec
		host string
	}{{managed, "shop.example.test"}, {byMap, "maps.example.test"}} {
		t.Run(c.spec.Name, func(t *testing.T) {
			t.Parallel()
			r, res := provision(t, cfg, g, c.spec)
			st, closeFn, err := traffic.New(context.Background(), traffic.Config{}, g, c.spec)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			if err := st.Shift(context.Background(), 100); err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: c.host}}}
			if got := servedBy(t, client, "https://"+res.Outputs["lb_ip"]+"/", 5); got["gcp"] != 5 {
				t.Fatalf("through the HTTPS LB: %v", got)
			}
			destroy(t, r)
		})
	}
}
