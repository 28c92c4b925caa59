package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

func sh(script string) []string { return []string{"sh", "-c", script} }

func TestRunSuccessCombinedOutputAndEnv(t *testing.T) {
	t.Setenv("GOVC_PASSWORD", "worker-secret-vc-pass")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/secret/sa.json")
	dir := t.TempDir()
	spec := plan.HookSpec{Name: "sync", At: plan.HookPreCutover, Timeout: time.Minute, Dir: dir,
		Command: sh(`echo out; echo err >&2; echo "pwd=$(pwd)"; env`),
		Env:     map[string]string{"SYNC_TARGET": "db-2"}}
	res, err := Run(context.Background(), spec, RunOptions{Env: map[string]string{"FERRY_APP": "billing"}})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, res.Output)
	}
	if res.ExitCode != 0 || res.Truncated {
		t.Fatalf("exit %d truncated %v", res.ExitCode, res.Truncated)
	}
	for _, want := range []string{"out\n", "err\n", "pwd=" + dir, "SYNC_TARGET=db-2", "FERRY_APP=billing", "PATH="} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	for _, bad := range []string{"GOVC_PASSWORD", "worker-secret-vc-pass", "GOOGLE_APPLICATION_CREDENTIALS"} {
		if strings.Contains(res.Output, bad) {
			t.Errorf("hook saw the worker's %q:\n%s", bad, res.Output)
		}
	}
}

func TestRunArgvNoShell(t *testing.T) {
	res, err := Run(context.Background(), plan.HookSpec{Name: "echo", Command: []string{"echo", "$HOME", "a;b"}}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(res.Output) != "$HOME a;b" {
		t.Fatalf("argv was interpreted by a shell: %q", res.Output)
	}
}

func TestRunFailure(t *testing.T) {
	res, err := Run(context.Background(), plan.HookSpec{Name: "smoke", Command: sh(`echo "GET /health -> 503"; exit 3`)}, RunOptions{})
	var he *Error
	if !errors.As(err, &he) || he.Kind != KindFailed || he.ExitCode != 3 {
		t.Fatalf("err = %#v", err)
	}
	if res.ExitCode != 3 || !strings.Contains(res.Output, "503") {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(err.Error(), "smoke") || !strings.Contains(err.Error(), "code 3") {
		t.Errorf("error does not name the hook and code: %v", err)
	}
}

func TestRunStartErrors(t *testing.T) {
	for _, spec := range []plan.HookSpec{
		{Name: "none"},
		{Name: "missing", Command: []string{"ferry-no-such-program-xyz"}},
		{Name: "nodir", Command: []string{"true"}, Dir: "/nonexistent/dir"},
		{Name: "notexec", Command: []string{"./nothing.sh"}, Dir: t.TempDir()},
	} {
		_, err := Run(context.Background(), spec, RunOptions{})
		var he *Error
		if !errors.As(err, &he) || he.Kind != KindStart {
			t.Errorf("%s: err = %v", spec.Name, err)
		}
	}
}

func TestRunRelativeScriptInDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "smoke.sh"), []byte("#!/bin/sh\necho smoke ok \"$1\"\n"), 0o755)
	res, err := Run(context.Background(), plan.HookSpec{Name: "s", Command: []string{"./smoke.sh", "x"}, Dir: "scripts"},
		RunOptions{Config: Config{BaseDir: filepath.Dir(dir)}, Env: nil})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("relative dir resolved wrongly: %v %q", err, res.Output)
	}
	res, err = Run(context.Background(), plan.HookSpec{Name: "s", Command: []string{"./smoke.sh", "x"}, Dir: filepath.Base(dir)},
		RunOptions{Config: Config{BaseDir: filepath.Dir(dir)}})
	if err != nil || !strings.Contains(res.Output, "smoke ok x") {
		t.Fatalf("%v %q", err, res.Output)
	}
}

