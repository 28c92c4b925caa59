package traffic

import "github.com/ferrymigrate/ferry/gcename"

// Names of the load balancer resources of an app, spelled by package
// gcename (terraform creates them with the same functions, the lb strategy
// patches the URL map).

// URLMapName is the URL map whose default route splits traffic between the
// datacenter and GCP backend services.
func URLMapName(app string) string { return gcename.URLMap(app) }

// GCPBackendName is the backend service over the app's unmanaged instance
// group on GCE.
func GCPBackendName(app string) string { return gcename.GCPBackend(app) }

// DCBackendName is the backend service over the hybrid connectivity NEG
// (NON_GCP_PRIVATE_IP_PORT) that holds the app's datacenter endpoints.
func DCBackendName(app string) string { return gcename.DCBackend(app) }

// DCNEGName is the hybrid connectivity network endpoint group behind
// DCBackendName.
func DCNEGName(app string) string { return gcename.DCNEG(app) }

// ForwardingRuleName is the app's global forwarding rule: its IPAddress is
// the load balancer's public address (PublicURL).
func ForwardingRuleName(app string) string { return gcename.ForwardingRule(app) }
