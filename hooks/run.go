package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/redact"
)

// RunOptions tune one run.
type RunOptions struct {
	Config
	// Env is added to the base environment (ferry sets FERRY_APP,
	// FERRY_HOOK, FERRY_HOOK_AT); the plan's env goes over it.
	Env map[string]string
	// Secrets are extra values to redact from the output.
	Secrets []string
	// Progress is called every ProgressEvery while the hook runs
	// (activities heartbeat from it).
	Progress      func(Progress)
	ProgressEvery time.Duration
	// KillGrace is how long the process group has between SIGTERM and
	// SIGKILL on timeout or cancellation.
	KillGrace time.Duration
}

// Progress is a running hook's state.
type Progress struct {
	Elapsed     time.Duration
	OutputBytes int64
	LastLine    string // redacted
}

// Result is what a hook did. Output is truncated and redacted.
type Result struct {
	ExitCode  int           `json:"exitCode"` // -1 when killed or not started
	Output    string        `json:"output"`
	Truncated bool          `json:"truncated,omitempty"`
	Duration  time.Duration `json:"duration"`
	TimedOut  bool          `json:"timedOut,omitempty"`
	Canceled  bool          `json:"canceled,omitempty"`
}

// Failure kinds.
const (
	KindFailed   = "failed"   // non-zero exit
	KindTimeout  = "timeout"  // killed at its timeout
	KindCanceled = "canceled" // the activity was cancelled
	KindStart    = "start"    // could not start (bad command, missing dir)
)

// Error says why a hook did not succeed.
type Error struct {
	Hook     string
	Kind     string
	ExitCode int
	Timeout  time.Duration
	Err      error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindTimeout:
		return fmt.Sprintf("hook %s: killed after its timeout of %s: raise `timeout` in the plan or make it faster", e.Hook, e.Timeout)
	case KindCanceled:
		return fmt.Sprintf("hook %s: cancelled", e.Hook)
	case KindStart:
		return fmt.Sprintf("hook %s: could not start: %v", e.Hook, e.Err)
	}
	return fmt.Sprintf("hook %s: exited with code %d: see its output", e.Hook, e.ExitCode)
}

func (e *Error) Unwrap() error { return e.Err }

// baseEnv are the only variables taken from the worker's environment:
// enough to find programs and behave, none that carry credentials.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// Env builds a hook's environment: the base, then extra, then the plan's.
func Env(spec plan.HookSpec, extra map[string]string) []string {
	m := map[string]string{}
	for _, k := range baseEnv {
		if v, ok := os.LookupEnv(k); ok {
			m[k] = v
		}
	}
	if m["PATH"] == "" {
		m["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	}
	for k, v := range extra {
		m[k] = v
	}
	for k, v := range spec.Env {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

var secretEnvName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY)`)

// Run runs one hook and waits for it. It returns an *Error when the hook
// fails, times out, is cancelled or cannot start; the Result is filled in
// every case.
func Run(ctx context.Context, spec plan.HookSpec, opts RunOptions) (Result, error) {
	name := spec.Name
	if name == "" {
		name = spec.At
	}
	res := Result{ExitCode: -1}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return res, &Error{Hook: name, Kind: KindStart, Err: errors.New("the plan gives no command")}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = opts.DefaultTimeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	grace := opts.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	secrets := append([]string(nil), opts.Secrets...)
	for k, v := range spec.Env {
		if secretEnvName.MatchString(k) {
			secrets = append(secrets, v)
		}
	}
	red := func(s string) string { return redact.String(s, secrets...) }

	env := Env(spec, opts.Env)
	dir := spec.Dir
	if dir != "" && !filepath.IsAbs(dir) && opts.BaseDir != "" {
		dir = filepath.Join(opts.BaseDir, dir)
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return res, &Error{Hook: name, Kind: KindStart, Err: fmt.Errorf("working directory %s does not exist on the worker", dir)}
		}
	}
	path, err := lookPath(spec.Command[0], env, dir)
	if err != nil {
		return res, &Error{Hook: name, Kind: KindStart, Err: err}
	}

	cmd := exec.Command(path, spec.Command[1:]...)
	cmd.Args[0] = spec.Command[0]
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = nil
	// Its own process group, so a timeout kills the children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return res, &Error{Hook: name, Kind: KindStart, Err: err}
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	out := newCapture(opts.MaxOutputBytes)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return res, &Error{Hook: name, Kind: KindStart, Err: err}
	}
	pw.Close()
	pgid := cmd.Process.Pid
	copied := make(chan struct{})
	go func() {
		io.Copy(out, pr)
		close(copied)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	every := opts.ProgressEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var waitErr error
	var killed string
loop:
	for {
		select {
		case waitErr = <-exited:
			break loop
		case <-tick.C:
			if opts.Progress != nil {
				opts.Progress(Progress{Elapsed: time.Since(start), OutputBytes: out.bytesTotal(), LastLine: red(out.lastLine())})
			}
		case <-timer.C:
			killed = KindTimeout
			waitErr = terminate(pgid, exited, grace)
			break loop
		case <-ctx.Done():
			killed = KindCanceled
			waitErr = terminate(pgid, exited, grace)
			break loop
		}
	}
	// Whatever the hook left running in its group goes too: a hook must
	// not outlive its activity.
	syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		// A process that left the group still holds the pipe.
	}
	pr.Close()

	res.Duration = time.Since(start)
	output, truncated := out.result()
	res.Output, res.Truncated = red(output), truncated
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch killed {
	case KindTimeout:
		res.TimedOut = true
		return res, &Error{Hook: name, Kind: KindTimeout, ExitCode: res.ExitCode, Timeout: timeout}
	case KindCanceled:
		res.Canceled = true
		return res, &Error{Hook: name, Kind: KindCanceled, ExitCode: res.ExitCode, Err: ctx.Err()}
	}
	if waitErr != nil {
		return res, &Error{Hook: name, Kind: KindFailed, ExitCode: res.ExitCode}
	}
	return res, nil
}

// terminate sends SIGTERM to the group, then SIGKILL after grace, and
// returns the leader's wait error.
func terminate(pgid int, exited <-chan error, grace time.Duration) error {
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(grace):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	return <-exited
}

// lookPath finds a program on the hook's own PATH, not the worker's.
func lookPath(file string, env []string, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("command %s is not an executable file on the worker", file)
		}
		return p, nil
	}
	var pathEnv string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found on the worker's PATH (%s)", file, pathEnv)
}
