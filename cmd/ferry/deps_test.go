package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
)

func depsFixture(t *testing.T) (invPath, flowsPath string) {
	t.Helper()
	dir := t.TempDir()
	inv := inventory.Inventory{Schema: inventory.SchemaVersion, Source: "vcsim",
		Apps: []inventory.App{{Name: "web", VMs: []string{"vm-1"}}, {Name: "api", VMs: []string{"vm-2"}}, {Name: "db", VMs: []string{"vm-3"}, DependsOn: []string{"backup"}}},
		VMs: []inventory.VM{
			{Ref: "vm-1", Name: "web-1", App: "web", Datacenter: "dc1", IPs: []string{"10.0.0.1"}},
			{Ref: "vm-2", Name: "api-1", App: "api", Datacenter: "dc1", IPs: []string{"10.0.0.2"}},
			{Ref: "vm-3", Name: "db-1", App: "db", Datacenter: "dc2", IPs: []string{"10.0.1.3"}},
		}}
	data, _ := json.Marshal(inv)
	invPath = filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(invPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	flowsPath = filepath.Join(dir, "flows.csv")
	flows := "src_ip,dst_ip,dst_port,protocol,bytes,packets,first_seen,last_seen\n" +
		"10.0.0.1,10.0.0.2,8080,tcp,100,1,2026-01-01T00:00:00Z,2026-01-01T00:01:00Z\n" +
		"10.0.0.2,10.0.1.3,5432,tcp,100,1,2026-01-01T00:00:00Z,2026-01-01T00:01:00Z\n" +
		"10.0.0.2,not-an-ip,5432,tcp,100,1,,\n"
	if err := os.WriteFile(flowsPath, []byte(flows), 0o644); err != nil {
		t.Fatal(err)
	}
	return invPath, flowsPath
}

func TestDepsCommand(t *testing.T) {
	inv, flows := depsFixture(t)
	out, err := run(t, "deps", "--flows", flows, "--inventory", inv, "--max-errors", "1", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, flows+":4: destination IP \"not-an-ip\"") {
		t.Errorf("the skipped line must be reported as file:line: %s", out)
	}
	var r deps.Result
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Schema != deps.Schema || len(r.Waves) != 3 || r.Waves[0].Apps[0] != "db" || r.Waves[2].Apps[0] != "web" {
		t.Errorf("waves %+v", r.Waves)
	}
	if got := r.DependsOn("db"); len(got) != 1 || got[0] != "ext:backup" {
		t.Errorf("declared dependency from the app directory: %v", got)
	}

	// too many errors: fails naming file:line
	_, err = run(t, "deps", "--flows", flows, "--inventory", inv)
	if err == nil || !strings.Contains(err.Error(), flows+":4:") || !strings.Contains(err.Error(), "--max-errors") {
		t.Errorf("want a file:line error suggesting --max-errors, got %v", err)
	}

	for _, format := range []string{"table", "dot", "mermaid", "svg"} {
		outFile := filepath.Join(t.TempDir(), "deps."+format)
		if _, err := run(t, "deps", "--flows", flows, "--inventory", inv, "--max-errors", "5", "--format", format, "--out", outFile,
			"--declare", "web=db", "--max-apps-per-wave", "1"); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		data, err := os.ReadFile(outFile)
		if err != nil || !strings.Contains(string(data), "api") {
			t.Errorf("%s output: %v %.200s", format, err, data)
		}
	}
}

func TestDepsCommandErrors(t *testing.T) {
	inv, flows := depsFixture(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deps", "--inventory", inv}, "--flows"},
		{[]string{"deps", "--flows", flows, "--inventory", inv, "--format", "png"}, "--format"},
		{[]string{"deps", "--flows", flows, "--inventory", inv, "--declare", "nonsense"}, "APP=DEPENDENCY"},
		{[]string{"deps", "--flows", flows, "--inventory", filepath.Join(t.TempDir(), "none.json")}, "ferry discover"},
		{[]string{"deps", "--flows", filepath.Join(t.TempDir(), "none.csv"), "--inventory", inv}, "open flow file"},
	} {
		_, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestDepsSample(t *testing.T) {
	out, err := run(t, "deps", "--sample", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var r deps.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%.500s", err, out)
	}
	if len(r.Waves) < 2 || len(r.Edges) == 0 || r.Stats.ParseErrors != 0 || r.Stats.Records == 0 {
		t.Fatalf("sample analysis: %d waves, %d edges, stats %+v", len(r.Waves), len(r.Edges), r.Stats)
	}
	var external bool
	for _, n := range r.Apps {
		external = external || n.Kind == deps.KindExternal
	}
	if !external {
		t.Error("the sample has internet clients and SaaS endpoints: external nodes expected")
	}
	// the sample's flows name only apps the directory has
	for _, e := range r.Edges {
		if n, ok := r.Node(e.From); !ok || (n.Kind == deps.KindUnassigned) {
			t.Errorf("edge from %s: %+v", e.From, n)
		}
	}
}

// Formats other than the table do not show ambiguous conversations: they
// are warned on stderr, never dropped silently.
func TestDepsWarnsAmbiguousOutsideTheTable(t *testing.T) {
	inv, _ := depsFixture(t)
	flows := filepath.Join(t.TempDir(), "nfdump.csv")
	// Both ports ephemeral, no SYN: nothing tells which side serves.
	if err := os.WriteFile(flows, []byte("src_ip,dst_ip,src_port,dst_port,protocol,bytes,flags,biflowDirection\n"+
		"10.0.0.1,10.0.0.2,45000,47000,tcp,500,...AP.SF,\n"+
		"10.0.0.2,10.0.0.1,47000,45000,tcp,700,...AP.SF,\n"+
		"10.0.0.1,10.0.0.2,41000,8080,tcp,100,....S.,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "mermaid"} {
		var stdout, stderr strings.Builder
		if err := runDeps(t.Context(), &stdout, &stderr, &depsFlags{flows: []string{flows}, inventoryFile: inv, affinity: deps.DefaultAffinity}, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "warning: 1 ambiguous conversations (2 records)") || strings.Contains(stdout.String(), "warning:") {
			t.Errorf("%s: stderr %q", format, stderr.String())
		}
	}
	out, err := run(t, "deps", "--flows", flows, "--inventory", inv)
	if err != nil || !strings.Contains(out, "ambiguous: 1 conversations") || strings.Contains(out, "warning: 1 ambiguous") {
		t.Errorf("table: %v\n%s", err, out)
	}
}
