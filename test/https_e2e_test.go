package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestHTTPSAppEndToEnd runs the dev plan's HTTPS app on the dev stack (real
// worker, terraform and google provider, gcpfake's data plane and DNS
// server): web-portal, behind an external HTTPS load balancer with the dev
// CA's certificate for storefront.ferry.example, cuts over in its weighted
// steps, each gated by the SLO gate probing https://storefront.ferry.example/
// — the name resolved through the stack's DNS server, the certificate
// verified against it — after its client_dns name moved to the load
// balancer. A client resolving the name the same way reaches GCP over TLS
// with a chain to the dev CA. A person's rollback puts the name back on the
// datacenter addresses and the URL map at 100 % datacenter.
func TestHTTPSAppEndToEnd(t *testing.T) {
	st := e2eStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := spec(t, st, devstack.DevHTTPSApp)
	host := devstack.DevHTTPSHost
	if s.Cutover.LoadBalancer() != plan.LBExternalHTTPS || s.Cutover.PublicURL != "https://"+host+"/" ||
		len(s.Cutover.ClientDNS) != 1 || s.Cutover.ClientDNS[0].Name != host+"." || len(s.Cutover.Steps) != 3 {
		t.Fatalf("dev plan: %s %+v", s.Name, s.Cutover)
	}
	ca := mustCA(t, st.DevCA)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	// A client of the app: it resolves the name through the stack's DNS
	// server and trusts only the dev CA.
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, st.DNSAddr)
	}}
	resolve := func() []string {
		t.Helper()
		addrs, err := r.LookupHost(ctx, host)
		if err != nil {
			t.Fatalf("resolve %s: %v", host, err)
		}
		slices.Sort(addrs)
		return addrs
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext:     (&net.Dialer{Timeout: 2 * time.Second, Resolver: r}).DialContext,
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}}
	var dcHosts []string
	for _, ep := range s.Cutover.DCEndpoints {
		if h, _, _ := net.SplitHostPort(ep); !slices.Contains(dcHosts, h) {
			dcHosts = append(dcHosts, h)
		}
	}
	slices.Sort(dcHosts)
	if got := resolve(); !slices.Equal(got, dcHosts) {
		t.Fatalf("%s before the cutover resolves to %v, want the datacenter %v", host, got, dcHosts)
	}

	k := devKeys(st.StateDir)
	start(ctx, t, st, s)
	d := &driver{c: st.C, keys: k}
	began := time.Now()
	if _, err := d.run(ctx, s.Name, workflows.StageApproveDecommission); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s at ApproveDecommission in %s", s.Name, time.Since(began).Round(time.Second))

	rules, err := compute.NewGlobalForwardingRulesRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Close()
	fr, err := rules.Get(ctx, &computepb.GetGlobalForwardingRuleRequest{Project: s.Project, ForwardingRule: traffic.ForwardingRuleName(s.Name)})
	if err != nil {
		t.Fatal(err)
	}
	lbIP := fr.GetIPAddress()

	// The name moved to the load balancer (before the first step), and each
	// weighted step passed its SLO gate.
	status, err := d.status(ctx, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	ev := status.Evidence
	if ev.ClientDNS == nil || ev.ClientDNS.PointedAt.IsZero() || !slices.Equal(ev.ClientDNS.Addresses, []string{lbIP}) {
		t.Errorf("client names evidence %+v, want %s pointed at the load balancer %s", ev.ClientDNS, host, lbIP)
	}
	if len(ev.SLO) > 0 && len(ev.SLO[0].Samples) > 0 && ev.ClientDNS != nil && !ev.ClientDNS.PointedAt.Before(ev.SLO[0].Samples[0].At) {
		t.Errorf("%s pointed at the load balancer at %s, after the first gate's probe at %s", host, ev.ClientDNS.PointedAt, ev.SLO[0].Samples[0].At)
	}
	if len(ev.SLO) != len(s.Cutover.Steps) {
		t.Errorf("%d SLO gates for %d steps: %+v", len(ev.SLO), len(s.Cutover.Steps), ev.SLO)
	}
	// The watch's evidence counts requests over all its targets: public_url
	// and each front-end instance, probe_requests each; none failed, so
	// the gate reached https://storefront.ferry.example/ and trusted it.
	fronts := len(s.FrontEnds())
	want := s.Cutover.SLO.Watch.ProbeRequests * (1 + fronts)
	for i, g := range ev.SLO {
		var last *traffic.ProbeSample
		if n := len(g.Samples); n > 0 {
			last = g.Samples[n-1].Probe
		}
		if !g.Pass || last == nil || last.Requests != want || last.Errors != 0 {
			t.Errorf("SLO gate %d: pass %v, last probe %+v, want %d requests (public_url and %d instances) without an error; %q",
				i+1, g.Pass, last, want, fronts, g.MeasuredFrom)
		}
	}
	if _, w := gce(ctx, t, st, s); w[traffic.GCPBackendName(s.Name)] != 100 || w[traffic.DCBackendName(s.Name)] != 0 {
		t.Errorf("%s after the cutover, URL map weights %v: want 100 %% GCP", s.Name, w)
	}

	// A client following the name reaches GCP over TLS, its chain ending
	// at the dev CA.
	if got := resolve(); !slices.Equal(got, []string{lbIP}) {
		t.Errorf("%s after the cutover resolves to %v, want the load balancer %s", host, got, lbIP)
	}
	resp, err := client.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("a client of %s after the cutover: %v", host, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if side := resp.Header.Get(gcpfake.ServedByHeader); resp.StatusCode != 200 || side != "gcp" {
		t.Errorf("a client of %s after the cutover: %s, served by %q", host, resp.Status, side)
	}
	if cs := resp.TLS; cs == nil || len(cs.VerifiedChains) == 0 || cs.ServerName != host ||
		!cs.VerifiedChains[0][len(cs.VerifiedChains[0])-1].Equal(ca) {
		t.Errorf("the TLS connection to %s does not chain to the dev CA: %+v", host, cs)
	}

	// A person rolls it back: the name is back on the datacenter and the
	// URL map sends everything there.
	if _, err := rollbackAs(ctx, st.C, s.Name, s.Approvers["cutover"][0], k, "e2e: roll back "+s.Name); err != nil {
		t.Fatal(err)
	}
	if out, err := d.run(ctx, s.Name, ""); err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s: rollback ended %q %v", s.Name, out, err)
	}
	if got := resolve(); !slices.Equal(got, dcHosts) {
		t.Errorf("%s after the rollback resolves to %v, want the datacenter %v", host, got, dcHosts)
	}
	if _, w := gce(ctx, t, st, s); w[traffic.DCBackendName(s.Name)] != 100 || w[traffic.GCPBackendName(s.Name)] != 0 {
		t.Errorf("%s after the rollback, URL map weights %v: want 100 %% datacenter", s.Name, w)
	}
	var res workflows.MigrateAppResult
	if err := st.C.GetWorkflow(ctx, workflows.AppWorkflowID(s.Name), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if e := res.Status.Evidence.ClientDNS; e == nil || e.RestoredAt.IsZero() || e.FinalizedAt.IsZero() {
		t.Errorf("client names after the rollback: %+v, want restored and finalized", e)
	}
	// web-portal is in the plan's last wave, started alone: its
	// dependencies in earlier waves never started, so its cutover was not
	// held for nothing but parked, and the driver skipped the hold.
	if o := res.Status.Evidence.OtherWaves; o == nil || len(o.NotStarted) == 0 || !slices.Contains(res.Status.Skipped, "dependencies-other-waves") {
		t.Errorf("%s started out of its wave's order: earlier-wave evidence %+v, skipped %v; want its not-started dependencies named and the hold skipped", s.Name, o, res.Status.Skipped)
	}
	a, err := gcpfake.QueryDNS(ctx, st.DNSAddr, host+".", "A")
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range a.Records {
		if rr.TTL != devstack.DevHTTPSTTL {
			t.Errorf("%s after the rollback has TTL %d, want its original %d", host, rr.TTL, devstack.DevHTTPSTTL)
		}
	}
}

// mustCA is the certificate of a PEM file.
func mustCA(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}
