// Package browser holds ferry's tests in a real browser (Debian chromium
// driven by chromedp): the dashboard with a seeded set of migrations, and a
// cutover approved through the Temporal UI's "Send a Signal". Both run
// against one `ferry dev` stack (devstack.Run: Temporal dev server + UI,
// vcsim with the sample portfolio, gcpfake, the real worker) started once.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
)

// stack is the shared dev stack and the plan it wrote.
type stack struct {
	devstack.Stack
	UIPort int
	C      client.Client
	Plan   *plan.Plan
	Specs  []plan.AppSpec
	Deps   *deps.Result
}

var shared struct {
	once   sync.Once
	st     *stack
	err    error
	cancel context.CancelFunc
	done   chan error
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		<-shared.done
	}
	if shared.st != nil {
		shared.st.C.Close()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// devStack starts `ferry dev` in-process once for all tests of the package.
func devStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests start the dev stack and chromium: not in -short")
	}
	temporalBin := testenv.Temporal(t)
	tfBin, tfConfig := testenv.Terraform(t)
	shared.once.Do(func() { shared.st, shared.err = startStack(temporalBin, tfBin, tfConfig) })
	if shared.err != nil {
		t.Fatalf("dev stack: %v", shared.err)
	}
	return shared.st
}

func startStack(temporalBin, tfBin, tfConfig string) (*stack, error) {
	dir, err := os.MkdirTemp("", "ferry-browser-")
	if err != nil {
		return nil, err
	}
	shared.dir = dir
	tport, err := freePort()
	if err != nil {
		return nil, err
	}
	uport, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "devstack.log"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	shared.cancel = cancel
	shared.done = make(chan error, 1)
	ready := make(chan devstack.Stack, 1)
	opts := devstack.Options{
		StateDir: filepath.Join(dir, "state"), Namespace: "default",
		TemporalBin: temporalBin, TemporalPort: tport, UIPort: uport,
		TerraformBin: tfBin, TerraformConfig: tfConfig,
		StartedBy: "ferry-browser-test", Out: io.Discard,
		Log:   slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Ready: func(s devstack.Stack) { ready <- s },
	}
	go func() { shared.done <- devstack.Run(ctx, opts) }()
	var ds devstack.Stack
	select {
	case ds = <-ready:
	case err := <-shared.done:
		shared.done <- err
		return nil, fmt.Errorf("ferry dev stopped during start-up: %v (log %s)", err, logf.Name())
	case <-time.After(3 * time.Minute):
		return nil, fmt.Errorf("ferry dev not ready within 3 minutes (log %s)", logf.Name())
	}
	st := &stack{Stack: ds, UIPort: uport}
	st.Plan, st.Specs, st.Deps, err = loadDevPlan(ctx, ds.StateDir)
	if err != nil {
		return nil, err
	}
	st.C, err = client.DialContext(ctx, client.Options{HostPort: ds.TemporalAddress, Namespace: "default",
		Logger: slog.New(slog.NewTextHandler(logf, nil))})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// loadDevPlan reads what `ferry dev` wrote in its state directory: the
// inventory, the flows and the plan, resolved as the CLI resolves them.
func loadDevPlan(_ context.Context, dir string) (*plan.Plan, []plan.AppSpec, *deps.Result, error) {
	var inv inventory.Inventory
	b, err := os.ReadFile(filepath.Join(dir, "inventory.json"))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := jsonUnmarshal(b, &inv); err != nil {
		return nil, nil, nil, err
	}
	agg := deps.NewAggregator()
	if err := agg.ReadFlowsFile(filepath.Join(dir, "flows.csv"), deps.ParseOptions{}); err != nil {
		return nil, nil, nil, err
	}
	d, err := agg.Analyze(&inv, deps.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	file := filepath.Join(dir, "ferry.hcl")
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, nil, err
	}
	p, diags := plan.Parse(file, src)
	if p != nil {
		diags = append(diags, plan.Validate(p, &inv, d)...)
	}
	if diags.HasErrors() {
		var buf bytes.Buffer
		_ = plan.WriteDiagnostics(&buf, file, src, diags)
		return nil, nil, nil, fmt.Errorf("dev plan: %s", buf.String())
	}
	specs, _ := plan.Resolve(p, &inv, d)
	return p, specs, d, nil
}
