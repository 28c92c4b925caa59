package traffic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/traffic"
)

// anchor is the rollback time of the team in issue 7: about 7 minutes.
const anchor = 7 * time.Minute

const benchRuns = 20

// BenchmarkRollbackToDatacenter measures the time from a rollback call
// (ToDatacenter) to 100 % datacenter weight in gcpfake's state, median over
// 20 runs, beside the 7-minute anchor and against a floor measured in the
// same run: one bare Get + Patch of the URL map through the raw HTTP API.
// "cold" builds the compute client per call, as the activity does.
func BenchmarkRollbackToDatacenter(b *testing.B) {
	ctx := context.Background()
	s, g := fake(b, gcpfake.Options{})
	const app = "bench-app"
	createLB(b, g, app)
	warm := traffic.NewLB(urlMapsClient(b, g), traffic.Config{}, project, app)
	spec := lbSpec(app)

	for b.Loop() {
		var hot, cold, floor []time.Duration
		for range benchRuns {
			hot = append(hot, timeRollback(b, s, warm, app, func() error { return warm.ToDatacenter(ctx) }))
			cold = append(cold, timeRollback(b, s, warm, app, func() error {
				st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, spec)
				if err != nil {
					return err
				}
				defer closeFn()
				return st.ToDatacenter(ctx)
			}))
			floor = append(floor, timeRollback(b, s, warm, app, func() error { return rawGetPatch(g, app) }))
		}
		mh, mc, mf := median(hot), median(cold), median(floor)
		b.ReportMetric(float64(mh.Microseconds())/1000, "rollback-median-ms")
		b.ReportMetric(float64(mc.Microseconds())/1000, "rollback-cold-median-ms")
		b.ReportMetric(float64(mf.Microseconds())/1000, "floor-median-ms")
		b.ReportMetric(float64(mh)/float64(mf), "ratio-vs-floor")
		b.ReportMetric(float64(mc)/float64(mf), "cold-ratio-vs-floor")
		b.ReportMetric(float64(anchor)/float64(mc), "x-faster-than-7min")
		b.Logf("rollback to 100%% DC, median of %d: %s (client reused), %s (client built per call, as the activity); floor (raw Get+Patch) %s; ratio %.2f / %.2f; anchor %s (%.0fx)",
			benchRuns, mh, mc, mf, float64(mh)/float64(mf), float64(mc)/float64(mf), anchor, float64(anchor)/float64(mc))
	}
}

// timeRollback moves the split to 50/50 (untimed), then times rollback
// until gcpfake holds 100 % datacenter.
func timeRollback(b *testing.B, s *gcpfake.Server, lb *traffic.LB, app string, rollback func() error) time.Duration {
	b.Helper()
	if err := lb.Shift(context.Background(), 50); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := rollback(); err != nil {
		b.Fatal(err)
	}
	for {
		w, err := s.URLMapWeights(project, traffic.URLMapName(app))
		if err != nil {
			b.Fatal(err)
		}
		if w[traffic.DCBackendName(app)] == 100 && w[traffic.GCPBackendName(app)] == 0 {
			return time.Since(start)
		}
		if time.Since(start) > time.Minute {
			b.Fatalf("no 100%% DC after a minute: %v", w)
		}
	}
}

// rawGetPatch is the floor: the least any client can do, one GET and one
// PATCH with the fingerprint, plain net/http and JSON.
func rawGetPatch(g gcp.Config, app string) error {
	u := g.ComputeEndpoint + "projects/" + project + "/global/urlMaps/" + traffic.URLMapName(app)
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil {
		return err
	}
	ra := m["defaultRouteAction"].(map[string]any)
	for _, x := range ra["weightedBackendServices"].([]any) {
		w := x.(map[string]any)
		if w["backendService"].(string)[len(w["backendService"].(string))-len(traffic.DCBackendName(app)):] == traffic.DCBackendName(app) {
			w["weight"] = 100
		} else {
			w["weight"] = 0
		}
	}
	body, _ := json.Marshal(map[string]any{"fingerprint": m["fingerprint"], "defaultRouteAction": ra})
	req, _ := http.NewRequest(http.MethodPatch, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("patch: %s", resp.Status)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
