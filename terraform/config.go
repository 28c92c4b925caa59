// Package terraform renders each app's GCP infrastructure as a Terraform
// root module (hclwrite and cty only) and runs the real terraform binary on
// it through terraform-exec.
package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
)

// Config says where terraform runs. It holds no secret.
type Config struct {
	Binary        string `json:"binary"`        // path to terraform
	CLIConfigFile string `json:"cliConfigFile"` // TF_CLI_CONFIG_FILE (provider mirror)
	WorkRoot      string `json:"workRoot"`      // one working directory per app below it
	// LockFile is a reviewed .terraform.lock.hcl copied into every module
	// (FERRY_TERRAFORM_LOCK_FILE). Without it the lock is built from the
	// CLI configuration's filesystem mirror; with neither, terraform init
	// writes its own and workers may differ in provider.
	LockFile string `json:"lockFile,omitempty"`
}

// ConfigFromEnv builds the runner configuration of a worker: the binary
// from FERRY_TERRAFORM or PATH, the CLI config (provider mirror) from
// TF_CLI_CONFIG_FILE, the provider lock file from FERRY_TERRAFORM_LOCK_FILE,
// and working directories under stateDir/terraform (env
// FERRY_TERRAFORM_WORKDIR overrides).
func ConfigFromEnv(stateDir string) Config {
	c := Config{Binary: os.Getenv("FERRY_TERRAFORM"), CLIConfigFile: os.Getenv("TF_CLI_CONFIG_FILE"),
		WorkRoot: os.Getenv("FERRY_TERRAFORM_WORKDIR"), LockFile: os.Getenv("FERRY_TERRAFORM_LOCK_FILE")}
	if c.Binary == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			c.Binary = p
		}
	}
	if c.WorkRoot == "" {
		c.WorkRoot = filepath.Join(stateDir, "terraform")
	}
	return c
}
