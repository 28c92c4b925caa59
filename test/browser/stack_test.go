// Package browser holds ferry's tests in a real browser (Debian chromium
// driven by chromedp): the dashboard with a seeded set of migrations, and a
// cutover approved through the Temporal UI's "Send a Signal". Both run
// against one `ferry dev` stack (devstack.Run: Temporal dev server + UI,
// vcsim with the sample portfolio, gcpfake, the real worker) started once.
package browser

import (
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
	})
	if shared.err != nil {
		t.Fatalf("dev stack: %v", shared.err)
	}
	return shared.st
}
