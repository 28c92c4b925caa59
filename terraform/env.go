package terraform

import (
	"os"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// terraform and the google provider it starts run with an allowlisted
// environment, not the worker's: the worker holds the vCenter password,
// the payload codec key and the webhook URL, and terraform, its providers
// and their crash logs have no business seeing them.
var (
	// envExact are the variables passed through by exact name.
	envExact = map[string]bool{
		"PATH": true, "HOME": true, "TMPDIR": true,
		"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true,
		"http_proxy": true, "https_proxy": true, "no_proxy": true,
		"TF_CLI_CONFIG_FILE": true, "TF_PLUGIN_CACHE_DIR": true, "CHECKPOINT_DISABLE": true,
	}
	// envPrefixes are the families passed through: Application Default
	// Credentials, project and region settings of the provider and gcloud.
	envPrefixes = []string{"GOOGLE_", "CLOUDSDK_"}
	// envNever are worker secrets, refused even if a rule above ever
	// matched them.
	envNever = map[string]bool{
		"GOVC_PASSWORD": true, "FERRY_CODEC_KEY": true, "FERRY_CODEC_KEY_FILE": true, "FERRY_WEBHOOK_URL": true,
	}
)

// envAllowed reports whether terraform may inherit the worker's variable k.
func envAllowed(k string) bool {
	if envNever[k] {
		return false
	}
	if envExact[k] {
		return true
	}
	for _, p := range envPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// childEnv is terraform's environment built from the worker's (environ,
// os.Environ's form) and what ferry sets itself. TF_LOG and TF_LOG_PATH are
// returned apart: terraform-exec manages them (SetLog, SetLogPath) and
// refuses them in SetEnv. TF_IN_AUTOMATION is always set by terraform-exec.
func childEnv(environ []string, cfg Config) (env map[string]string, logLevel, logPath string) {
	env = map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case k == "TF_LOG":
			logLevel = v
		case k == "TF_LOG_PATH":
			logPath = v
		case envAllowed(k):
			env[k] = v
		}
	}
	env["CHECKPOINT_DISABLE"] = "1"
	if cfg.CLIConfigFile != "" {
		env["TF_CLI_CONFIG_FILE"] = cfg.CLIConfigFile
	}
	return env, logLevel, logPath
}

// setEnv gives tf the allowlisted environment. A non-nil map given to
// SetEnv replaces os.Environ entirely in terraform-exec's buildEnv, which
// is what makes the allowlist hold.
func setEnv(tf *tfexec.Terraform, cfg Config) error {
	env, level, path := childEnv(os.Environ(), cfg)
	if err := tf.SetEnv(env); err != nil {
		return err
	}
	if path == "" {
		return nil // terraform-exec blanks TF_LOG without a path: logs would pollute stderr
	}
	if level != "" {
		if err := tf.SetLog(level); err != nil {
			return err
		}
	}
	return tf.SetLogPath(path)
}
