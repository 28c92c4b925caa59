package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/terraform"
)

// Environment variables the worker reads. Secrets (GOVC_PASSWORD, the
// webhook URL, Application Default Credentials) stay in the worker's
// environment and never enter a workflow payload.
const (
	EnvGCPProject      = "FERRY_GCP_PROJECT"
	EnvGCPRegion       = "FERRY_GCP_REGION"
	EnvComputeEndpoint = "FERRY_GCP_COMPUTE_ENDPOINT"
	EnvDNSEndpoint     = "FERRY_GCP_DNS_ENDPOINT"
	EnvStorageEndpoint = "FERRY_GCP_STORAGE_ENDPOINT"
	EnvTerraform       = "FERRY_TERRAFORM"
	EnvFlows           = "FERRY_FLOWS"
	EnvWebhookURL      = "FERRY_WEBHOOK_URL"
	EnvUIURL           = "FERRY_UI_URL"
)

// ActivitiesFromEnv builds the activities' dependencies from the worker's
// environment. stateDir holds the per-app terraform working directories.
func ActivitiesFromEnv(stateDir, namespace string) (*activities.Activities, error) {
	vc, err := inventory.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	tf := os.Getenv(EnvTerraform)
	if tf == "" {
		tf = "terraform"
	}
	work, err := filepath.Abs(filepath.Join(stateDir, "terraform"))
	if err != nil {
		return nil, fmt.Errorf("state dir %s: %w", stateDir, err)
	}
	a := &activities.Activities{
		VCenter: vc,
		GCP: gcp.Config{
			Project:         os.Getenv(EnvGCPProject),
			Region:          os.Getenv(EnvGCPRegion),
			ComputeEndpoint: os.Getenv(EnvComputeEndpoint),
			DNSEndpoint:     os.Getenv(EnvDNSEndpoint),
			StorageEndpoint: os.Getenv(EnvStorageEndpoint),
		},
		Terraform: terraform.Config{Binary: tf, CLIConfigFile: os.Getenv("TF_CLI_CONFIG_FILE"), WorkRoot: work},
	}
	// Relative hook working directories are relative to the plan's folder.
	a.Hooks.BaseDir, _ = filepath.Abs(os.Getenv("FERRY_PLAN_DIR"))
	a.Notify.WebhookURL = os.Getenv(EnvWebhookURL)
	a.Notify.UIBaseURL = os.Getenv(EnvUIURL)
	a.Notify.Namespace = namespace
	for _, f := range strings.Split(os.Getenv(EnvFlows), string(os.PathListSeparator)) {
		if f = strings.TrimSpace(f); f != "" {
			a.Flows = append(a.Flows, f)
		}
	}
	return a, nil
}
