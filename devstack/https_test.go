package devstack

import (
	"bytes"
	"context"
	"crypto/x509"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
)

// The dev CA and the storefront's certificate are made once and kept: a
// restarted stack finds the same files; a leaf that no longer chains to
// the CA on disk is issued again.
func TestDevCertificates(t *testing.T) {
	dir := t.TempDir()
	c, err := DevCertificates(dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(f string) []byte {
		t.Helper()
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	verify := func(c DevTLS) {
		t.Helper()
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(read(c.CAFile)) {
			t.Fatal("no CA certificate")
		}
		leaf, _, err := loadPair(c.CertFile, c.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: DevHTTPSHost, Roots: roots}); err != nil {
			t.Fatalf("the certificate does not verify for %s against the dev CA: %v", DevHTTPSHost, err)
		}
		if time.Until(leaf.NotAfter) > 398*24*time.Hour {
			t.Errorf("the leaf is valid until %s: longer than clients accept", leaf.NotAfter)
		}
	}
	verify(c)
	for _, f := range []string{c.CAFile, c.KeyFile} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}
	ca, cert := read(c.CAFile), read(c.CertFile)

	again, err := DevCertificates(dir)
	if err != nil || again != c || !bytes.Equal(read(c.CAFile), ca) || !bytes.Equal(read(c.CertFile), cert) {
		t.Fatalf("a restart made new certificates: %+v %v", again, err)
	}

	// A new CA (its files lost): the leaf is issued again by it.
	if err := os.Remove(c.CAFile); err != nil {
		t.Fatal(err)
	}
	if c, err = DevCertificates(dir); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(c.CAFile), ca) || bytes.Equal(read(c.CertFile), cert) {
		t.Error("a lost CA was not replaced with its leaf")
	}
	verify(c)
}

// The dev plan puts web-portal behind an external HTTPS load balancer with
// the dev certificate, probes it by the name its clients use and moves
// that name with the cutover; the dev stack creates the name's zone and
// its record on the datacenter addresses, served by its DNS server.
func TestDevPlanHTTPS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	certs, err := DevCertificates(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pl, specs, diags := devPlan(t,
		func(src []byte) ([]byte, error) { return DevLoadBalancers(src) },
		func(src []byte) ([]byte, error) { return DevHTTPS(src, certs) })
	for _, d := range diags {
		if strings.Contains(d.Detail, DevHTTPSApp) {
			t.Errorf("dev plan: %s: %s", d.Summary, d.Detail)
		}
	}
	i := slices.IndexFunc(specs, func(s plan.AppSpec) bool { return s.Name == DevHTTPSApp })
	if i < 0 {
		t.Fatalf("no %s in the dev plan", DevHTTPSApp)
	}
	s := specs[i]
	c := s.Cutover
	if c.LoadBalancer() != plan.LBExternalHTTPS || c.Strategy != "lb" || len(c.Steps) != 3 || c.FrontendPort() != 443 ||
		c.LB.TLS.CertFile != certs.CertFile || c.LB.TLS.KeyFile != certs.KeyFile || c.PublicURL != "https://"+DevHTTPSHost+"/" {
		t.Errorf("%s: %+v", s.Name, c)
	}
	if len(c.ClientDNS) != 1 || c.ClientDNS[0].Zone != DevZone || c.ClientDNS[0].Name != DevHTTPSHost+"." || c.ClientDNS[0].TTLDuring != 5*time.Second {
		t.Errorf("%s client_dns: %+v", s.Name, c.ClientDNS)
	}
	if len(c.DCEndpoints) == 0 {
		t.Fatalf("%s has no datacenter endpoints", s.Name)
	}

	fake := gcpfake.StartT(t, gcpfake.Options{})
	for range 2 { // idempotent: a restarted dev stack finds them
		if err := serveLoadBalancers(ctx, fake, specs); err != nil {
			t.Fatal(err)
		}
		if err := serveClientNames(ctx, fake, specs); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Resources(pl.GCP.Project, "managedZones")); n != 2 {
		t.Errorf("%d zones in the fake, want the internal one and %s", n, DevZone)
	}
	srv, err := fake.ServeDNS("")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, err := gcpfake.QueryDNS(ctx, srv.Addr(), DevHTTPSHost+".", "A")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ep := range c.DCEndpoints {
		if h, _, _ := net.SplitHostPort(ep); !slices.Contains(want, h) {
			want = append(want, h)
		}
	}
	var got []string
	for _, r := range a.Records {
		got = append(got, r.Data)
		if r.TTL != DevHTTPSTTL {
			t.Errorf("TTL %d, want %d", r.TTL, DevHTTPSTTL)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s resolves to %v, want the datacenter %v", DevHTTPSHost, got, want)
	}
}
