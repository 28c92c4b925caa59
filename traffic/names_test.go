package traffic_test

import (
	"testing"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/traffic"
)

// The strategies patch what terraform created: both spell the names
// through gcename (its tests hold the rule).
func TestResourceNamesAreGCENames(t *testing.T) {
	for _, app := range []string{"billing-api", "Billing_API", "9lives", "café"} {
		if traffic.URLMapName(app) != gcename.URLMap(app) || traffic.GCPBackendName(app) != gcename.GCPBackend(app) ||
			traffic.DCBackendName(app) != gcename.DCBackend(app) || traffic.DCNEGName(app) != gcename.DCNEG(app) ||
			traffic.ForwardingRuleName(app) != gcename.ForwardingRule(app) {
			t.Errorf("traffic and gcename disagree on the names of app %q", app)
		}
	}
	if traffic.GCPBackendName("shop") != "shop-gcp" || traffic.DCBackendName("shop") != "shop-dc" || traffic.DCNEGName("shop") != "shop-dc-neg" {
		t.Fatal("backend names changed: existing state depends on them")
	}
}
