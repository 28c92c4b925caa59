package terraform

import (
	"testing"

	"github.com/ferrymigrate/ferry/plan"
)

// The plan summary's cost follows the instance's region, adds the Windows
// licence for a windows-cloud image and prices the forwarding rule.
func TestCostOfFollowsRegionLicenceAndLB(t *testing.T) {
	inst := func(zone, image string) map[string]any {
		return map[string]any{"machine_type": "n2-standard-4", "zone": zone, "boot_disk": []any{map[string]any{
			"initialize_params": []any{map[string]any{"type": "pd-balanced", "size": float64(50), "image": image}}}}}
	}
	linux := "projects/debian-cloud/global/images/debian-12-bookworm-v20250610"
	us := costOf("google_compute_instance", inst("us-central1-a", linux))
	eu := costOf("google_compute_instance", inst("europe-west1-b", linux))
	win := costOf("google_compute_instance", inst("europe-west1-b", "projects/windows-cloud/global/images/windows-server-2022-dc-v20250610"))
	want := plan.EstimateVM("n2-standard-4", "europe-west1", "linuxGuest", "pd-balanced", 50).Total
	if eu != want || !(eu > us) || !(win > eu) {
		t.Errorf("us %.2f eu %.2f (want %.2f) windows %.2f", us, eu, want, win)
	}
	if fr := costOf("google_compute_global_forwarding_rule", map[string]any{"name": "x"}); fr != plan.ForwardingRulesMonthlyUSD(1) || fr <= 0 {
		t.Errorf("forwarding rule %.2f", fr)
	}
	if d := costOf("google_compute_disk", map[string]any{"type": "pd-ssd", "size": float64(100), "zone": "europe-west1-b"}); d != plan.DiskMonthlyUSDIn("pd-ssd", "europe-west1", 100) {
		t.Errorf("disk %.2f", d)
	}
}
