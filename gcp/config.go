// Package gcp holds how ferry reaches Google Cloud: the project, the region
// and, for gcpfake or a private endpoint, the API endpoints. Credentials are
// never part of it: real runs use Application Default Credentials from the
// worker's environment.
package gcp

import (
	"net/http"
	"strings"

	"google.golang.org/api/option"
)

// Config is serialisable and safe to log: it holds no secret.
type Config struct {
	Project string `json:"project"`
	Region  string `json:"region"`
	Zone    string `json:"zone,omitempty"`

	// Endpoints override the Google API base URLs (gcpfake, private service
	// connect). Each ends with "/", e.g. http://127.0.0.1:PORT/compute/v1/.
	ComputeEndpoint string `json:"computeEndpoint,omitempty"`
	DNSEndpoint     string `json:"dnsEndpoint,omitempty"`
	StorageEndpoint string `json:"storageEndpoint,omitempty"`
	// VMMigrationEndpoint is the Migrate to Virtual Machines gRPC API as
	// host:port (gcpfake's M2VMEndpoint); empty: Google's.
	VMMigrationEndpoint string `json:"vmMigrationEndpoint,omitempty"`
	// MonitoringEndpoint is the Cloud Monitoring gRPC API as host:port
	// (gcpfake's MonitoringEndpoint); empty: Google's.
	MonitoringEndpoint string `json:"monitoringEndpoint,omitempty"`
	// BillingEndpoint is the Cloud Billing Catalog gRPC API as host:port
	// (gcpfake's BillingEndpoint); empty: Google's.
	BillingEndpoint string `json:"billingEndpoint,omitempty"`
}

// Fake reports whether the endpoints point at a local fake that takes no
// credentials.
func (c Config) Fake() bool {
	return strings.HasPrefix(c.ComputeEndpoint, "http://127.0.0.1") ||
		strings.HasPrefix(c.ComputeEndpoint, "http://localhost")
}

// FakeAccessToken is what terraform's google provider is given when it talks
// to gcpfake; it is not a secret.
const FakeAccessToken = "gcpfake-token"

// ComputeOptions returns client options for cloud.google.com/go/compute REST
// clients. Terraform takes the endpoint with its API path
// (…/compute/v1/); the Go clients add that path themselves, so they get
// the bare base URL.
func (c Config) ComputeOptions() []option.ClientOption {
	return c.options(strings.TrimSuffix(c.ComputeEndpoint, "/compute/v1/"))
}

// DNSOptions returns client options for google.golang.org/api/dns/v1
// (which, like the compute clients, adds dns/v1/ itself).
func (c Config) DNSOptions() []option.ClientOption {
	return c.options(strings.TrimSuffix(c.DNSEndpoint, "dns/v1/"))
}

// StorageOptions returns client options for storage clients.
func (c Config) StorageOptions() []option.ClientOption { return c.options(c.StorageEndpoint) }

func (c Config) options(endpoint string) []option.ClientOption {
	if endpoint == "" {
		return nil // Application Default Credentials, Google endpoints
	}
	opts := []option.ClientOption{option.WithEndpoint(endpoint)}
	if c.Fake() {
		opts = append(opts, option.WithoutAuthentication(), option.WithHTTPClient(http.DefaultClient))
	}
	return opts
}
