package test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/internal/prodstack"
	"github.com/ferrymigrate/ferry/internal/tlstest"
)

// `ferry status` and `ferry worker` reach a real Temporal server (built
// from go.temporal.io/server, PostgreSQL, frontend serving mTLS only) with
// Temporal's TEMPORAL_* settings and with ferry's flags; a client
// certificate the cluster's CA did not sign, none, or no TLS at all fails
// naming what to fix.
func TestConnectOverMTLSProdStack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: Temporal server and PostgreSQL")
	}
	ctx := context.Background()
	st := prodstack.Start(t, prodstack.Options{})
	dir := t.TempDir()
	status := []string{"status", "-f", samplePlan(ctx, t, dir), "--sample"}
	stranger := tlstest.NewCA(t, "someone-elses-ca").Client(t, "stranger")
	addr := st.HostPort()

	for _, c := range []struct {
		name string
		env  []string
		args []string
	}{
		{"TEMPORAL_ variables", cleanEnv(dir, st.TemporalEnv()...), status},
		{"ferry flags", cleanEnv(dir), append(st.FerryFlags(), status...)},
	} {
		t.Run("status/"+c.name, func(t *testing.T) {
			out, err := runFerry(ctx, t, c.env, c.args...)
			if err != nil || !strings.Contains(out, "NotStarted") {
				t.Fatalf("ferry status over mTLS to the Temporal server: %v\n%s", err, out)
			}
		})
	}
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"client certificate of another CA", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+st.CA.CAFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+stranger.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH="+stranger.KeyFile),
			"refused the client certificate " + stranger.CertFile},
		{"no client certificate", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+st.CA.CAFile),
			"requires a client certificate"},
		{"plaintext", cleanEnv(dir, "TEMPORAL_ADDRESS="+addr), "probably requires TLS"},
	} {
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
		out, err := runFerry(ctx, t, workerEnv("TEMPORAL_ADDRESS="+addr, "TEMPORAL_TLS_SERVER_CA_CERT_PATH="+st.CA.CAFile,
			"TEMPORAL_TLS_CLIENT_CERT_PATH="+stranger.CertFile, "TEMPORAL_TLS_CLIENT_KEY_PATH="+stranger.KeyFile), "worker")
		if err == nil || !strings.Contains(out, "refused the client certificate") {
			t.Fatalf("worker with a stranger's certificate: %v\n%s", err, out)
		}
	})
	t.Run("worker/mTLS", func(t *testing.T) {
		workerPolls(ctx, t, st.Client(t), workerEnv(st.TemporalEnv()...), filepath.Join(dir, "worker.log"))
	})
}

// TestChaosOnProdStack is the chaos run on the production-shaped cluster
// with several `ferry worker` processes on one task queue: a wave runs end
// to end while one worker is SIGKILLed mid-terraform-apply, another
// mid-cutover, and the Temporal server is restarted once; every app ends
// as its role says, nothing is duplicated or orphaned in gcpfake, no
// approval is lost (checkChaos). `make soak` runs it long (FERRY_SOAK=1).
func TestChaosOnProdStack(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: end-to-end on the Temporal server and PostgreSQL")
	}
	runChaos(t, prodChaosSettings(), startProdBackend)
}
