// Package traffic shifts an app's traffic between the datacenter and GCP
// (a weighted load balancer URL map, or Cloud DNS) and runs the SLO gate
// after each step.
package traffic

import "time"

// Config holds the settings of the traffic strategies that are not per app.
// The zero value is usable; it holds no secret.
type Config struct {
	// ProbeConcurrency bounds the parallel requests of the SLO gate and
	// the health check (default 8).
	ProbeConcurrency int `json:"probeConcurrency,omitempty"`
	// ProbeTimeout bounds one probe request (default 5s).
	ProbeTimeout time.Duration `json:"probeTimeout,omitempty"`
	// ConflictRetries bounds the re-reads after a fingerprint conflict
	// (HTTP 412) on the URL map or a DNS change (default 8).
	ConflictRetries int `json:"conflictRetries,omitempty"`
	// InstanceAddress picks the GCE address probed and published by the dns
	// strategy: "internal", "external", or "" for the external address when
	// the instance has one and the internal one otherwise.
	InstanceAddress string `json:"instanceAddress,omitempty"`
	// ProbeRootCAs is a PEM file of CA certificates the SLO gate trusts
	// besides the system's, for HTTPS load balancers with a certificate
	// from a private CA (tcpprobe.go).
	ProbeRootCAs string `json:"probeRootCAs,omitempty"`
}

// Defaults.
const (
	DefaultProbeConcurrency = 8
	DefaultProbeTimeout     = 5 * time.Second
	DefaultConflictRetries  = 8
	DefaultRequests         = 20
	DefaultDNSTTL           = 30 // seconds: low, so a rollback takes effect fast
)

func (c Config) probeConcurrency() int {
	if c.ProbeConcurrency > 0 {
		return c.ProbeConcurrency
	}
	return DefaultProbeConcurrency
}

func (c Config) probeTimeout() time.Duration {
	if c.ProbeTimeout > 0 {
		return c.ProbeTimeout
	}
	return DefaultProbeTimeout
}

func (c Config) conflictRetries() int {
	if c.ConflictRetries > 0 {
		return c.ConflictRetries
	}
	return DefaultConflictRetries
}
