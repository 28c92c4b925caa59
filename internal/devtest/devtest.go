// Package devtest starts the `ferry dev` stack in-process for end-to-end
// tests: the Temporal dev server, vcsim with the sample portfolio,
// gcpfake and the real worker, on free loopback ports, plus a client.
package devtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/devstack"
)

// Stack is a running dev stack and the plan it wrote.
type Stack struct {
	devstack.Stack
	*devstack.DevPlan
	UIPort int
	C      client.Client
	// Log is the stack's log file.
	Log string

	cancel context.CancelFunc
	done   chan error
}

// Tools are the pinned binaries the stack runs.
type Tools struct{ Temporal, Terraform, TerraformConfig string }

// FreePort returns a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start runs devstack.Run under dir until Stop. tweak, when set, may
// change the options (e.g. Demo) before the stack starts.
func Start(dir string, tools Tools, tweak func(*devstack.Options)) (*Stack, error) {
	tport, err := FreePort()
	if err != nil {
		return nil, err
	}
	uport, err := FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "devstack.log"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &Stack{UIPort: uport, Log: logf.Name(), cancel: cancel, done: make(chan error, 1)}
	ready := make(chan devstack.Stack, 1)
	opts := devstack.Options{
		StateDir: filepath.Join(dir, "state"), Namespace: "default",
		TemporalBin: tools.Temporal, TemporalPort: tport, UIPort: uport,
		TerraformBin: tools.Terraform, TerraformConfig: tools.TerraformConfig,
		Out: io.Discard, Encrypt: true,
		Log:   slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Ready: func(s devstack.Stack) { ready <- s },
	}
	if tweak != nil {
		tweak(&opts)
	}
	go func() { st.done <- devstack.Run(ctx, opts) }()
	select {
	case st.Stack = <-ready:
	case err := <-st.done:
		cancel()
		return nil, fmt.Errorf("ferry dev stopped during start-up: %v (log %s)", err, logf.Name())
	case <-time.After(3 * time.Minute):
		st.Stop()
		return nil, fmt.Errorf("ferry dev not ready within 3 minutes (log %s)", logf.Name())
	}
	if st.DevPlan, err = devstack.LoadPlan(st.StateDir); err != nil {
		st.Stop()
		return nil, err
	}
	st.C, err = client.DialContext(ctx, client.Options{HostPort: st.TemporalAddress, Namespace: "default",
		Logger: slog.New(slog.NewTextHandler(logf, nil)), DataConverter: st.DataConverter})
	if err != nil {
		st.Stop()
		return nil, err
	}
	return st, nil
}

// Stop stops the stack and waits for it.
func (s *Stack) Stop() {
	if s.C != nil {
		s.C.Close()
	}
	s.cancel()
	<-s.done
}
