package plan

import (
	"os"
	"path/filepath"
	"strings"
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
	// Hostile shapes: deep nesting, identities, keys and quorums.
	for _, s := range []string{
		strings.Repeat("[", 200), "a = " + strings.Repeat("!", 500) + "true", "a = " + strings.Repeat("x?x:", 100) + "x",
		"a = \"${\"${\"${1}\"}\"}\"", "a = <<EOT\n%{ if true }%{ for x in y }${x}%{ endfor }%{ endif }\nEOT\n",
		`person "A@x" { keys = ["ssh-ed25519 AAAA"] }` + "\n" + `person " a@X " { keys = [] }`,
		`operators = ["", " ", "a\u202e"]` + "\n" + `identity { allow_unverified = true }`,
		`app "a" { approvers { plan = { approvers = ["x"], required = 3 } cutover = 7 decommission = { z = 1 } } }`,
	} {
		f.Add([]byte(s))
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
