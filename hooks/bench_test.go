package hooks

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/plan"
)

// BenchmarkRun runs a hook that prints 1,000 lines, against a floor
// measured in the same run: exec.Command(...).CombinedOutput() of the same
// command. x-floor is the ratio: the cost of the process group, the
// environment, capture and redaction.
func BenchmarkRun(b *testing.B) {
	argv := []string{"sh", "-c", `i=0; while [ $i -lt 1000 ]; do echo "line $i synced 4096 bytes"; i=$((i+1)); done`}
	start := time.Now()
	for range b.N {
		if _, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			b.Fatal(err)
		}
	}
	floor := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		if _, err := Run(context.Background(), plan.HookSpec{Name: "bench", Command: argv}, RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.StopTimer()
	b.ReportMetric(ns/floor, "x-floor")
	b.Logf("N=%d: hooks.Run %.2f ms/op, floor (exec CombinedOutput) %.2f ms/op, ratio %.2f", b.N, ns/1e6, floor/1e6, ns/floor)
}
