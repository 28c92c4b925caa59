// Package terraform renders each app's GCP infrastructure as a Terraform
// root module (hclwrite and cty only) and runs the real terraform binary on
// it through terraform-exec.
package terraform

// Config says where terraform runs. It holds no secret.
type Config struct {
	Binary        string `json:"binary"`        // path to terraform
	CLIConfigFile string `json:"cliConfigFile"` // TF_CLI_CONFIG_FILE (provider mirror)
	WorkRoot      string `json:"workRoot"`      // one working directory per app below it
}