// alive reports whether pid is still a live (not zombie) process a moment
// after the runner returned: SIGKILL is delivered asynchronously, so it
// gives the kernel up to 5 s to finish the job.
func alive(pid int) bool {
	for range 100 {
		if !aliveNow(pid) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func aliveNow(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func childPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("hook did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	// The child ignores SIGTERM, so the runner must escalate to SIGKILL;
	// the leader waits for the child, so the hook outlives its timeout.
	script := `sh -c 'trap "" TERM; echo child; sleep 300' & echo $! > ` + pidFile + `; echo started; wait`
	res, err := Run(context.Background(), plan.HookSpec{Name: "slow", Command: sh(script), Timeout: 300 * time.Millisecond},
		RunOptions{KillGrace: 100 * time.Millisecond})
	var he *Error
	if !errors.As(err, &he) || he.Kind != KindTimeout {
		t.Fatalf("err = %v", err)
	}
	if !res.TimedOut || !strings.Contains(res.Output, "started") {
		t.Fatalf("result %+v", res)
	}
	if pid := childPid(t, pidFile); alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d of the timed-out hook is still running", pid)
	}
}

func TestRunLeavesNoBackgroundChildOnSuccess(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "bg.pid")
	_, err := Run(context.Background(), plan.HookSpec{Name: "bg", Command: sh(`sleep 300 >/dev/null 2>&1 & echo $! > ` + pidFile)}, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pid := childPid(t, pidFile); alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("background child %d outlived the hook", pid)
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := filepath.Join(t.TempDir(), "started")
	var progressed bool
	res, err := Run(ctx, plan.HookSpec{Name: "long", Command: sh(`touch ` + started + `; echo working; sleep 300`)},
		RunOptions{ProgressEvery: 20 * time.Millisecond, KillGrace: time.Second, Progress: func(p Progress) {
			if _, err := os.Stat(started); err == nil && p.OutputBytes > 0 {
				progressed = p.LastLine == "working"
				cancel()
			}
		}})
	var he *Error
	if !errors.As(err, &he) || he.Kind != KindCanceled || !res.Canceled {
		t.Fatalf("err = %v res %+v", err, res)
	}
	if !progressed {
		t.Error("progress did not report the last line")
	}
}

func TestRunRedactsSecrets(t *testing.T) {
	t.Setenv("FERRY_TEST_SERVICE_TOKEN", "unused") // not passed through anyway
	spec := plan.HookSpec{Name: "leaky", Command: sh(`
echo "connecting with password=hunter2-db-pass"
echo "token from plan env: $API_TOKEN"
echo "Authorization: Bearer abcdefghijklmnopqrstuvwxyz"
echo "extra secret: s3cr3t-from-worker"
printf -- '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----\n'
`), Env: map[string]string{"API_TOKEN": "plan-token-9876543"}}
	res, err := Run(context.Background(), spec, RunOptions{Secrets: []string{"s3cr3t-from-worker"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"hunter2-db-pass", "plan-token-9876543", "abcdefghijklmnopqrstuvwxyz", "s3cr3t-from-worker", "MIIEvQIBADANBgkqhkiG9w0B"} {
		if strings.Contains(res.Output, bad) {
			t.Errorf("output leaks %q:\n%s", bad, res.Output)
		}
	}
	if strings.Count(res.Output, "[REDACTED]") < 5 {
		t.Errorf("expected 5 redactions:\n%s", res.Output)
	}
}

func TestRunTruncatesHeadAndTail(t *testing.T) {
	spec := plan.HookSpec{Name: "noisy", Command: sh(`echo FIRST; i=0; while [ $i -lt 5000 ]; do echo "line $i password=pw-$i-secret"; i=$((i+1)); done; echo LAST`)}
	res, err := Run(context.Background(), spec, RunOptions{Config: Config{MaxOutputBytes: 2048}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || !strings.Contains(res.Output, "bytes of output omitted") {
		t.Fatalf("not truncated: %d bytes", len(res.Output))
	}
	if !strings.HasPrefix(res.Output, "FIRST\n") || !strings.HasSuffix(res.Output, "LAST\n") {
		t.Fatalf("head or tail lost:\n%s", res.Output)
	}
	if len(res.Output) > 4096 {
		t.Fatalf("kept %d bytes for a 2048 limit", len(res.Output))
	}
	if strings.Contains(res.Output, "-secret") {
		t.Fatalf("a secret survived truncation:\n%s", res.Output)
	}
}

func TestCapture(t *testing.T) {
	c := newCapture(64)
	var all strings.Builder
	for i := range 200 {
		s := fmt.Sprintf("%d,", i)
		all.WriteString(s)
		c.Write([]byte(s))
	}
	out, trunc := c.result()
	full := all.String()
	if !trunc || !strings.HasPrefix(out, full[:32]) || !strings.HasSuffix(out, full[len(full)-32:]) {
		t.Fatalf("capture: %q", out)
	}
	small := newCapture(64)
	small.Write([]byte("abc"))
	if out, trunc := small.result(); out != "abc" || trunc {
		t.Fatalf("small: %q %v", out, trunc)
	}
}
