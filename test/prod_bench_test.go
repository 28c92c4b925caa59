package test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/internal/prodstack"
)

// BenchmarkProdStackThroughput runs FERRY_BENCH_PROD_APPS (default 100)
// MigrateApp workflows with instant activities on the production-shaped
// cluster (Temporal server, PostgreSQL, mTLS), first with one worker, then
// with two (each its own client connection, polling the same task queue).
// Each is reported as app workflows per minute and as a ratio to a floor
// measured in the same run on the same stack with the same workers: a
// trivial workflow making as many activity calls and waiting for the same
// signals. Nothing is asserted on time.
func BenchmarkProdStackThroughput(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_PROD_APPS")); err == nil && v > 0 {
		n = v
	}
	st := prodstack.Start(b, prodstack.Options{})
	c := st.Client(b)
	for i := 0; i < b.N; i++ {
		perMin := map[int]float64{}
		for _, workers := range []int{1, 2} {
			var ws []interface{ Stop() }
			for range workers {
				wc, err := client.Dial(st.ClientOptions()) // a connection of its own, as another host's
				if err != nil {
					b.Fatal(err)
				}
				w := benchWorker(wc)
				if err := w.Start(); err != nil {
					b.Fatal(err)
				}
				ws = append(ws, w, stopper(wc.Close))
			}
			floor := runBatch(b, c, n, true)
			apps := runBatch(b, c, n, false)
			for _, w := range ws {
				w.Stop()
			}
			ratio := apps.Seconds() / floor.Seconds()
			perMin[workers] = float64(n) / apps.Minutes()
			b.ReportMetric(perMin[workers], fmt.Sprintf("apps/min-%dw", workers))
			b.ReportMetric(ratio, fmt.Sprintf("ratio-%dw", workers))
			fmt.Printf("BenchmarkProdStackThroughput: %d worker(s): %d apps in %s (%.0f apps/min); floor %s (%.0f/min); ratio %.2f\n",
				workers, n, apps.Round(time.Millisecond), perMin[workers], floor.Round(time.Millisecond), float64(n)/floor.Minutes(), ratio)
		}
		fmt.Printf("BenchmarkProdStackThroughput: 2 workers vs 1: %.2fx the app workflows per minute (Temporal server %s, PostgreSQL, mTLS, %d apps per batch)\n",
			perMin[2]/perMin[1], st.Version(), n)
	}
}

type stopper func()

func (s stopper) Stop() { s() }
