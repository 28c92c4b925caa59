package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
)

// chaosStack is the dev stack taken apart so its pieces can be broken one
// by one: the Temporal backend (restartable on its database), vcsim,
// gcpfake with its data plane, and N workers as separate processes on one
// task queue, each of which can be killed.
type chaosStack struct {
	temporal temporalBackend
	sim      *sample.Simulator
	fake     *gcpfake.Server
	dc       *httptest.Server // the datacenter side of hybrid NEGs: always 200
	dir      string
	plan     *devstack.DevPlan
	workers  []*workerProc
	// data serves the replicate app's sources in the fake M2VM, as ferry
	// dev does (its cutover jobs power sources off in the simulator).
	data *devstack.DataStack
}

// temporalBackend is the Temporal cluster a chaos stack runs on: the dev
// server (devBackend) or the production-shaped stack (prodBackend).
type temporalBackend interface {
	Client(t testing.TB) client.Client
	// Restart stops the cluster and starts it again on the same database
	// and address; it may be called from any goroutine.
	Restart() error
	// WorkerArgs are `ferry worker`'s connection flags.
	WorkerArgs() []string
	String() string
}

// devBackend is the Temporal dev server (SQLite file, plaintext).
type devBackend struct{ *devServer }

func (d devBackend) Restart() error       { d.devServer.Restart(); return nil }
func (d devBackend) WorkerArgs() []string { return []string{"--temporal-address", d.HostPort()} }
func (d devBackend) String() string       { return "dev server" }

// startChaosStack starts vcsim, gcpfake and `workers` worker processes
// against backend.
func startChaosStack(ctx context.Context, t *testing.T, backend temporalBackend, workers int) *chaosStack {
	t.Helper()
	tfBin, tfCfg := testenv.Terraform(t)
	bin := ferry(t)
	cs := &chaosStack{dir: t.TempDir(), temporal: backend}
	p := sample.Generate(sample.Default())
	sim := sample.StartT(t, p)
	cs.sim = sim
	var err error
	dcApp := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(gcpfake.ServedByHeader, "dc")
		_, _ = w.Write([]byte("ok from the datacenter\n"))
	})
	cs.dc = httptest.NewServer(dcApp)
	t.Cleanup(cs.dc.Close)
	// Apps on a TLS port serve TLS in the datacenter too (plan init gives
	// them an https health check, so the load balancer speaks TLS).
	dcTLS := httptest.NewTLSServer(dcApp)
	t.Cleanup(dcTLS.Close)
	dcAddr, dcTLSAddr := strings.TrimPrefix(cs.dc.URL, "http://"), strings.TrimPrefix(dcTLS.URL, "https://")
	hybrid := func(_ string, port int) string {
		if slices.Contains(plan.TLSPorts, port) {
			return dcTLSAddr
		}
		return dcAddr
	}
	cs.data = devstack.NewDataStack(sim.Config())
	cs.fake = gcpfake.StartT(t, gcpfake.Options{DataPlane: true, Hybrid: hybrid, M2VM: cs.data.M2VMOptions()})
	if err := writeChaosInputs(ctx, cs.dir, p, sim.Config()); err != nil {
		t.Fatal(err)
	}
	if cs.plan, err = devstack.LoadPlan(cs.dir); err != nil {
		t.Fatal(err)
	}
	pl := cs.plan.Plan
	if pl.GCP.Backend.Type == "gcs" && pl.GCP.Backend.Bucket != "" {
		cs.fake.CreateBucket(pl.GCP.Backend.Bucket)
	}
	vc := sim.Config()
	env := append(os.Environ(),
		"GOVC_URL="+vc.URL, "GOVC_USERNAME="+vc.Username, "GOVC_PASSWORD="+vc.Password, "GOVC_INSECURE=1",
		"FERRY_GCP_PROJECT="+pl.GCP.Project, "FERRY_GCP_REGION="+pl.GCP.Region,
		"FERRY_GCP_COMPUTE_ENDPOINT="+cs.fake.ComputeEndpoint(), "FERRY_GCP_DNS_ENDPOINT="+cs.fake.DNSEndpoint(),
		"FERRY_GCP_STORAGE_ENDPOINT="+cs.fake.StorageEndpoint(), "FERRY_GCP_VMMIGRATION_ENDPOINT="+cs.fake.M2VMEndpoint(),
		"FERRY_TERRAFORM="+tfBin, "TF_CLI_CONFIG_FILE="+tfCfg,
		"FERRY_FLOWS="+filepath.Join(cs.dir, "flows.csv"), "FERRY_PLAN_DIR="+cs.dir,
		"FERRY_PLAN_STORE="+filepath.Join(cs.dir, "plans"))
	for i := range workers {
		// Each worker has its own state directory, as on its own host:
		// they share only Temporal, the plan store and the GCS state.
		name := "worker"
		if workers > 1 {
			name = fmt.Sprintf("worker-%d", i+1)
		}
		state := filepath.Join(cs.dir, name)
		w := &workerProc{t: t, name: name, bin: bin, stateDir: state, log: filepath.Join(cs.dir, name+".log"),
			args: append(append([]string{"worker"}, backend.WorkerArgs()...), "--state-dir", state), env: env}
		w.start()
		t.Cleanup(w.stop)
		cs.workers = append(cs.workers, w)
	}
	return cs
}

