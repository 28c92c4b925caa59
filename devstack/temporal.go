package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/workflows"
)

// temporalServer is the Temporal CLI's dev server run as a child process
// in its own process group, so stopping it leaves nothing behind.
type temporalServer struct {
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

func startTemporal(ctx context.Context, o Options) (*temporalServer, error) {
	for _, port := range []int{o.TemporalPort, o.UIPort} {
		if err := portFree(port); err != nil {
			return nil, err
		}
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", fmt.Sprint(o.TemporalPort),
		"--ui-port", fmt.Sprint(o.UIPort),
		"--db-filename", filepath.Join(o.StateDir, "temporal.db"),
		"--namespace", o.Namespace,
		"--log-level", "warn",
	}
	args = append(args, workflows.SearchAttributeFlags()...)
	if o.UICodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
	}
	logf, err := os.OpenFile(filepath.Join(o.StateDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.TemporalBin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group (we signal the group on stop) and die with us if
	// ferry dev is killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start the Temporal dev server %s: %w (build it with `make tools`)", o.TemporalBin, err)
	}
	t := &temporalServer{cmd: cmd, done: make(chan error, 1), log: logf}
	go func() { t.done <- cmd.Wait() }()
	if err := t.waitReady(ctx, o); err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port %d on 127.0.0.1 is taken: stop what uses it, or pick other ports with --temporal-port/--ui-port", port)
	}
	return ln.Close()
}

func (t *temporalServer) waitReady(ctx context.Context, o Options) error {
	deadline := time.Now().Add(90 * time.Second)
	hostPort := fmt.Sprintf("127.0.0.1:%d", o.TemporalPort)
	for {
		select {
		case err := <-t.done:
			t.done <- err
			return fmt.Errorf("the Temporal dev server exited during start-up (%v): see %s", err, t.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: o.Namespace, Logger: quietLogger{}})
		if err == nil {
			_, herr := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if herr == nil {
				if uiOK(o.UIPort) {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Temporal dev server did not answer on %s within 90 s: see %s", hostPort, t.log.Name())
		}
	}
}

func uiOK(port int) bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends SIGTERM to the server's process group, then SIGKILL after 10 s.
func (t *temporalServer) stop() {
	defer t.log.Close()
	pgid := t.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-t.done
	}
	// Anything left in the group (there should be nothing) goes too.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = err
	}
}

// quietLogger drops the SDK's connection retry noise during start-up.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
