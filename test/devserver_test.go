package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/workflows"
)

// devServer is a Temporal dev server for one test, with ferry's search
// attributes, its database in a temp dir (kept across Restart).
type devServer struct {
	t        testing.TB
	bin      string
	db       string
	port, ui int
	cmd      *exec.Cmd
}

func startDevServer(t testing.TB) *devServer {
	t.Helper()
	d := &devServer{t: t, bin: testenv.Temporal(t), db: filepath.Join(t.TempDir(), "temporal.db"),
		port: testenv.FreePort(t), ui: testenv.FreePort(t)}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *devServer) HostPort() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }
func (d *devServer) UIURL() string    { return fmt.Sprintf("http://127.0.0.1:%d", d.ui) }

func (d *devServer) start() {
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(d.port), "--ui-port", fmt.Sprint(d.ui),
		"--db-filename", d.db, "--log-level", "error"}
	args = append(args, workflows.SearchAttributeFlags()...)
	d.cmd = exec.Command(d.bin, args...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: d.HostPort(), Logger: quiet{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			d.t.Fatalf("dev server did not start: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (d *devServer) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	d.cmd = nil
}

// Restart stops the server and starts it again on the same database.
func (d *devServer) Restart() {
	d.stop()
	d.start()
}

func (d *devServer) Client(t testing.TB) client.Client {
	c, err := client.Dial(client.Options{HostPort: d.HostPort(), Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type quiet struct{}

func (quiet) Debug(string, ...any) {}
func (quiet) Info(string, ...any)  {}
func (quiet) Warn(string, ...any)  {}
func (quiet) Error(string, ...any) {}
