package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcpfake"
)

// With a Cloud DNS endpoint, validate reads the zones client_dns blocks
// name and points at the one that does not exist; without, it cannot know.
func TestPlanValidateChecksClientDNSZones(t *testing.T) {
	s, err := gcpfake.Start(gcpfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	file := filepath.Join(t.TempDir(), "ferry.hcl")
	src := `gcp {
  project = "acme"
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
  }
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := run(t, "plan", "validate", file, "--inventory", testInv, "--machine-types", "snapshot",
		"--compute-endpoint", s.ComputeEndpoint(), "--dns-endpoint", s.DNSEndpoint())
	if !strings.Contains(out, "ferry.hcl:11:14: Error: Unknown managed zone") || !strings.Contains(out, `project "acme" has no Cloud DNS zone`) {
		t.Fatalf("validate with the DNS API:\n%s", out)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	out, _ = run(t, "plan", "validate", file, "--inventory", testInv, "--machine-types", "snapshot", "--compute-endpoint", "", "--dns-endpoint", "")
	if strings.Contains(out, "Unknown managed zone") || strings.Contains(out, "client_dns zones not checked") {
		t.Fatalf("validate offline:\n%s", out)
	}
}
