package test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/internal/tlstest"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/workflows"
)

// cleanEnv is the test's environment without any setting that would steer
// ferry's connection or worker, and without the user's temporal.toml.
func cleanEnv(dir string, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FERRY_") || strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "GOVC_") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "TEMPORAL_CONFIG_FILE="+filepath.Join(dir, "no-temporal.toml"), "FERRY_STATE_DIR="+filepath.Join(dir, "state"))
	return append(out, extra...)
}

// runFerry runs the ferry binary and returns its combined output.
func runFerry(ctx context.Context, t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferry(t), args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// `ferry status` and `ferry worker` reach a Temporal frontend that serves
// mTLS only (the dev server behind a TLS-terminating proxy that requires
// and verifies client certificates), with the settings Temporal's CLI
// reads, with ferry's flags and with a temporal.toml profile; wrong
// certificates fail with an error that says which setting to fix.
func TestConnectOverMTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: Temporal dev server")
	}
	ctx := context.Background()
	dev := startDevServer(t)
	ca := tlstest.NewCA(t, "cluster-ca")
	other := tlstest.NewCA(t, "someone-elses-ca")
	srv := ca.Server(t, "frontend", "127.0.0.1", "frontend.cluster.internal")
	good := ca.Client(t, "ferry-cli")
	stranger := other.Client(t, "stranger")
	addr := tlstest.StartProxy(t, dev.HostPort(), tlstest.ServerConfig(srv, ca.Pool))

	dir := t.TempDir()
	status := []string{"status", "-f", samplePlan(ctx, t, dir), "--sample"}

	temporalEnv := []string{"TEMPORAL_ADDRESS=" + addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + ca.CAFile,
		"TEMPORAL_TLS_CLIENT_CERT_PATH=" + good.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH=" + good.KeyFile}
	toml := filepath.Join(dir, "temporal.toml")
	if err := os.WriteFile(toml, []byte(`[profile.cluster]
address = "`+addr+`"
namespace = "default"
[profile.cluster.tls]
server_ca_cert_path = "`+ca.CAFile+`"
client_cert_path = "`+good.CertFile+`"
client_key_path = "`+good.KeyFile+`"
server_name = "frontend.cluster.internal"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		name string
		env  []string
		args []string
	}{
		{"TEMPORAL_ variables", cleanEnv(dir, temporalEnv...), status},
		{"ferry flags", cleanEnv(dir), append([]string{"--temporal-address", addr, "--tls-ca", ca.CAFile, "--tls-cert", good.CertFile,
			"--tls-key", good.KeyFile, "--tls-server-name", "frontend.cluster.internal"}, status...)},
		{"FERRY_ variables", cleanEnv(dir, "FERRY_TEMPORAL_ADDRESS="+addr, "FERRY_TLS_CA="+ca.CAFile, "FERRY_TLS_CERT="+good.CertFile,
			"FERRY_TLS_KEY="+good.KeyFile), status},
		{"temporal.toml profile", append(cleanEnv(dir), "TEMPORAL_CONFIG_FILE="+toml, "TEMPORAL_PROFILE=cluster"), status},
	}
	for _, c := range ok {
		t.Run("status/"+c.name, func(t *testing.T) {
			out, err := runFerry(ctx, t, c.env, c.args...)
			if err != nil || !strings.Contains(out, "NotStarted") {
				t.Fatalf("ferry status over mTLS: %v\n%s", err, out)
			}
		})
	}

	bad := []struct {
		name string
		env  []string
		want string
	}{
		{"client certificate of another CA", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+ca.CAFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+stranger.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH="+stranger.KeyFile),
			"refused the client certificate " + stranger.CertFile},
		{"no client certificate", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+ca.CAFile),
			"requires a client certificate"},
		{"server CA unknown", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+other.CAFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+good.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH="+good.KeyFile),
			"the server's certificate is not signed by the CA in " + other.CAFile},
		{"server name mismatch", cleanEnv(dir, "FERRY_TEMPORAL_ADDRESS="+addr, "FERRY_TLS_CA="+ca.CAFile, "FERRY_TLS_CERT="+good.CertFile,
			"FERRY_TLS_KEY="+good.KeyFile, "FERRY_TLS_SERVER_NAME=temporal.elsewhere.internal"), "set --tls-server-name"},
		{"plaintext", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr), "probably requires TLS"},
	}
	for _, c := range bad {
		t.Run("status/"+c.name, func(t *testing.T) {
			out, err := runFerry(ctx, t, c.env, status...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("want a failure saying %q, got %v:\n%s", c.want, err, out)
			}
			t.Logf("%s", strings.TrimSpace(out))
		})
	}

	plans := t.TempDir()
	workerEnv := func(extra ...string) []string {
		return cleanEnv(dir, append([]string{"GOVC_URL=https://vcenter.invalid/sdk", "GOVC_USERNAME=u", "GOVC_PASSWORD=p",
			"FERRY_PLAN_STORE=" + plans}, extra...)...)
	}
	t.Run("worker/refused certificate", func(t *testing.T) {
		out, err := runFerry(ctx, t, workerEnv("TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+ca.CAFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+stranger.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH="+stranger.KeyFile), "worker")
		if err == nil || !strings.Contains(out, "refused the client certificate") {
			t.Fatalf("worker with a stranger's certificate: %v\n%s", err, out)
		}
	})
	t.Run("worker/mTLS", func(t *testing.T) {
		workerPolls(ctx, t, dev.Client(t), workerEnv(temporalEnv...), filepath.Join(dir, "worker.log"))
	})
}

// samplePlan writes into dir the plan `ferry plan init --sample` proposes,
// with the approvers' keys a reviewer would add (ferry dev's throwaway
// ones), and returns its path.
func samplePlan(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	planFile := filepath.Join(dir, "ferry.hcl")
	out, err := runFerry(ctx, t, cleanEnv(dir), "plan", "init", "--sample")
	if err != nil {
		t.Fatalf("plan init: %v\n%s", err, out)
	}
	invFile := filepath.Join(dir, "inventory.json")
	if o, err := runFerry(ctx, t, cleanEnv(dir), "discover", "--sample", "-o", "json", "--out", invFile); err != nil {
		t.Fatalf("discover: %v\n%s", err, o)
	}
	inv, err := inventory.Load(invFile)
	if err != nil {
		t.Fatal(err)
	}
	withKeys, err := devstack.DevPeople(dir, []byte(out), inv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planFile, withKeys, 0o600); err != nil {
		t.Fatal(err)
	}
	return planFile
}

// workerPolls runs `ferry worker` with env until the frontend (seen
// through c) lists it as a poller of ferry's task queue, checks its log
// says it connected over mTLS, and stops it.
func workerPolls(ctx context.Context, t *testing.T, c client.Client, env []string, logPath string) {
	t.Helper()
	cmd := exec.Command(ferry(t), "worker")
	cmd.Env = env
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	logText := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(45 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil && len(resp.Pollers) > 0 {
			t.Logf("poller %s", resp.Pollers[0].Identity)
			break
		}
		select {
		case <-exited:
			t.Fatalf("worker exited: %v\n%s", waitErr, logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker polls %s after 60s (%v)\n%s", workflows.TaskQueue, err, logText())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(logText(), "mTLS") {
		t.Errorf("the worker's log does not say it connected over mTLS:\n%s", logText())
	}
}
