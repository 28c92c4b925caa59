package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/inventory"
)

func TestDiscoverSample(t *testing.T) {
	out, err := run(t, "discover", "--sample")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"APP", "POWER", "billing-api", "priya.nair@example.com", "tier-1", " on"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	file := filepath.Join(t.TempDir(), "inventory.json")
	out, err = run(t, "discover", "--sample", "-o", "json", "--out", file)
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &inv); err != nil {
		t.Fatalf("json: %v\n%.500s", err, out)
	}
	if inv.Schema != inventory.SchemaVersion || len(inv.Apps) < 12 || len(inv.VMs) < 35 {
		t.Fatalf("inventory: schema %q, %d apps, %d VMs", inv.Schema, len(inv.Apps), len(inv.VMs))
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}

	out, err = run(t, "apps", "--inventory", file, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var dir appDirectory
	if err := json.Unmarshal([]byte(out), &dir); err != nil {
		t.Fatal(err)
	}
	if len(dir.Apps) != len(inv.Apps) || dir.Schema != inventory.SchemaVersion {
		t.Fatalf("apps: %+v", dir)
	}
	out, err = run(t, "apps", "--inventory", file)
	if err != nil || !strings.Contains(out, "DEPENDS ON") || !strings.Contains(out, "payments-db") {
		t.Fatalf("apps table: %v\n%s", err, out)
	}

	// Grouping flags reach discovery: with the squad as the app, apps are squads.
	out, err = run(t, "apps", "--sample", "--app-category", "squad")
	if err != nil || !strings.Contains(out, "\npayments ") || strings.Contains(out, "\nbilling-api ") {
		t.Fatalf("--app-category squad: %v\n%s", err, out)
	}
}

func TestDiscoverNeedsVCenter(t *testing.T) {
	t.Setenv("GOVC_URL", "")
	_, err := run(t, "discover")
	if err == nil || !strings.Contains(err.Error(), "GOVC_URL") || !strings.Contains(err.Error(), "--sample") {
		t.Fatalf("want a hint about GOVC_URL and --sample, got %v", err)
	}
	t.Setenv("GOVC_URL", "https://admin:hunter2@127.0.0.1:1/sdk")
	t.Setenv("GOVC_INSECURE", "1")
	_, err = run(t, "discover")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("unreachable vCenter: %v", err)
	}
}
