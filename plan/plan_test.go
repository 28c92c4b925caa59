package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/inventory"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	b, err := os.ReadFile("testdata/inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	return &inv
}

func testDeps() *deps.Result {
	return &deps.Result{InboundPorts: map[string][]deps.Port{
		"vm-101": {{Port: 8080, Protocol: "tcp"}, {Port: 9100, Protocol: "tcp"}},
		"vm-102": {{Port: 8080, Protocol: "tcp"}},
		"vm-103": {{Port: 5432, Protocol: "tcp"}, {Port: 161, Protocol: "udp"}},
	}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s", name, got)
	}
}

func TestExamplePlanResolves(t *testing.T) {
	p, diags := Load("../examples/ferry.hcl") // the documented example must stay valid
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	inv := loadInventory(t)
	if d := Validate(p, inv, testDeps()); len(d) > 0 {
		t.Fatalf("validate: %v", d)
	}
	specs, diags := Resolve(p, inv, testDeps())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(specs) != 3 || specs[0].Name != "ledger" || specs[1].Name != "billing-api" {
		t.Fatalf("specs in wave order: got %d", len(specs))
	}
	b := specs[1]
	if b.Approvers["cutover"][1] != "bo@example.com" || b.Approvers["plan"][0] != "ana@example.com" || b.Quorum["cutover"] != 2 {
		t.Errorf("approvers: %v quorum %v", b.Approvers, b.Quorum)
	}
	if len(b.People) != 3 || b.People["bo@example.com"][0] != testkeys.AuthorizedKey("bo@example.com") {
		t.Errorf("people of billing-api (approvers ana, bo; operators bo, cy): %v", b.People)
	}
	if strings.Join(b.Operators, ",") != "bo@example.com,cy@example.com" || b.AllowUnverified {
		t.Errorf("operators %v allowUnverified %v", b.Operators, b.AllowUnverified)
	}
	if got := b.VMs[2]; got.MachineType != "n2-highmem-4" || got.GCEName != "billing-db-prod" || len(got.DataDisksGB) != 2 {
		t.Errorf("db VM: %+v", got)
	}
	if s := specs[0]; s.Approvers["decommission"][0] != "bo@example.com" || len(s.Quorum) != 0 || s.Cutover.Steps[1].Percent != 50 || s.Cutover.Strategy != "lb" {
		t.Errorf("defaults for ledger: %+v", s)
	}
	out, _ := json.MarshalIndent(specs, "", "  ")
	golden(t, "ferry.resolved.golden.json", append(out, '\n'))
}

// Each bad plan's diagnostics, rendered with file:line:col and snippet,
// are compared with a golden file.
func TestDiagnosticsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.hcl")
	if len(files) == 0 {
		t.Fatal("no testdata/invalid/*.hcl")
	}
	inv := loadInventory(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.ToSlash(f)
			p, diags := Parse(name, src)
			if p != nil {
				diags = append(diags, Validate(p, inv, testDeps())...)
			}
			if !diags.HasErrors() {
				t.Fatalf("%s: want errors, got none", f)
			}
			var buf bytes.Buffer
			if err := WriteDiagnostics(&buf, name, src, diags); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("invalid", strings.TrimSuffix(filepath.Base(f), ".hcl")+".golden"), buf.Bytes())
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Subject == nil && !strings.Contains(d.Summary, "inconsistent") {
					t.Errorf("diagnostic without a source range: %s: %s", d.Summary, d.Detail)
				}
			}
		})
	}
}