// writeChaosInputs writes what `ferry dev` writes in its state directory:
// the discovered inventory, the flows and a plan from `plan init`.
func writeChaosInputs(ctx context.Context, dir string, p *sample.Portfolio, vc inventory.Config) error {
	cl, err := inventory.Connect(ctx, vc)
	if err != nil {
		return err
	}
	defer func() { _ = cl.Close(context.WithoutCancel(ctx)) }()
	inv, err := inventory.Discover(ctx, cl, inventory.DefaultOptions())
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(inv, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "inventory.json"), b, 0o600); err != nil {
		return err
	}
	var flows bytes.Buffer
	if err := p.WriteFlows(&flows); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "flows.csv"), flows.Bytes(), 0o600); err != nil {
		return err
	}
	agg := deps.NewAggregator()
	if err := agg.ReadFlowsFile(filepath.Join(dir, "flows.csv"), deps.ParseOptions{}); err != nil {
		return err
	}
	d, err := agg.Analyze(inv, deps.Options{})
	if err != nil {
		return err
	}
	src, err := devstack.DevPeople(dir, plan.Init(inv, d), inv) // keys and person blocks, as ferry dev
	if err != nil {
		return err
	}
	// The data strategies of the dev plan: catalog-db replicates, payments-db syncs.
	if src, err = devstack.DevData(dir, src, inv); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "ferry.hcl"), src, 0o600)
}

// chaosApps picks n lb apps with datacenter endpoints, fewest VMs first.
func chaosApps(specs []plan.AppSpec, n int) []plan.AppSpec {
	var out []plan.AppSpec
	for _, s := range specs {
		if s.Cutover.Strategy == "lb" && len(s.Cutover.DCEndpoints) > 0 {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b plan.AppSpec) int { return len(a.VMs) - len(b.VMs) })
	return out[:min(n, len(out))]
}

// workerProc is `ferry worker` as a child process in its own process
// group. Its terraform children are started by terraform-exec with
// Pdeathsig=SIGKILL and their own process group, so they die with the
// worker whatever we signal: a kill mid-apply leaves the state lock held.
type workerProc struct {
	t                        *testing.T
	name, bin, stateDir, log string
	args, env                []string
	mu                       sync.Mutex
	cmd                      *exec.Cmd
	done                     chan struct{}
	starts                   int
}

func (w *workerProc) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		w.t.Error(err)
		return
	}
	w.starts++
	fmt.Fprintf(f, "\n=== worker start %d at %s ===\n", w.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(w.bin, w.args...)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		w.t.Error(err)
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	w.cmd, w.done = cmd, done
}

// kill SIGKILLs the worker's process group and waits for the worker.
func (w *workerProc) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		return
	}
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.done
	w.cmd = nil
}

func (w *workerProc) stop() { w.kill() }

// pid is the running worker's pid, 0 when none runs.
func (w *workerProc) pid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cmd == nil {
		return 0
	}
	return w.cmd.Process.Pid
}

// terraformApplying reports whether a `terraform apply` runs under dir
// (the worker's state directory), read from /proc.
func terraformApplying(dir string) bool {
	for _, l := range leftovers(dir) {
		_, cl, _ := strings.Cut(l, ": ")
		f := strings.Fields(cl)
		if len(f) > 1 && strings.HasSuffix(f[0], "terraform") && slices.Contains(f[1:], "apply") {
			return true
		}
	}
	return false
}
