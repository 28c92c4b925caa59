package catalog

import (
	"strings"
	"testing"
)

func TestSnapshotRefusesShapesGCPDoesNotSell(t *testing.T) {
	c := Default()
	if c.AsOf == "" || c.Sources["machineTypes"] == "" || c.Sources["prices"] == "" {
		t.Fatalf("snapshot must name its sources and date: %+v", c.Sources)
	}
	for _, bad := range []struct{ name, hint string }{
		{"e2-highmem-32", "e2-highmem-16"},
		{"n2-highcpu-128", "n2-highcpu-96"},
		{"n2d-highmem-128", "n2d-highmem-96"},
		{"n1-highmem-1", "n1-highmem-2"},
		{"c3-standard-2", "c3-standard-4"},
		{"z9-standard-4", "known:"},
		{"n2-standard", "FAMILY-SHAPE-VCPUS"},
		{"custom-4-8192", "custom machine type"},
		{"n2-ultramem-8", "no \"ultramem\" shape"},
	} {
		_, err := c.Lookup(bad.name)
		if err == nil || KindOf(err) != KindUnknownMachineType || !strings.Contains(err.Error(), bad.hint) {
			t.Errorf("%s: err = %v, want unknown-machine-type mentioning %q", bad.name, err, bad.hint)
		}
	}
	for _, good := range []struct {
		name string
		vcpu int
		mem  float64
	}{
		{"e2-highmem-16", 16, 128}, {"e2-small", 2, 2}, {"n2-highmem-128", 128, 864}, {"n2d-standard-224", 224, 896},
		{"n1-highcpu-2", 2, 1.8}, {"c3-highcpu-22", 22, 44}, {"n2-highcpu-96", 96, 96},
	} {
		mt, err := c.Lookup(good.name)
		if err != nil || mt.VCPU != good.vcpu || mt.MemoryGB < good.mem-1e-9 || mt.MemoryGB > good.mem+1e-9 {
			t.Errorf("%s: %+v %v, want %d vCPU %.1f GB", good.name, mt, err, good.vcpu, good.mem)
		}
	}
}

func TestValidateZonesRegionsImages(t *testing.T) {
	if err := Validate("n2-standard-4", "europe-west1-b"); err != nil {
		t.Fatal(err)
	}
	for _, z := range []struct{ zone, hint string }{
		{"europe-west1-a", "europe-west1-b, europe-west1-c, europe-west1-d"},
		{"mars-north1-a", "known:"},
		{"europe", "REGION-LETTER"},
	} {
		if err := Validate("n2-standard-4", z.zone); KindOf(err) != KindUnknownZone || !strings.Contains(err.Error(), z.hint) {
			t.Errorf("zone %s: %v, want unknown-zone mentioning %q", z.zone, err, z.hint)
		}
	}
	c := Default()
	if err := c.ValidateRegion("europe-west9"); KindOf(err) != KindUnknownRegion {
		t.Errorf("region europe-west9: %v", err)
	}
	for _, ok := range []string{"debian-cloud/debian-12", "projects/debian-cloud/global/images/debian-12-bookworm-v20250610",
		"projects/debian-cloud/global/images/family/debian-12", "https://www.googleapis.com/compute/v1/projects/windows-cloud/global/images/windows-server-2022-dc-v20250610",
		"ubuntu-os-cloud/ubuntu-2204-jammy-v20250101", "projects/my-project/global/images/imported-by-m2vm"} {
		if err := c.ValidateImage(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"centos-cloud/centos-7", "projects/debian-cloud/global/images/debian-9-stretch-v20200101", "debian-12", "projects/windows-cloud/global/images/"} {
		if err := c.ValidateImage(bad); KindOf(err) != KindUnknownImage {
			t.Errorf("%s: %v, want unknown-image", bad, err)
		}
	}
}

func TestPricesPerRegionLicencesAndForwardingRules(t *testing.T) {
	c := Default()
	mt, _ := c.Lookup("n2-standard-4")
	us := c.HourlyUSD(mt, "us-central1")
	eu := c.HourlyUSD(mt, "europe-west1")
	if want := 4*0.031611 + 16*0.004237; us < want-1e-9 || us > want+1e-9 {
		t.Errorf("n2-standard-4 us-central1 = %.6f, want %.6f", us, want)
	}
	if eu <= us {
		t.Errorf("europe-west1 (%.4f) must cost more than us-central1 (%.4f)", eu, us)
	}
	if _, ok := c.PriceMultiplier("nowhere1"); ok {
		t.Error("unknown region must say it has no prices")
	}
	if w := c.WindowsHourlyUSD(mt); w < 4*0.046-1e-9 || w > 4*0.046+1e-9 {
		t.Errorf("Windows licence of 4 vCPU = %.4f, want 0.184", w)
	}
	small, _ := c.Lookup("e2-small")
	if w := c.WindowsHourlyUSD(small); w != c.WindowsServer.SharedCoreHourUSD {
		t.Errorf("Windows on shared core = %v", w)
	}
	if c.ForwardingRulesHourlyUSD(1) != c.ForwardingRulesHourlyUSD(5) || c.ForwardingRulesHourlyUSD(6) <= c.ForwardingRulesHourlyUSD(5) || c.ForwardingRulesHourlyUSD(0) != 0 {
		t.Error("forwarding rules: the first five share one price, each more adds")
	}
	if c.HourlyUSD(small, "us-central1") >= c.HourlyUSD(mustLookup(t, c, "e2-standard-2"), "us-central1") {
		t.Error("e2-small is billed for half a vCPU and must cost less than e2-standard-2")
	}
}

func TestMachineTypesListsOnlyRealShapes(t *testing.T) {
	c := Default()
	for _, f := range c.FamilyNames() {
		for _, mt := range c.MachineTypes(f) {
			if _, err := c.Lookup(mt.Name); err != nil {
				t.Errorf("%s listed but refused: %v", mt.Name, err)
			}
		}
	}
	for _, mt := range c.MachineTypes("e2") {
		if mt.Name == "e2-highmem-32" {
			t.Error("e2-highmem-32 listed")
		}
	}
}

func mustLookup(t *testing.T, c *Catalog, name string) MachineType {
	t.Helper()
	mt, err := c.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return mt
}
