// Package testenv finds the pinned external tools (./bin from `make tools`)
// for integration tests. Under `make test` (FERRY_REQUIRE_TOOLS=1) a missing
// tool fails the test; a bare `go test` skips it with a message.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir returns ./bin of the repository.
func BinDir() string { return filepath.Join(Root(), "bin") }

func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("FERRY_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is missing: run `make tools` (make test requires it)", what)
	}
	t.Skipf("%s is missing: run `make tools`, or `make test` which builds it", what)
}

// Terraform returns the terraform binary and the CLI config file that
// points the google provider at the local filesystem mirror.
func Terraform(t testing.TB) (bin, cliConfig string) {
	t.Helper()
	bin = filepath.Join(BinDir(), "terraform")
	if _, err := os.Stat(bin); err != nil {
		missing(t, "terraform ("+bin+")")
	}
	cliConfig = filepath.Join(BinDir(), "terraformrc")
	if _, err := os.Stat(cliConfig); err != nil {
		missing(t, "the google provider mirror ("+cliConfig+")")
	}
	return bin, cliConfig
}

// Temporal returns the Temporal CLI binary (dev server).
func Temporal(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(BinDir(), "temporal")
	if _, err := os.Stat(bin); err != nil {
		missing(t, "the temporal CLI ("+bin+")")
	}
	return bin
}

// Chromium returns the browser binary for chromedp tests.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("FERRY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("FERRY_NO_CHROMIUM") == "1" {
		t.Skip("SKIPPING BROWSER TEST: chromium could not be installed (not root); see make test output")
	}
	missing(t, "chromium")
	return ""
}

// TerraformEnv returns the environment terraform needs offline.
func TerraformEnv(cliConfig string) map[string]string {
	return map[string]string{
		"TF_CLI_CONFIG_FILE": cliConfig,
		"CHECKPOINT_DISABLE": "1",
		"TF_IN_AUTOMATION":   "1",
	}
}
