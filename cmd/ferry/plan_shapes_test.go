package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

// TestSamplePortfolioOnlyGetsShapesGCESells runs what a user runs on the
// whole sample portfolio: plan init, validate and render, with the machine
// types read from the Compute API (gcpfake serves machineTypes
// .aggregatedList from the same catalogue it refuses instances with), and
// checks every machine type terraform would get is sold in its zone.
func TestSamplePortfolioOnlyGetsShapesGCESells(t *testing.T) {
	fake := gcpfake.StartT(t, gcpfake.Options{})
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.json")
	if out, err := run(t, "discover", "--sample", "--out", inv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	api := []string{"--inventory", inv, "--machine-types", "api", "--compute-endpoint", fake.ComputeEndpoint()}
	file := filepath.Join(dir, "ferry.hcl")
	out, err := run(t, append([]string{"plan", "init", "--out", file, "--project", "acme-prod", "--region", "us-central1", "--zones", "us-central1-a,us-central1-c"}, api...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, _ := os.ReadFile(file)
	src := string(b)
	if !strings.Contains(src, "Compute API machineTypes.aggregatedList of acme-prod") || !strings.Contains(src, "in us-central1") {
		t.Errorf("init does not say where its machine types and prices come from:\n%.2000s", src)
	}
	// The reviewer's part: accept unsigned approvals for this test.
	src = strings.Replace(src, "allow_unverified = false", "allow_unverified = true", 1)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, append([]string{"plan", "validate", file}, api...)...)
	if err != nil {
		t.Fatalf("init output does not validate: %v\n%s", err, out)
	}
	for _, want := range []string{"is valid:", "Windows Server licences $", "forwarding rules $", "prices: GCE catalogue 2026-12-02", "in us-central1", "machine types: Compute API machineTypes.aggregatedList of acme-prod"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	apps := regexp.MustCompile(`(?m)^app "([^"]+)" \{`).FindAllStringSubmatch(src, -1)
	if len(apps) < 10 {
		t.Fatalf("%d apps in the sample plan", len(apps))
	}
	shape := regexp.MustCompile(`machine_type\s*=\s*"([^"]+)"`)
	zoneRe := regexp.MustCompile(`\bzone\s*=\s*"([^"]+)"`)
	n := 0
	for _, a := range apps {
		tf := filepath.Join(dir, "tf", a[1])
		if out, err := run(t, append([]string{"plan", "render", a[1], "-f", file, "--dir", tf}, api...)...); err != nil {
			t.Fatalf("render %s: %v\n%s", a[1], err, out)
		}
		b, err := os.ReadFile(filepath.Join(tf, "instances.tf"))
		if err != nil {
			t.Fatal(err)
		}
		zones := zoneRe.FindAllStringSubmatch(string(b), -1)
		for i, m := range shape.FindAllStringSubmatch(string(b), -1) {
			n++
			if i >= len(zones) {
				t.Fatalf("%s: no zone for %s", a[1], m[1])
			}
			if err := catalog.Validate(m[1], zones[i][1]); err != nil {
				t.Errorf("%s renders %s in %s, which GCE refuses: %v", a[1], m[1], zones[i][1], err)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d instances rendered for the sample portfolio", n)
	}

	// A pinned shape GCE does not sell fails validate, naming the line.
	bad := regexp.MustCompile(`machine_type = "[^"]+"`).ReplaceAllString(src, `machine_type = "e2-highmem-32"`)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, append([]string{"plan", "validate", file}, api...)...)
	if err == nil || !strings.Contains(out, "Error: Bad machine type") || !strings.Contains(out, "e2-highmem-16") || !regexp.MustCompile(`ferry\.hcl:\d+:\d+: Error: Bad machine type`).MatchString(out) {
		t.Errorf("an unsold shape: %v\n%.1500s", err, out)
	}
}
