// Package traffic shifts an app's traffic between the datacenter and GCP
// (a weighted load balancer URL map, or Cloud DNS) and runs the SLO gate
// after each step.
package traffic

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

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
	// Resolver is a DNS server ("host:port"; port 53 when left out) the
	// SLO gate, the SLO watch's probe and the health checks resolve the
	// app's host names through, instead of the system's: the server that
	// answers with the records clients get (split-horizon DNS), so the
	// gate probes public_url where clients reach it. Prometheus, Cloud
	// Monitoring and the GCP APIs keep the system's resolver
	// (resolver.go).
	Resolver string `json:"resolver,omitempty"`
}

// The worker's environment variables of Config.
const (
	EnvProbeRootCAs     = "FERRY_PROBE_ROOT_CAS"
	EnvResolver         = "FERRY_PROBE_RESOLVER"
	EnvProbeTimeout     = "FERRY_PROBE_TIMEOUT"     // a Go duration, e.g. 10s
	EnvProbeConcurrency = "FERRY_PROBE_CONCURRENCY" // parallel probe requests
	EnvConflictRetries  = "FERRY_CONFLICT_RETRIES"  // re-reads after a fingerprint conflict
	EnvInstanceAddress  = "FERRY_INSTANCE_ADDRESS"  // internal | external
)

// ConfigFromEnv reads the worker's traffic settings from its environment
// and checks them, so a worker with a CA file it cannot read or a
// resolver that is not an address fails at start, not at its first gate.
func ConfigFromEnv() (Config, error) {
	c := Config{ProbeRootCAs: os.Getenv(EnvProbeRootCAs), Resolver: os.Getenv(EnvResolver)}
	if c.Resolver != "" {
		addr, err := resolverAddr(c.Resolver)
		if err != nil {
			return c, fmt.Errorf("%s: %w", EnvResolver, err)
		}
		c.Resolver = addr
	}
	if c.ProbeRootCAs != "" {
		if _, err := rootCAs(c.ProbeRootCAs); err != nil {
			return c, fmt.Errorf("%s: %w", EnvProbeRootCAs, err)
		}
	}
	if v := os.Getenv(EnvProbeTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			return c, fmt.Errorf("%s=%q: want a duration between 1ms and 5m, e.g. 10s", EnvProbeTimeout, v)
		}
		c.ProbeTimeout = d
	}
	for _, n := range []struct {
		env string
		to  *int
		max int
	}{{EnvProbeConcurrency, &c.ProbeConcurrency, 256}, {EnvConflictRetries, &c.ConflictRetries, 100}} {
		if v := os.Getenv(n.env); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < 1 || i > n.max {
				return c, fmt.Errorf("%s=%q: want a whole number from 1 to %d", n.env, v, n.max)
			}
			*n.to = i
		}
	}
	switch v := os.Getenv(EnvInstanceAddress); v {
	case "", "internal", "external":
		c.InstanceAddress = v
	default:
		return c, fmt.Errorf("%s=%q: want internal or external (empty: external when the instance has one)", EnvInstanceAddress, v)
	}
	return c, nil
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
