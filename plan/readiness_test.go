package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
)

// plantedSample plants a physical RDM (not ready) on a VM of one app and a
// snapshot (a condition) on a VM of another, in vcsim, and discovers it as
// from a real vCenter. Both apps are otherwise ready: powered-on VMs with
// guests GCE supports.
func plantedSample(t *testing.T) (inv *inventory.Inventory, bad, cond string, badVM, condVM string) {
	t.Helper()
	p := sample.Generate(sample.Default())
	clean := func(a sample.App) bool {
		for _, v := range a.VMs {
			if !v.PoweredOn || (v.GuestID != "ubuntu64Guest" && v.GuestID != "rhel8_64Guest") {
				return false
			}
		}
		return len(a.VMs) > 0
	}
	for i := range p.Apps {
		a := &p.Apps[i]
		if !clean(*a) {
			continue
		}
		switch {
		case bad == "":
			bad, badVM = a.Name, a.VMs[0].Name
			a.VMs[0].Problems = []sample.Problem{sample.ProblemRDM}
		case cond == "":
			cond, condVM = a.Name, a.VMs[0].Name
			a.VMs[0].Problems = []sample.Problem{sample.ProblemSnapshot}
		}
	}
	if bad == "" || cond == "" {
		t.Fatal("the sample portfolio has no two clean apps to plant on")
	}
	opts := inventory.DefaultOptions()
	opts.UsageWindow = -1
	inv, err := sample.Discover(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return inv, bad, cond, badVM, condVM
}

func readinessPlan(bad, cond, badAccept, condAccept string) string {
	app := func(name, accept string) string {
		s := fmt.Sprintf("app %q {\n  approvers {\n    plan = [\"ana@example.com\"]\n    cutover = [\"bo@example.com\"]\n    decommission = [\"ana@example.com\"]\n  }\n", name)
		if accept != "" {
			s += "  accept_readiness = [" + accept + "]\n"
		}
		return s + "}\n"
	}
	return fmt.Sprintf(`gcp {
  project = "p"
  region  = "europe-west1"
  zones   = ["europe-west1-b"]
}
identity {
  allow_unverified = true
}
wave "w1" {
  apps = [%q, %q]
}
`, bad, cond) + app(bad, badAccept) + app(cond, condAccept)
}

func validateText(t *testing.T, src string, inv *inventory.Inventory) hcl.Diagnostics {
	t.Helper()
	p, diags := Parse("ferry.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	return Validate(p, inv, nil)
}

func only(diags hcl.Diagnostics, summary string) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == summary {
			out = append(out, d)
		}
	}
	return out
}

func TestValidateShowsReadiness(t *testing.T) {
	inv, bad, cond, badVM, condVM := plantedSample(t)
	src := readinessPlan(bad, cond, "", "")
	diags := validateText(t, src, inv)
	appLine := func(name string) int {
		for i, l := range strings.Split(src, "\n") {
			if strings.HasPrefix(l, fmt.Sprintf("app %q", name)) {
				return i + 1
			}
		}
		return -1
	}

	// vcsim's RDM is also independent: two findings, both blocking.
	errs := only(diags, "VM not ready")
	i := slices.IndexFunc(errs, func(d *hcl.Diagnostic) bool { return strings.Contains(d.Detail, "check rdm-disk") })
	if len(errs) != 2 || i < 0 {
		t.Fatalf("want the rdm-disk and independent-disk errors, got %d: %v", len(errs), diags)
	}
	e := errs[i]
	for _, want := range []string{fmt.Sprintf("App %q VM %q", bad, badVM), "rdm-disk", "physical compatibility mode", "Fix: convert it to a virtual disk", "accept_readiness"} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("not-ready error lacks %q: %s", want, e.Detail)
		}
	}
	if e.Severity != hcl.DiagError || e.Subject == nil || e.Subject.Start.Line != appLine(bad) {
		t.Errorf("not-ready error at %v, want ferry.hcl:%d (the app block)", e.Subject, appLine(bad))
	}
	warns := only(diags, "VM ready with conditions")
	i = slices.IndexFunc(warns, func(d *hcl.Diagnostic) bool { return strings.Contains(d.Detail, fmt.Sprintf("VM %q", condVM)) })
	if i < 0 || warns[i].Severity != hcl.DiagWarning || !strings.Contains(warns[i].Detail, "snapshots") || warns[i].Subject.Start.Line != appLine(cond) {
		t.Fatalf("no snapshot warning for %s at line %d: %v", condVM, appLine(cond), warns)
	}
	if diags.HasErrors() && len(errs) != countErrors(diags) {
		t.Errorf("errors besides readiness: %v", diags)
	}

	// Accepted in review: the error becomes a warning, the condition is
	// silent; both stay in the spec for the worker's gate.
	src = readinessPlan(bad, cond, `"rdm-disk", "independent-disk"`, `"snapshots"`)
	diags = validateText(t, src, inv)
	if diags.HasErrors() {
		t.Fatalf("accepted findings still fail validation: %v", diags)
	}
	if n := len(only(diags, "Not-ready VM accepted")); n != 2 {
		t.Errorf("want one accepted-not-ready warning, got %d: %v", n, diags)
	}
	for _, w := range only(diags, "VM ready with conditions") {
		if strings.Contains(w.Detail, fmt.Sprintf("VM %q", condVM)) {
			t.Errorf("accepted condition still warned: %s", w.Detail)
		}
	}
	p, _ := Parse("ferry.hcl", []byte(src))
	specs, _ := Resolve(p, inv, nil)
	for _, s := range specs {
		if s.Name == bad && !slices.Contains(s.VMs[0].AcceptReadiness, "rdm-disk") {
			t.Errorf("spec of %s does not carry the acceptance: %+v", bad, s.VMs[0])
		}
		vms := []inventory.VM{}
		for _, v := range inv.VMs {
			if v.App == s.Name {
				vms = append(vms, v)
			}
		}
		if r := Readiness(s, vms); len(r.Blocking()) != 0 {
			t.Errorf("%s: blocking despite acceptance: %+v", s.Name, r.Blocking())
		}
	}

	// An unknown check is an error at its list item; a needless one a warning.
	src = readinessPlan(bad, cond, `"rdm"`, `"snapshots", "secure-boot"`)
	diags = validateText(t, src, inv)
	if u := only(diags, "Unknown readiness check"); len(u) != 1 || !strings.Contains(u[0].Detail, `"rdm"`) || u[0].Subject.Start.Line != appLine(bad)+6 {
		t.Errorf("unknown check: %v", u)
	}
	if n := only(diags, "Readiness acceptance not needed"); len(n) != 1 || !strings.Contains(n[0].Detail, "secure-boot") {
		t.Errorf("needless acceptance: %v", n)
	}
}

func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}
