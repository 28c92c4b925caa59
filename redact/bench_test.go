package redact

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkString redacts 64 KiB of hook-like output with 10 known secrets
// and every pattern, against a floor measured in the same run: one
// strings.ReplaceAll pass for one secret over the same text. x-floor is the
// ratio.
func BenchmarkString(b *testing.B) {
	var r Registry
	for i := range 10 {
		r.Add(fmt.Sprintf("secret-value-%02d-xyz", i))
	}
	var sb strings.Builder
	for i := 0; sb.Len() < 64<<10; i++ {
		fmt.Fprintf(&sb, "%05d rsync: sent 1204 bytes to 10.0.%d.%d, checksum ok\n", i, i%250, i%200)
		if i%100 == 0 {
			fmt.Fprintf(&sb, "connecting with password=secret-value-%02d-xyz\n", i%10)
		}
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	start := time.Now()
	for range b.N {
		_ = strings.ReplaceAll(text, "secret-value-00-xyz", Marker)
	}
	floor := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		if out := r.String(text); strings.Contains(out, "secret-value-0") {
			b.Fatal("secret left")
		}
	}
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.StopTimer()
	b.ReportMetric(ns/floor, "x-floor")
	b.Logf("N=%d: redact %.0f ns/op, floor (one ReplaceAll) %.0f ns/op, ratio %.1f", b.N, ns, floor, ns/floor)
}
