// Package browser holds ferry's tests in a real browser (Debian chromium
// driven by chromedp): the dashboard with a seeded set of migrations, and a
// cutover approved through the Temporal UI's "Send a Signal". Both run
// against one `ferry dev` stack (devstack.Run: Temporal dev server + UI,
// vcsim with the sample portfolio, gcpfake, the real worker) started once.
package browser

import (
	"context"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/plan"
	"go.temporal.io/sdk/client"
	"os"
	"sync"
	"testing"

	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/internal/testenv"
)

type stack = devtest.Stack

var shared struct {
	once sync.Once
	st   *stack
	err  error
	dir  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.st != nil {
		shared.st.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// devStack starts `ferry dev` in-process once for all tests of the package.
func devStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests start the dev stack and chromium: not in -short")
	}
	tools := devtest.Tools{Temporal: testenv.Temporal(t)}
	tools.Terraform, tools.TerraformConfig = testenv.Terraform(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "ferry-browser-")
		if shared.err == nil {
			shared.st, shared.err = devtest.Start(shared.dir, tools, nil)
		}
		if shared.err == nil {
			// The reviewed plan of the browser tests: every app fast.
			shared.err = shared.st.Publish(context.Background(), devtest.Fast())
		}
	})
	if shared.err != nil {
		t.Fatalf("dev stack: %v", shared.err)
	}
	return shared.st
}

// person is a ferry client acting as who with the dev stack's key for them.
func person(st *stack, who string) *ferryclient.Client {
	s, err := identity.LoadSigner(devstack.KeyFile(st.StateDir, who))
	if err != nil {
		panic(err)
	}
	return &ferryclient.Client{Temporal: st.C, User: who, Signer: s}
}

// startOn starts s from the stack's published plan on a task queue of the
// test's own worker, as the dev operator.
func startOn(ctx context.Context, st *stack, queue string, s plan.AppSpec) (client.WorkflowRun, error) {
	in := person(st, devstack.Operator)
	in.TaskQueue = queue
	return in.StartMigration(ctx, s, st.PlanDigest)
}
