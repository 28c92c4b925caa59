package terraform

import (
	"fmt"
	"strings"

	"github.com/ferrymigrate/ferry/plan"
)

// The prices live in plan (plan/prices.go over the GCE catalogue snapshot
// in plan/catalog); this file only reads terraform's attribute maps of a
// plan into the arguments those prices take.

// costOf estimates the monthly cost of an instance, disk or forwarding
// rule value from a plan, priced in the region of its zone (GCE catalogue
// snapshot): machine type, Windows Server licence for a windows-cloud
// image, boot disk; disk size and type; a forwarding rule alone.
func costOf(typ string, v any) float64 {
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	region := regionOfZone(fmt.Sprint(m["zone"]))
	switch typ {
	case "google_compute_instance":
		guest, diskType, diskGB := "linuxGuest", "", int64(0)
		if bd, ok := m["boot_disk"].([]any); ok && len(bd) > 0 {
			if ip, ok := bd[0].(map[string]any)["initialize_params"].([]any); ok && len(ip) > 0 {
				p := ip[0].(map[string]any)
				diskType, diskGB = fmt.Sprint(p["type"]), toInt(p["size"])
				if strings.Contains(fmt.Sprint(p["image"]), "windows-cloud") {
					guest = "windowsGuest"
				}
			}
		}
		return plan.EstimateVM(fmt.Sprint(m["machine_type"]), region, guest, diskType, diskGB).Total
	case "google_compute_disk":
		return plan.DiskMonthlyUSDIn(fmt.Sprint(m["type"]), region, toInt(m["size"]))
	case "google_compute_global_forwarding_rule", "google_compute_forwarding_rule":
		return plan.ForwardingRulesMonthlyUSD(1)
	}
	return 0
}

// regionOfZone is "europe-west1" for "europe-west1-b"; "" (priced as
// us-central1) when v is not a zone.
func regionOfZone(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 && zone != "<nil>" {
		return zone[:i]
	}
	return ""
}

func toInt(v any) int64 {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return 0
}
