package traffic

import (
	"strings"

	"github.com/ferrymigrate/ferry/terraform/gcename"
)

// Names of the load balancer resources of an app. Terraform creates them
// (terraform/ uses these functions) and the lb strategy patches the URL map,
// so both sides agree on one spelling.

// URLMapName is the URL map whose default route splits traffic between the
// datacenter and GCP backend services.
func URLMapName(app string) string { return resourceName(app, "-lb") }

// GCPBackendName is the backend service over the app's unmanaged instance
// group on GCE.
func GCPBackendName(app string) string { return resourceName(app, "-gcp") }

// DCBackendName is the backend service over the hybrid connectivity NEG
// (NON_GCP_PRIVATE_IP_PORT) that holds the app's datacenter endpoints.
func DCBackendName(app string) string { return resourceName(app, "-dc") }

// DCNEGName is the hybrid connectivity network endpoint group behind
// DCBackendName.
func DCNEGName(app string) string { return resourceName(app, "-dc-neg") }

// ForwardingRuleName is the app's global forwarding rule: its IPAddress is
// the load balancer's public address (PublicURL). terraform names it
// "ferry-<app>-fr" through gcename, as it does the proxy and the groups.
func ForwardingRuleName(app string) string { return gcename.Name("ferry-"+app+"-fr", nil) }

// resourceName turns an app name into an RFC 1035 GCE name (lowercase
// letters, digits and hyphens, starting with a letter, at most 63
// characters) and appends suffix.
func resourceName(app, suffix string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(app) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	switch {
	case s == "":
		s = "app"
	case s[0] < 'a' || s[0] > 'z':
		s = "app-" + s
	}
	if max := 63 - len(suffix); len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	return s + suffix
}
