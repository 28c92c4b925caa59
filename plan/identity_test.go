package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/internal/testkeys"
)

func person(id string) string {
	return fmt.Sprintf("person %q {\n  keys = [%q]\n}\n", id, testkeys.AuthorizedKey(id))
}

// identityPlan is a valid one-app plan (ledger) with the given extra
// top-level text and ledger body.
func identityPlan(top, ledger string) string {
	return `gcp {
  project = "p"
  region  = "europe-west1"
}
wave "w" {
  apps = ["ledger"]
}
` + top + `
app "ledger" {
` + ledger + `
}
`
}

const ledgerApprovers = `  approvers {
    plan         = ["bo@example.com"]
    cutover      = ["bo@example.com"]
    decommission = ["bo@example.com"]
  }`

// validateSrc parses and validates src against the test inventory.
func validateSrc(t *testing.T, src string) (*Plan, []AppSpec, hcl.Diagnostics) {
	t.Helper()
	p, diags := Parse("t.hcl", []byte(src))
	if p == nil {
		return nil, nil, diags
	}
	inv := loadInventory(t)
	diags = append(diags, Validate(p, inv, testDeps())...)
	specs, _ := Resolve(p, inv, testDeps())
	return p, specs, diags
}

// wantDiag asserts exactly one diagnostic with this summary, severity,
// position (line:col) and text in its detail.
func wantDiag(t *testing.T, diags hcl.Diagnostics, sev hcl.DiagnosticSeverity, summary, pos, detail string) {
	t.Helper()
	var found []*hcl.Diagnostic
	for _, d := range diags {
		if d.Summary == summary {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %q diagnostic, got %d in: %v", summary, len(found), diags)
	}
	d := found[0]
	if d.Severity != sev {
		t.Errorf("%s: severity %v, want %v", summary, d.Severity, sev)
	}
	if d.Subject == nil {
		t.Fatalf("%s: no position", summary)
	}
	if got := fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column); got != pos {
		t.Errorf("%s at %s, want %s (%s)", summary, got, pos, d.Detail)
	}
	if !strings.Contains(d.Detail, detail) {
		t.Errorf("%s: detail %q lacks %q", summary, d.Detail, detail)
	}
}

func TestIdentityValidPlanResolvesPeopleAndQuorum(t *testing.T) {
	src := identityPlan(person("bo@example.com")+person("Ana@Example.com")+person("cy@example.com")+`operators = ["cy@example.com"]`,
		`  approvers {
    plan         = ["  BO@example.com "]
    cutover      = { approvers = ["bo@example.com", "ana@example.com"], required = 2 }
    decommission = { approvers = ["bo@example.com"] }
  }
  operators = ["ANA@example.com"]`)
	_, specs, diags := validateSrc(t, src)
	if len(diags) > 0 {
		t.Fatalf("valid plan: %v", diags)
	}
	s := specs[0]
	if got := strings.Join(s.Approvers["plan"], ","); got != "bo@example.com" {
		t.Errorf("plan approvers not normalised: %q", got)
	}
	if s.Quorum["cutover"] != 2 || len(s.Quorum) != 1 {
		t.Errorf("quorum %v, want only cutover=2", s.Quorum)
	}
	if strings.Join(s.Operators, ",") != "ana@example.com,cy@example.com" {
		t.Errorf("operators %v", s.Operators)
	}
	if len(s.People) != 3 || s.People["ana@example.com"][0] != testkeys.AuthorizedKey("Ana@Example.com") {
		t.Errorf("people %v", s.People)
	}
	if s.AllowUnverified || s.Owner != "bo" {
		t.Errorf("allowUnverified %v owner %q", s.AllowUnverified, s.Owner)
	}
}

