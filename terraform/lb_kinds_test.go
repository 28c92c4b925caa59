package terraform

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/plan"
)

// LBKindSpec is billing-api of the example plan behind load balancer kind
// (certificate files at fixed paths: rendering does not read them).
func lbKindSpec(t testing.TB, kind string) plan.AppSpec {
	t.Helper()
	var s plan.AppSpec
	for _, x := range exampleSpecs(t) {
		if x.Name == "billing-api" {
			s = x
		}
	}
	s.Cutover.LB = plan.LBSpec{Kind: kind}
	switch kind {
	case plan.LBExternalHTTPS:
		s.Cutover.LB.TLS = plan.TLSSpec{CertFile: "/etc/ferry/tls/billing.pem", KeyFile: "/etc/ferry/tls/billing.key"}
	case plan.LBInternalHTTP:
		s.Cutover.LB.ProxyOnlySubnet = "proxy-only-europe-west1"
	case plan.LBInternalTCP:
		s.Cutover.Strategy = "dns"
		s.Cutover.Steps = []plan.Step{{Percent: 100}}
		s.Cutover.HealthCheck = plan.HealthCheck{Protocol: "tcp", Port: 5432}
		s.Cutover.DNS = plan.DNSTarget{ManagedZone: "corp", Name: "billing-db.corp.example.", TTL: 30}
	}
	return s
}

func TestRenderLBKindsGolden(t *testing.T) {
	for _, kind := range []string{plan.LBExternalHTTPS, plan.LBInternalHTTP, plan.LBInternalTCP} {
		files, err := Render(lbKindSpec(t, kind), RenderOptions{GCP: fakeGCP})
		if err != nil {
			t.Fatal(err)
		}
		got := append(append([]byte("### "+FileLB+"\n"), files[FileLB]...), append([]byte("### "+FileOutputs+"\n"), files[FileOutputs]...)...)
		path := filepath.Join("testdata", "lb-"+kind+".golden")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -update creates it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
		}
		lb := string(files[FileLB])
		if kind == plan.LBExternalHTTPS && (!strings.Contains(lb, `file("/etc/ferry/tls/billing.key")`) || strings.Contains(lb, "PRIVATE KEY")) {
			t.Errorf("https: the module must read the key file, never hold the key:\n%s", lb)
		}
		if kind == plan.LBInternalTCP && (strings.Contains(lb, "url_map") || strings.Contains(lb, "weight")) {
			t.Errorf("passthrough LB with a URL map or weights:\n%s", lb)
		}
	}
}

func TestRenderLBKindsRefused(t *testing.T) {
	for name, mod := range map[string]func(*plan.AppSpec){
		"https without certificate": func(s *plan.AppSpec) { s.Cutover.LB.TLS = plan.TLSSpec{} },
		"internal without proxy subnet": func(s *plan.AppSpec) {
			s.Cutover.LB = plan.LBSpec{Kind: plan.LBInternalHTTP}
		},
		"tcp with weights": func(s *plan.AppSpec) {
			s.Cutover.LB = plan.LBSpec{Kind: plan.LBInternalTCP}
			s.Cutover.Strategy = "lb"
		},
		"unknown kind": func(s *plan.AppSpec) { s.Cutover.LB.Kind = "udp" },
	} {
		s := lbKindSpec(t, plan.LBExternalHTTPS)
		mod(&s)
		if _, err := Render(s, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "billing-api") {
			t.Errorf("%s: want an error naming the app, got %v", name, err)
		}
	}
}

func TestRenderHTTPSCertificateSources(t *testing.T) {
	s := lbKindSpec(t, plan.LBExternalHTTPS)
	s.Cutover.LB.TLS = plan.TLSSpec{SSLCertificates: []string{"billing-managed"}}
	files, err := Render(s, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lb := string(files[FileLB])
	if !strings.Contains(lb, `ssl_certificates = ["projects/acme-migration/global/sslCertificates/billing-managed"]`) || strings.Contains(lb, "google_compute_ssl_certificate") {
		t.Errorf("existing certificate:\n%s", lb)
	}
	s.Cutover.LB.TLS = plan.TLSSpec{CertificateMap: "billing-map"}
	files, err = Render(s, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lb := string(files[FileLB]); !strings.Contains(lb, `certificate_map = "//certificatemanager.googleapis.com/projects/acme-migration/locations/global/certificateMaps/billing-map"`) {
		t.Errorf("certificate map:\n%s", lb)
	}
}
