package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan/catalog"
)

// TestPlanPricesFromBillingAPI runs plan init, validate and show on the
// sample portfolio with prices read from the Cloud Billing Catalog API
// (gcpfake's, whose SKUs are the snapshot's prices): every command says
// where its prices come from, a price Google changes moves the estimate,
// and an API that cannot be reached or refuses the caller leaves the
// snapshot's prices with a warning naming the error.
func TestPlanPricesFromBillingAPI(t *testing.T) {
	fake := gcpfake.StartT(t, gcpfake.Options{})
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.json")
	if out, err := run(t, "discover", "--sample", "--out", inv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	src := func(prices, endpoint string) []string {
		return []string{"--inventory", inv, "--machine-types", "snapshot", "--prices", prices, "--billing-endpoint", endpoint}
	}
	api := src("api", fake.BillingEndpoint())
	file := filepath.Join(dir, "ferry.hcl")
	out, err := run(t, append([]string{"plan", "init", "--out", file, "--region", "europe-west1"}, api...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "prices Cloud Billing Catalog API ") {
		t.Errorf("init does not say its prices come from the Cloud Billing Catalog API:\n%.1500s", b)
	}
	// The reviewer's part: accept unsigned approvals for this test.
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "allow_unverified = false", "allow_unverified = true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	total := func(out string) float64 {
		t.Helper()
		m := regexp.MustCompile(`about \$(\d+)/month on GCP: machines \$(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no estimate in:\n%s", out)
		}
		n, _ := strconv.ParseFloat(m[2], 64)
		return n
	}

	out, err = run(t, append([]string{"plan", "validate", file}, api...)...)
	if err != nil || !strings.Contains(out, "prices: Cloud Billing Catalog API ") || strings.Contains(out, "warning:") {
		t.Fatalf("validate with API prices: %v\n%s", err, out)
	}
	atAPI := total(out)
	out, err = run(t, append([]string{"plan", "validate", file}, src("snapshot", "")...)...)
	if err != nil || !strings.Contains(out, "prices: GCE catalogue "+catalog.Default().AsOf) {
		t.Fatalf("validate with snapshot prices: %v\n%s", err, out)
	}
	if atSnap := total(out); atSnap != atAPI {
		t.Errorf("machines: $%v from the API, $%v from the snapshot it was generated from", atAPI, atSnap)
	}

	// Google raises the price of an E2 vCPU in Belgium (europe-west1).
	snapE2 := catalog.Default().Families["e2"].VCPUHourUSD * 1.1
	if err := fake.Billing().SetUnitPrice(catalog.ComputeEngineService, "E2 Instance Core running in Belgium", 3*snapE2); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, append([]string{"plan", "validate", file}, api...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if raised := total(out); raised <= atAPI {
		t.Errorf("machines after the E2 price rise: $%v, before $%v", raised, atAPI)
	}
	app := regexp.MustCompile(`(?m)^app "([^"]+)" \{`).FindStringSubmatch(string(b))
	out, err = run(t, append([]string{"plan", "show", app[1], "-f", file}, api...)...)
	if err != nil || !regexp.MustCompile(`total\s+[0-9.]+\s+prices: Cloud Billing Catalog API `).MatchString(out) {
		t.Errorf("plan show %s: %v\n%s", app[1], err, out)
	}

	// Unreachable: auto falls back with a warning; api fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	out, err = run(t, append([]string{"plan", "validate", file}, src("auto", closed)...)...)
	if err != nil || !strings.Contains(out, "warning: read Compute Engine prices from the Cloud Billing Catalog API") ||
		!strings.Contains(out, "Unavailable") || !strings.Contains(out, "prices: GCE catalogue "+catalog.Default().AsOf) {
		t.Errorf("unreachable API with --prices auto: %v\n%s", err, out)
	}
	if out, err := run(t, append([]string{"plan", "validate", file}, src("api", closed)...)...); err == nil || !strings.Contains(err.Error(), "Cloud Billing Catalog API") {
		t.Errorf("unreachable API with --prices api: %v\n%s", err, out)
	}

	// Denied: the same, naming the refusal.
	if err := fake.Faults().Add(gcpfake.Fault{PathRegexp: "CloudCatalog/ListSkus", Status: 403}); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, append([]string{"plan", "validate", file}, src("auto", fake.BillingEndpoint())...)...)
	if err != nil || !strings.Contains(out, "warning: ") || !strings.Contains(out, "PermissionDenied") || !strings.Contains(out, "prices: GCE catalogue ") {
		t.Errorf("denied API with --prices auto: %v\n%s", err, out)
	}
}
