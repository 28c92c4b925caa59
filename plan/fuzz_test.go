package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePlan feeds arbitrary ferry.hcl sources through Parse and
// Resolve: diagnostics are fine, panics are not, and a nil plan always
// comes with an error diagnostic. Seeds: the example and invalid plans.
func FuzzParsePlan(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.hcl")
	more, _ := filepath.Glob("testdata/invalid/*.hcl")
	seeds = append(append(seeds, more...), "../examples/ferry.hcl")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	inv := loadInventory(f)
	d := testDeps()
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags := Parse("ferry.hcl", src)
		if p == nil {
			if !diags.HasErrors() {
				t.Fatalf("nil plan without an error diagnostic: %v", diags)
			}
			return
		}
		specs, rdiags := Resolve(p, inv, d)
		if !diags.HasErrors() && !rdiags.HasErrors() {
			for _, s := range specs {
				if s.Name == "" {
					t.Fatalf("resolved an app without a name: %+v", s)
				}
			}
		}
	})
}
