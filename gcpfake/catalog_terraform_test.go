package gcpfake

import (
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/plan/catalog"
)

// TestTerraformUnsoldShape: the google provider does not look machine
// types up at plan time (terraform plan succeeds on n2-highcpu-128), so
// ferry's own plan validation (catalog.Validate) is what catches it before
// apply; gcpfake refuses it at apply exactly as GCE does.
func TestTerraformUnsoldShape(t *testing.T) {
	const bad, zone = "n2-highcpu-128", "europe-west1-b"
	err := catalog.Validate(bad, zone)
	if catalog.KindOf(err) != catalog.KindUnknownMachineType || !strings.Contains(err.Error(), "n2-highcpu-96") {
		t.Fatalf("ferry's plan-time check: %v", err)
	}
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tf := newTFRun(t, s, "shape", "ferry-shape")
	tf.must("init", "-input=false", "-no-color")
	tf.must("plan", "-input=false", "-no-color", "-var", "machine_type="+bad)
	code, out := tf.run("apply", "-input=false", "-auto-approve", "-no-color", "-var", "machine_type="+bad)
	if code == 0 || !strings.Contains(out, "Machine type with name 'n2-highcpu-128' does not exist in zone 'europe-west1-b'") {
		t.Fatalf("apply of %s: exit %d, want GCE's refusal:\n%s", bad, code, out)
	}
	if n := len(s.Resources("ferry-shape", "instances")); n != 0 {
		t.Errorf("%d instances after a refused apply", n)
	}
	// The shape the catalogue suggests applies and destroys cleanly.
	tf.apply("-var", "machine_type=n2-highcpu-96")
	tf.destroy("-var", "machine_type=n2-highcpu-96")
}
