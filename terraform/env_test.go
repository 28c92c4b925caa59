package terraform

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/plan"
)

// fakeTerraform writes a terraform stand-in that answers `version -json`
// as terraform 1.11.4 does and, for any other subcommand, records the
// environment it was started with (from /proc, exactly what exec gave it)
// into envFile.
func fakeTerraform(t *testing.T, envFile string) string {
	t.Helper()
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc to read the child's environment")
	}
	bin := filepath.Join(t.TempDir(), "terraform")
	script := `#!/bin/sh
if [ "$1" = "version" ]; then
  echo '{"terraform_version":"1.11.4","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
  exit 0
fi
tr '\0' '\n' < /proc/$$/environ > '` + envFile + `'
exit 0
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// The worker's secrets never reach terraform: Runner.Init runs the
// stand-in through the same code path as the real binary, and the
// environment it received holds only allowlisted variables.
func TestTerraformEnvironmentAllowlist(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	bin := fakeTerraform(t, envFile)
	secrets := map[string]string{
		"GOVC_PASSWORD":         "vc-secret-7731",
		"FERRY_CODEC_KEY":       "codec-secret-9921",
		"FERRY_CODEC_KEY_FILE":  "/secret/keyring-4410",
		"FERRY_WEBHOOK_URL":     "https://hooks.example.com/secret-5512",
		"AWS_SECRET_ACCESS_KEY": "aws-secret-6620",
		"TF_VAR_password":       "tfvar-secret-8830",
		"TF_CLI_ARGS":           "-var=secret-1142",
		"DATABASE_URL":          "postgres://u:secret-3391@db/x",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	allowed := map[string]string{
		"GOOGLE_APPLICATION_CREDENTIALS": "/etc/gcp/adc.json",
		"CLOUDSDK_CORE_PROJECT":          "acme",
		"HTTPS_PROXY":                    "http://proxy:3128",
		"https_proxy":                    "http://proxy:3128",
		"NO_PROXY":                       "127.0.0.1",
		"no_proxy":                       "127.0.0.1",
		"TF_PLUGIN_CACHE_DIR":            "/var/cache/tf",
		"TMPDIR":                         os.TempDir(),
	}
	for k, v := range allowed {
		t.Setenv(k, v)
	}
	logPath := filepath.Join(t.TempDir(), "tf.log")
	t.Setenv("TF_LOG", "DEBUG")
	t.Setenv("TF_LOG_PATH", logPath)

	rc := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(rc, []byte("disable_checkpoint = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := exampleSpecs(t)[0]
	spec.Backend = plan.Backend{Type: "local"}
	r, err := NewRunner(Config{Binary: bin, CLIConfigFile: rc, WorkRoot: t.TempDir()}, fakeGCP, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(context.Background()); err != nil {
		t.Fatalf("init with the stand-in: %v", err)
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("the stand-in recorded no environment: %v", err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	// Set by terraform-exec itself on every run.
	managed := map[string]bool{"TF_APPEND_USER_AGENT": true, "TF_IN_AUTOMATION": true,
		"TF_LOG": true, "TF_LOG_CORE": true, "TF_LOG_PATH": true, "TF_LOG_PROVIDER": true}
	var extra []string
	for k := range got {
		if !envAllowed(k) && !managed[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("terraform inherited variables outside the allowlist: %v", extra)
	}
	for k, v := range secrets {
		if _, ok := got[k]; ok {
			t.Errorf("terraform inherited %s", k)
		}
		if strings.Contains(string(b), v) {
			t.Errorf("the value of %s reached terraform's environment", k)
		}
	}
	for k, v := range allowed {
		if got[k] != v {
			t.Errorf("%s = %q in terraform's environment, want %q", k, got[k], v)
		}
	}
	for k, v := range map[string]string{"TF_CLI_CONFIG_FILE": rc, "CHECKPOINT_DISABLE": "1",
		"TF_IN_AUTOMATION": "1", "TF_LOG": "DEBUG", "TF_LOG_PATH": logPath, "PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")} {
		if got[k] != v {
			t.Errorf("%s = %q in terraform's environment, want %q", k, got[k], v)
		}
	}
}

func TestEnvAllowed(t *testing.T) {
	for k, want := range map[string]bool{
		"PATH": true, "HOME": true, "GOOGLE_CREDENTIALS": true, "CLOUDSDK_CONFIG": true, "http_proxy": true,
		"TF_CLI_CONFIG_FILE": true, "TF_PLUGIN_CACHE_DIR": true,
		"GOVC_PASSWORD": false, "GOVC_URL": false, "FERRY_CODEC_KEY": false, "FERRY_CODEC_KEY_FILE": false,
		"FERRY_WEBHOOK_URL": false, "TF_VAR_x": false, "TF_CLI_ARGS": false, "SSH_AUTH_SOCK": false, "USER": false,
		"GOOGLE": false, "path": false,
	} {
		if got := envAllowed(k); got != want {
			t.Errorf("envAllowed(%q) = %v, want %v", k, got, want)
		}
	}
}
