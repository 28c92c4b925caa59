package terraform

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/internal/plantest"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// exampleSpecs resolves examples/ferry.hcl (the plan test validates the
// same file) with the flows the golden modules were rendered with.
func exampleSpecs(t testing.TB) []plan.AppSpec {
	t.Helper()
	d := &deps.Result{InboundPorts: map[string][]deps.Port{
		"vm-101": {{Port: 8080, Protocol: "tcp"}, {Port: 9100, Protocol: "tcp"}},
		"vm-102": {{Port: 8080, Protocol: "tcp"}},
		"vm-103": {{Port: 5432, Protocol: "tcp"}},
	}}
	return plantest.ExampleSpecs(t, d)
}

var fakeGCP = gcp.Config{
	Project: "acme-migration", Region: "europe-west1",
	ComputeEndpoint: "http://127.0.0.1:8099/compute/v1/",
	DNSEndpoint:     "http://127.0.0.1:8099/dns/v1/",
	StorageEndpoint: "http://127.0.0.1:8099/storage/v1/",
}

func TestRenderGolden(t *testing.T) {
	for _, s := range exampleSpecs(t) {
		for _, variant := range []struct {
			name string
			opts RenderOptions
		}{{"real", RenderOptions{}}, {"fake", RenderOptions{GCP: fakeGCP}}} {
			files, err := Render(s, variant.opts)
			if err != nil {
				t.Fatal(err)
			}
			var all bytes.Buffer
			for _, n := range slices.Sorted(maps.Keys(files)) {
				all.WriteString("### " + n + "\n")
				all.Write(files[n])
			}
			path := filepath.Join("testdata", s.Name+"."+variant.name+".golden")
			if *update {
				if err := os.WriteFile(path, all.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if !bytes.Equal(all.Bytes(), want) {
				t.Errorf("%s: rendered module differs from golden (go test -update rewrites it):\n%s", path, all.Bytes())
			}
			again, _ := Render(s, variant.opts)
			for n := range files {
				if !bytes.Equal(files[n], again[n]) {
					t.Errorf("%s: %s is not deterministic", s.Name, n)
				}
			}
		}
	}
}

func TestRenderLBOnlyForLBStrategy(t *testing.T) {
	for _, s := range exampleSpecs(t) {
		files, err := Render(s, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lb := string(files[FileLB])
		hasNEG := strings.Contains(lb, "NON_GCP_PRIVATE_IP_PORT")
		if hasNEG != (s.Cutover.Strategy == "lb") {
			t.Errorf("%s (%s): hybrid NEG rendered = %v", s.Name, s.Cutover.Strategy, hasNEG)
		}
		if strings.Contains(lb, "google_dns_record_set") {
			t.Errorf("%s: terraform must not manage the DNS record", s.Name)
		}
		if !strings.Contains(lb, "google_compute_backend_service") {
			t.Errorf("%s: no backend service", s.Name)
		}
	}
}

func TestRenderRejectsUnresolvedSpec(t *testing.T) {
	if _, err := Render(plan.AppSpec{Name: "x"}, RenderOptions{}); err == nil {
		t.Fatal("want an error for a spec without project, region and VMs")
	}
	s := exampleSpecs(t)[0]
	s.VMs[0].GCEName = "Bad_Name"
	if _, err := Render(s, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "Bad_Name") {
		t.Fatalf("want an error naming the bad GCE name, got %v", err)
	}
	s = exampleSpecs(t)[0]
	s.VMs[0].MachineType = "n2-standard-3"
	if _, err := Render(s, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "n2-standard-3") {
		t.Fatalf("want an error naming the bad machine type, got %v", err)
	}
	s = exampleSpecs(t)[0]
	s.Cutover.DCEndpoints = []string{"dc-host:80"}
	if _, err := Render(s, RenderOptions{}); err == nil {
		t.Fatal("want an error for a DC endpoint that is not an IP")
	}
}

// Every generated module passes `terraform validate` with the real
// terraform and google provider.
func TestRenderedModulesValidate(t *testing.T) {
	bin, rc := testenv.Terraform(t)
	for _, s := range exampleSpecs(t) {
		for _, g := range []gcp.Config{{}, fakeGCP} {
			s.Backend = plan.Backend{Type: "local"} // validate needs no bucket
			files, err := Render(s, RenderOptions{GCP: g})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for n, b := range files {
				if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tf, err := tfexec.NewTerraform(dir, bin)
			if err != nil {
				t.Fatal(err)
			}
			env := testenv.TerraformEnv(rc)
			delete(env, "TF_IN_AUTOMATION")
			env["HOME"] = os.Getenv("HOME")
			env["PATH"] = os.Getenv("PATH")
			if err := tf.SetEnv(env); err != nil {
				t.Fatal(err)
			}
			if err := tf.Init(context.Background(), tfexec.Backend(false)); err != nil {
				t.Fatalf("%s: init: %v", s.Name, err)
			}
			out, err := tf.Validate(context.Background())
			if err != nil {
				t.Fatalf("%s: validate: %v", s.Name, err)
			}
			if !out.Valid {
				for _, d := range out.Diagnostics {
					t.Errorf("%s: %s: %s: %s", s.Name, d.Severity, d.Summary, d.Detail)
				}
			}
		}
	}
}
