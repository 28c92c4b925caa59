package prodstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// postgres is a PostgreSQL server in a directory of its own, on a loopback
// port, run as an unprivileged user (PostgreSQL refuses to run as root):
// the package's "postgres" user when it exists, else "nobody".
type postgres struct {
	bin      string // /usr/lib/postgresql/N/bin
	dir      string // owned by the unprivileged user: data/, postgres.log, pwfile
	port     int
	user     string // the superuser temporal connects as
	password string
	cred     *syscall.Credential // nil when not root
	cmd      *exec.Cmd
	exited   chan struct{}
}

func (p *postgres) data() string    { return filepath.Join(p.dir, "data") }
func (p *postgres) logFile() string { return filepath.Join(p.dir, "postgres.log") }
func (p *postgres) addr() string    { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// initPostgres runs initdb into a new directory under the system temp dir
// (t.TempDir() is private to root, the server's user could not enter it).
func initPostgres(ctx context.Context, bin string, port int) (*postgres, error) {
	p := &postgres{bin: bin, port: port, user: "temporal", password: randomHex(16)}
	dir, err := os.MkdirTemp("", "ferry-postgres-")
	if err != nil {
		return nil, err
	}
	p.dir = dir
	if os.Geteuid() == 0 {
		if p.cred, err = unprivileged(); err != nil {
			return p, err
		}
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return p, fmt.Errorf("give %s to the PostgreSQL user: %w", dir, err)
		}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.password+"\n"), 0o600); err != nil {
		return p, err
	}
	if p.cred != nil {
		if err := os.Chown(pwfile, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return p, err
		}
	}
	out, err := p.run(ctx, "initdb", "-D", p.data(), "-U", p.user, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	if err != nil {
		return p, fmt.Errorf("initdb in %s: %v\n%s", p.data(), err, tail(out, 40))
	}
	_ = os.Remove(pwfile)
	return p, nil
}

// unprivileged is the user PostgreSQL runs as when the tests run as root.
func unprivileged() (*syscall.Credential, error) {
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root and no unprivileged user to run PostgreSQL as (tried postgres, nobody): %v", errs)
}

// run runs one of PostgreSQL's programs as its user and returns its output.
func (p *postgres) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, prog), args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	return cmd.CombinedOutput()
}

// start runs the postmaster as a child of the test (not daemonised by
// pg_ctl), so it dies with the test binary even when cleanups cannot run;
// pg_ctl stops it cleanly.
func (p *postgres) start(ctx context.Context) error {
	logf, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", p.data(),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(p.port),
		"-c", "unix_socket_directories="+p.dir, "-c", "max_connections=200",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(p.exited) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := p.run(ctx, "pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-t", "2")
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited while starting (%s):\n%s", p.logFile(), tailFile(p.logFile(), 30))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready on %s after 60s (pg_isready: %v %s); %s:\n%s",
				p.addr(), err, out, p.logFile(), tailFile(p.logFile(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop shuts PostgreSQL down (fast: active sessions are cut), then kills
// what is left, and removes its directory.
func (p *postgres) stop() {
	if p.cmd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, _ = p.run(ctx, "pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "20", "stop")
		cancel()
		select {
		case <-p.exited:
		case <-time.After(25 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
		p.cmd = nil
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
