// Package testenv finds the pinned external tools (./bin from `make tools`)
// for integration tests. Under `make test` (FERRY_REQUIRE_TOOLS=1) a missing
// tool fails the test; a bare `go test` skips it with a message.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
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

// DevServer starts the Temporal dev server (in memory, loopback, headless)
// with ferry's search attributes registered, stops it when the test ends,
// and returns its frontend host:port. It skips (or fails under make test)
// without ./bin/temporal.
func DevServer(t testing.TB, searchAttributes []string) string {
	t.Helper()
	bin := Temporal(t)
	port := FreePort(t)
	args := append([]string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--http-port", strconv.Itoa(FreePort(t)), "--metrics-port", strconv.Itoa(FreePort(t)), "--log-level", "error"}, searchAttributes...)
	logFile := filepath.Join(t.TempDir(), "server.log")
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = logf.Close() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
		if err == nil {
			_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("temporal dev server did not come up on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
