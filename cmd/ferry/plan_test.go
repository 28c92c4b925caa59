package main

import (
	"encoding/json"
	"errors"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/inventory"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/plan"
)

const (
	testPlan = "../../examples/ferry.hcl"
	testInv  = "../../plan/testdata/inventory.json"
)

func TestPlanValidateOK(t *testing.T) {
	out, err := run(t, "plan", "validate", testPlan, "--inventory", testInv)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "is valid: 2 waves, 3 apps, 5 VMs") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

func TestPlanValidateReportsEveryError(t *testing.T) {
	out, err := run(t, "plan", "validate", "../../plan/testdata/invalid/unknown.hcl", "--inventory", testInv)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("want exitError code 1, got %v", err)
	}
	for _, want := range []string{
		"unknown.hcl:10:28: Error: Unknown app", `did you mean "billing-api"`,
		"unknown.hcl:23:3: Error: Unsupported argument", "unknown.hcl:26:1: Error: App in no wave",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPlanInitRoundTrips(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ferry.hcl")
	if out, err := run(t, "plan", "init", "--inventory", testInv, "--out", file); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "# ") || !strings.Contains(string(b), `app "billing-api"`) {
		t.Fatalf("init output lacks comments or apps:\n%s", b)
	}
	// What init writes validates against the same inventory once the
	// reviewer lists the approvers' keys: until then, that is all validate
	// refuses.
	out, err := run(t, "plan", "validate", file, "--inventory", testInv)
	if err == nil || !strings.Contains(out, "No key for identity") {
		t.Fatalf("init output without keys: %v\n%s", err, out)
	}
	inv, err := inventory.Load(testInv)
	if err != nil {
		t.Fatal(err)
	}
	withKeys, err := devstack.DevPeople(dir, b, inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, withKeys, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "plan", "validate", file, "--inventory", testInv); err != nil {
		t.Fatalf("init output with keys does not validate: %v\n%s\n%s", err, out, withKeys)
	}
}

func TestPlanShowJSON(t *testing.T) {
	out, err := run(t, "plan", "show", "billing-api", "-f", testPlan, "--inventory", testInv, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var s plan.AppSpec
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if s.Name != "billing-api" || len(s.VMs) != 3 || s.Cutover.Steps[0].Percent != 10 {
		t.Fatalf("resolved spec: %+v", s)
	}
	out, err = run(t, "plan", "show", "nope", "-f", testPlan, "--inventory", testInv)
	if err == nil || !strings.Contains(err.Error(), "billing-api") {
		t.Fatalf("unknown app: %v %s", err, out)
	}
}

func TestPlanRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tf")
	out, err := run(t, "plan", "render", "ledger", "-f", testPlan, "--inventory", testInv, "--dir", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "instances.tf"))
	if err != nil || !strings.Contains(string(b), `resource "google_compute_instance" "ledger-app-1"`) {
		t.Fatalf("instances.tf: %v\n%s", err, b)
	}
}
