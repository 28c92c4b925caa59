package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/notify"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
)

// Environment variables the worker reads (besides GOVC_*, TF_CLI_CONFIG_FILE,
// FERRY_TERRAFORM, FERRY_WEBHOOK_URL and FERRY_UI_URL, read by their
// packages). Secrets (GOVC_PASSWORD, the webhook URL, Application Default
// Credentials) stay in the worker's environment and never enter a workflow
// payload.
const (
	EnvGCPProject      = "FERRY_GCP_PROJECT"
	EnvGCPRegion       = "FERRY_GCP_REGION"
	EnvComputeEndpoint = "FERRY_GCP_COMPUTE_ENDPOINT"
	EnvDNSEndpoint     = "FERRY_GCP_DNS_ENDPOINT"
	EnvStorageEndpoint = "FERRY_GCP_STORAGE_ENDPOINT"
	// EnvMonitoringEndpoint: the Cloud Monitoring gRPC API as host:port
	// (gcpfake's), read by the SLO watch; empty: Google's.
	EnvMonitoringEndpoint = "FERRY_GCP_MONITORING_ENDPOINT"
	// EnvVMMigrationEndpoint is the Migrate to Virtual Machines gRPC API
	// as host:port (gcpfake's); unset: Google's.
	EnvVMMigrationEndpoint = "FERRY_GCP_VMMIGRATION_ENDPOINT"
	EnvFlows               = "FERRY_FLOWS"
	EnvPlanDir             = "FERRY_PLAN_DIR"
	// EnvPlanStore is where reviewed plans are published (a directory,
	// or gs://bucket/prefix): the only source of what the worker runs.
	EnvPlanStore = "FERRY_PLAN_STORE"
)

// Discovery grouping, as `ferry discover`'s flags of the same names: the
// worker re-reads each app's VMs and must group them the same way.
var groupingEnv = map[string]func(*inventory.Options) *string{
	"FERRY_APP_CATEGORY":        func(o *inventory.Options) *string { return &o.AppCategory },
	"FERRY_APP_ATTRIBUTE":       func(o *inventory.Options) *string { return &o.AppAttribute },
	"FERRY_NAME_RULE":           func(o *inventory.Options) *string { return &o.NameRule },
	"FERRY_OWNER_CATEGORY":      func(o *inventory.Options) *string { return &o.OwnerCategory },
	"FERRY_SQUAD_CATEGORY":      func(o *inventory.Options) *string { return &o.SquadCategory },
	"FERRY_TIER_CATEGORY":       func(o *inventory.Options) *string { return &o.TierCategory },
	"FERRY_RUNBOOK_CATEGORY":    func(o *inventory.Options) *string { return &o.RunbookCategory },
	"FERRY_DEPENDS_ON_CATEGORY": func(o *inventory.Options) *string { return &o.DependsOnCategory },
}

// GroupingFromEnv returns the discovery options the worker's environment
// sets (zero fields: the defaults).
func GroupingFromEnv() inventory.Options {
	var o inventory.Options
	for k, f := range groupingEnv {
		if v := os.Getenv(k); v != "" {
			*f(&o) = v
		}
	}
	return o
}

// ActivitiesFromEnv builds the activities' dependencies from the worker's
// environment. stateDir holds the per-app terraform working directories.
func ActivitiesFromEnv(stateDir, namespace string) (*activities.Activities, error) {
	vc, err := inventory.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	vc.Grouping = GroupingFromEnv()
	// The plan store is opened once; a store that cannot be reached
	// fails each activity (retried), not the worker's start.
	store, err := planstore.Open(context.Background(), os.Getenv(EnvPlanStore), gcp.Config{
		ComputeEndpoint: os.Getenv(EnvComputeEndpoint), StorageEndpoint: os.Getenv(EnvStorageEndpoint)}.StorageOptions()...)
	if err != nil {
		return nil, err
	}
	a := &activities.Activities{
		Plans:   planstore.NewResolver(store),
		VCenter: vc,
		GCP: gcp.Config{
			Project:             os.Getenv(EnvGCPProject),
			Region:              os.Getenv(EnvGCPRegion),
			ComputeEndpoint:     os.Getenv(EnvComputeEndpoint),
			DNSEndpoint:         os.Getenv(EnvDNSEndpoint),
			StorageEndpoint:     os.Getenv(EnvStorageEndpoint),
			VMMigrationEndpoint: os.Getenv(EnvVMMigrationEndpoint),
			MonitoringEndpoint:  os.Getenv(EnvMonitoringEndpoint),
		},
		Terraform: terraform.ConfigFromEnv(stateDir),
		Notify:    notify.ConfigFromEnv(nil),
	}
	// The probes' CAs and DNS server (FERRY_PROBE_ROOT_CAS,
	// FERRY_PROBE_RESOLVER), checked now rather than at the first gate.
	if a.Traffic, err = traffic.ConfigFromEnv(); err != nil {
		return nil, err
	}
	if a.Terraform.WorkRoot, err = filepath.Abs(a.Terraform.WorkRoot); err != nil {
		return nil, err
	}
	if os.Getenv("FERRY_NAMESPACE") == "" {
		a.Notify.Namespace = namespace
	}
	// Relative hook working directories are relative to the plan's folder.
	a.Hooks.BaseDir, _ = filepath.Abs(os.Getenv(EnvPlanDir))
	for _, f := range strings.Split(os.Getenv(EnvFlows), string(os.PathListSeparator)) {
		if f = strings.TrimSpace(f); f != "" {
			a.Flows = append(a.Flows, f)
		}
	}
	return a, nil
}
