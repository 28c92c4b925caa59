// Package plantest resolves ferry's example plan (examples/ferry.hcl)
// against its test inventory (plan/testdata/inventory.json) for the tests
// of the packages that take resolved app specs, the way `ferry plan
// validate` resolves it.
package plantest

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
)

// Paths of the example plan and its inventory, absolute: tests run in
// their package's directory, at any depth.
var (
	ExamplePlan      = fromRoot("examples", "ferry.hcl")
	ExampleInventory = fromRoot("plan", "testdata", "inventory.json")
)

func fromRoot(elem ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, elem...)...)
}

// ExampleSpecs resolves the example plan against its inventory and, when
// not nil, the flows' dependencies (the inbound ports that open firewalls
// and pick front ends).
func ExampleSpecs(t testing.TB, flows *deps.Result) []plan.AppSpec {
	t.Helper()
	inv, err := inventory.Load(ExampleInventory)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := plan.Load(ExamplePlan)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	specs, diags := plan.Resolve(p, inv, flows)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return specs
}

// ExampleSpec is the example plan's app named app, resolved without flows.
func ExampleSpec(t testing.TB, app string) plan.AppSpec {
	t.Helper()
	for _, s := range ExampleSpecs(t, nil) {
		if s.Name == app {
			return s
		}
	}
	t.Fatalf("the example plan has no app %q", app)
	return plan.AppSpec{}
}
