package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/internal/testenv"
)

var (
	buildOnce sync.Once
	ferryBin  string
	buildErr  error
)

// ferry builds the ferry binary once per test run.
func ferry(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferry-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		ferryBin = filepath.Join(dir, "ferry")
		cmd := exec.Command("go", "build", "-o", ferryBin, "./cmd/ferry")
		cmd.Dir = testenv.Root()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return ferryBin
}

// leftovers lists processes whose command line or working directory
// mentions dir: what a stack rooted there may have left behind.
func leftovers(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", pid, "cwd"))
		cl := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(cl, dir) || strings.HasPrefix(cwd, dir) {
			out = append(out, pid+": "+cl)
		}
	}
	return out
}

func eventually(t *testing.T, ctx context.Context, what string, every time.Duration, f func() (bool, string)) {
	t.Helper()
	last := ""
	for {
		ok, msg := f()
		if ok {
			return
		}
		last = msg
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s (last: %s)", what, last)
		case <-time.After(every):
		}
	}
}
