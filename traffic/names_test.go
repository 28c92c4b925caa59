package traffic_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/traffic"
)

func TestResourceNames(t *testing.T) {
	rfc1035 := regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	cases := map[string]string{
		"billing-api":           "billing-api-lb",
		"Billing_API":           "billing-api-lb",
		"café ünïcode":          "caf-n-code-lb",
		"9lives":                "app-9lives-lb",
		"--":                    "app-lb",
		strings.Repeat("a", 80): strings.Repeat("a", 60) + "-lb",
	}
	for app, want := range cases {
		if got := traffic.URLMapName(app); got != want {
			t.Errorf("URLMapName(%q) = %q, want %q", app, got, want)
		}
		for _, n := range []string{traffic.URLMapName(app), traffic.GCPBackendName(app), traffic.DCBackendName(app), traffic.DCNEGName(app)} {
			if !rfc1035.MatchString(n) {
				t.Errorf("%q from app %q is not a GCE name", n, app)
			}
		}
	}
	if traffic.GCPBackendName("shop") != "shop-gcp" || traffic.DCBackendName("shop") != "shop-dc" || traffic.DCNEGName("shop") != "shop-dc-neg" {
		t.Fatal("backend names changed: terraform/ depends on them")
	}
}