func TestNormalizeIdentity(t *testing.T) {
	for in, want := range map[string]string{" Ana@Example.COM\t": "ana@example.com", "bo": "bo", "": ""} {
		if got := NormalizeIdentity(in); got != want {
			t.Errorf("NormalizeIdentity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdentityRefusals(t *testing.T) {
	bo := person("bo@example.com")
	cases := []struct {
		name, top, ledger    string
		sev                  hcl.DiagnosticSeverity
		summary, pos, detail string
	}{
		{"no approvers block, no owner fallback", bo, "", hcl.DiagError, "No approvers", "12:1",
			`App "ledger" names nobody who may approve its plan, cutover and decommission gates, and ferry never falls back to the vCenter owner. Write approvers {`},
		{"one gate empty", bo, "  approvers {\n    plan = [\"bo@example.com\"]\n    cutover = []\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "No approvers", "15:15",
			`App "ledger" has nobody who may approve its cutover gate`},
		{"approver without person", "", ledgerApprovers, hcl.DiagError, "No key for identity", "11:21",
			`App "ledger": plan approver "bo@example.com" has no person block`},
		{"person without keys", `person "bo@example.com" { keys = [] }`, ledgerApprovers, hcl.DiagError, "No key for identity", "11:21",
			"has a person block without keys"},
		{"allow_unverified plan-wide is a warning", "identity {\n  allow_unverified = true\n}", ledgerApprovers, hcl.DiagWarning, "Unverified identity", "13:21",
			"marked unverified in the audit"},
		{"app override", "identity {\n  allow_unverified = true\n}", ledgerApprovers + "\n  identity {\n    allow_unverified = false\n  }", hcl.DiagError, "No key for identity", "13:21",
			`set identity { allow_unverified = true } in app "ledger"`},
		{"operator without key", bo + `operators = ["ops@example.com"]`, ledgerApprovers, hcl.DiagError, "No key for identity", "11:14",
			`Operator "ops@example.com" has no person block`},
		{"app operator without key", bo, ledgerApprovers + "\n  operators = [\"x@example.com\"]", hcl.DiagError, "No key for identity", "18:16",
			`App "ledger": operator "x@example.com" has no person block`},
		{"bad key", `person "bo@example.com" { keys = ["ssh-ed25519 nonsense"] }`, ledgerApprovers, hcl.DiagError, "Invalid SSH public key", "8:35",
			`person "bo@example.com", key 1: not an SSH public key`},
		{"key with options", `person "bo@example.com" { keys = ["command=\"sh\" ` + testkeys.AuthorizedKey("bo") + `"] }`, ledgerApprovers, hcl.DiagError, "Invalid SSH public key", "8:35",
			"authorized_keys options (command=\"sh\") have no meaning here"},
		{"two keys in one item", `person "bo@example.com" { keys = ["` + testkeys.AuthorizedKey("bo") + `\n` + testkeys.AuthorizedKey("b2") + `"] }`, ledgerApprovers, hcl.DiagError, "Invalid SSH public key", "8:35",
			"a key is one line"},
		{"duplicate person after normalising", bo + `person " BO@example.com" { keys = ["` + testkeys.AuthorizedKey("b2") + `"] }`, ledgerApprovers, hcl.DiagError, "Duplicate person", "11:8",
			`person "bo@example.com" is already declared at t.hcl:8`},
		{"key shared by two people", bo + `person "ana@example.com" { keys = ["` + testkeys.AuthorizedKey("bo@example.com") + `"] }`, ledgerApprovers, hcl.DiagError, "SSH key shared by two people", "11:36",
			`person "ana@example.com" lists a key that person "bo@example.com" lists too`},
		{"duplicate approver after normalising", bo, "  approvers {\n    plan = [\"bo@example.com\", \"Bo@Example.com\"]\n    cutover = [\"bo@example.com\"]\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Approver listed twice", "14:31",
			`lists "bo@example.com" twice`},
		{"quorum above approvers", bo, "  approvers {\n    plan = [\"bo@example.com\"]\n    cutover = { approvers = [\"bo@example.com\"], required = 2 }\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Invalid quorum", "15:60",
			"required = 2, but it must be between 1 and the number of approvers (1)"},
		{"quorum zero", bo, "  approvers {\n    plan = [\"bo@example.com\"]\n    cutover = { approvers = [\"bo@example.com\"], required = 0 }\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Invalid quorum", "15:60",
			"required = 0"},
		{"unknown gate key", bo, "  approvers {\n    plan = [\"bo@example.com\"]\n    cutover = { people = [\"bo@example.com\"] }\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Unknown approvers key", "15:17",
			`"people" is not a key of a gate`},
		{"approver with a newline", bo, "  approvers {\n    plan = [\"bo@example.com\\nx\"]\n    cutover = [\"bo@example.com\"]\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Invalid approver", "14:13",
			`identity bo@example.com\nx contains control or invisible characters`},
		{"approvers not a list", bo, "  approvers {\n    plan = \"bo@example.com\"\n    cutover = [\"bo@example.com\"]\n    decommission = [\"bo@example.com\"]\n  }", hcl.DiagError, "Invalid approvers", "14:12",
			"is a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, diags := validateSrc(t, identityPlan(tc.top, tc.ledger))
			wantDiag(t, diags, tc.sev, tc.summary, tc.pos, tc.detail)
		})
	}
}

func TestValidateRefusesCollidingGCENames(t *testing.T) {
	inv := loadInventory(t)
	twin := inv.Apps[0]
	twin.Name = "Ledger"
	inv.Apps = append(inv.Apps, twin)
	src := identityPlan(person("bo@example.com")+`app "Ledger" {
`+ledgerApprovers+`
}
wave "w2" {
  apps = ["Ledger"]
}`, ledgerApprovers)
	p, diags := Parse("t.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	diags = Validate(p, inv, testDeps())
	wantDiag(t, diags, hcl.DiagError, "App names collide on GCE", "11:1", `Apps "ledger" and "Ledger" both become "ledger"`)
}

// A vCenter value written into a comment must not become HCL: the
// injected app block, hook and approvers never appear in the parsed plan.
func TestInitEscapesVCenterValues(t *testing.T) {
	inv := loadInventory(t)
	evil := "x\n}\napp \"evil\" {\n hook \"pwn\" {\n at = \"pre_provision\"\n command = [\"touch\", \"/tmp/pwned\"]\n }\n}\n# \u2028\u202e\x1b[31m"
	want := map[string]bool{}
	for i := range inv.Apps {
		want[inv.Apps[i].Name] = true
		inv.Apps[i].Owner = evil
		inv.Apps[i].Squad = evil
		inv.Apps[i].Tier = evil
	}
	for i := range inv.VMs {
		inv.VMs[i].Name += evil
	}
	inv.Source = evil
	src := Init(inv, testDeps())
	for _, bad := range []string{"\u2028", "\u202e", "\x1b", "\r"} {
		if strings.Contains(string(src), bad) {
			t.Errorf("init output contains %q:\n%s", bad, src)
		}
	}
	for i, l := range strings.Split(string(src), "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") && (strings.Contains(l, "evil") || strings.Contains(l, "hook") || strings.Contains(l, "pwn")) {
			t.Errorf("line %d is HCL written by a vCenter value: %s", i+1, l)
		}
	}
	p, diags := Parse("init.hcl", src)
	if diags.HasErrors() {
		t.Fatalf("init output does not parse: %v\n%s", diags, src)
	}
	got := map[string]bool{}
	for _, a := range p.Config.Apps {
		got[a.Name] = true
		if len(a.Hooks) > 0 {
			t.Errorf("app %q has hooks", a.Name)
		}
		if a.Approvers != nil {
			for _, e := range []hcl.Expression{a.Approvers.Plan, a.Approvers.Cutover, a.Approvers.Decommission} {
				if v, _ := e.Value(nil); v.LengthInt() != 0 {
					t.Errorf("app %q: an unusable owner became an approver: %#v", a.Name, v)
				}
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("apps %v, want %v", got, want)
	}
	if !strings.Contains(string(src), `\n}\napp "evil"`) {
		t.Errorf("the owner should still be visible, escaped, in a comment:\n%s", src)
	}
}

func TestInitWritesPersonTemplates(t *testing.T) {
	src := string(Init(loadInventory(t), testDeps()))
	for _, want := range []string{"# person \"ana\" {", "#   keys = [\"ssh-ed25519 AAAA... ana\"]", "identity {\n  allow_unverified = false\n}"} {
		if !strings.Contains(src, want) {
			t.Errorf("init output lacks %q:\n%s", want, src)
		}
	}
	// Uncommenting a template with a real key makes that approver valid.
	inv := loadInventory(t)
	src = strings.ReplaceAll(src, "# person \"bo\" {\n#   keys = [\"ssh-ed25519 AAAA... bo\"]\n# }", person("bo"))
	p, _ := Parse("init.hcl", []byte(src))
	for _, d := range Validate(p, inv, testDeps()) {
		if strings.Contains(d.Detail, `"bo"`) && d.Summary == "No key for identity" {
			t.Errorf("bo has a key now: %s", d.Detail)
		}
	}
}
