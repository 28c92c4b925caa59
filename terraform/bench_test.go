package terraform

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/ferrymigrate/ferry/plan"
)

// benchSpecs builds 2,000 apps with 5 VMs each (10,000 VMs), half of them
// with the lb strategy, every VM with a data disk and observed ports.
func benchSpecs(apps, vmsPerApp int) []plan.AppSpec {
	out := make([]plan.AppSpec, apps)
	for a := range out {
		name := fmt.Sprintf("app-%04d", a)
		s := plan.AppSpec{
			Name: name, Wave: fmt.Sprintf("wave-%d", a%10+1), Owner: "owner-" + name, Project: "acme", Region: "europe-west1",
			Zone: "europe-west1-b", Network: "default", NetworkTags: []string{"ferry-" + name},
			Labels:  map[string]string{"cost-center": "platform"},
			Backend: plan.Backend{Type: "gcs", Bucket: "state", Prefix: "ferry"},
			Cutover: plan.CutoverSpec{Strategy: "dns", HealthCheck: plan.HealthCheck{Protocol: "http", Port: 8080, Path: "/healthz"}},
		}
		if a%2 == 0 {
			s.Cutover.Strategy = "lb"
			s.Cutover.DCEndpoints = []string{"10.0.0.1:8080", "10.0.0.2:8080"}
		}
		for v := 0; v < vmsPerApp; v++ {
			n := fmt.Sprintf("%s-vm-%d", name, v)
			s.VMs = append(s.VMs, plan.VMSpec{Ref: fmt.Sprintf("vm-%d", a*vmsPerApp+v), Name: n, GCEName: n,
				MachineType: "e2-standard-2", Image: "projects/debian-cloud/global/images/debian-12-bookworm-v20250610",
				Zone: "europe-west1-b", DiskGB: 20, DataDisksGB: []int64{100}, Ports: []int{8080}})
		}
		out[a] = s
	}
	return out
}

// BenchmarkRender renders 10,000 VMs across 2,000 apps (five files each:
// instances with a data disk, firewalls, instance group, health check,
// backend services, and for half of them the hybrid NEG, URL map, proxy
// and forwarding rule: 45,000 resources) and compares with a floor
// measured in the same run: hclwrite writing as many empty resource blocks
// as the modules hold resources (one file per app). Target: ratio <= 5.
//
//	go test ./terraform -run '^$' -bench BenchmarkRender -benchtime 3x
func BenchmarkRender(b *testing.B) {
	const apps, perApp = 2000, 5
	specs := benchSpecs(apps, perApp)
	blocks := 0
	for _, s := range specs {
		files, err := Render(s, RenderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			blocks += bytes.Count(f, []byte("\nresource \"")) + bytes.Count(f[:min(len(f), 10)], []byte("resource \""))
		}
	}
	// Render and floor alternate in chunks of apps so both see the same
	// machine load (other processes share the CPUs); a GC between phases
	// keeps one phase from paying the other's garbage.
	per := blocks / apps
	labels := make([]string, per)
	for j := range labels {
		labels[j] = fmt.Sprintf("r%d", j)
	}
	const chunk = 100
	var renderTotal, floorTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for c := 0; c < apps; c += chunk {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			start := time.Now()
			for _, s := range specs[c : c+chunk] {
				if _, err := Render(s, RenderOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			renderTotal += time.Since(start)

			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			start = time.Now()
			for a := 0; a < chunk; a++ {
				f := hclwrite.NewEmptyFile()
				for j := 0; j < per; j++ {
					f.Body().AppendNewBlock("resource", []string{"google_compute_instance", labels[j]})
				}
				_ = f.Bytes()
			}
			floorTotal += time.Since(start)
		}
	}
	n := float64(b.N)
	perVM := float64(renderTotal.Nanoseconds()) / n / (apps * perApp)
	floorPerVM := float64(floorTotal.Nanoseconds()) / n / (apps * perApp)
	ratio := float64(renderTotal) / float64(floorTotal)
	b.ReportMetric(perVM/1e3, "µs/VM")
	b.ReportMetric(floorPerVM/1e3, "floor-µs/VM")
	b.ReportMetric(ratio, "ratio")
	b.Logf("rendered %d VMs in %d apps (%d resources): %.1f µs/VM; floor (%d empty resource blocks): %.1f µs/VM; ratio %.2f (target <= 5)",
		apps*perApp, apps, blocks, perVM/1e3, blocks, floorPerVM/1e3, ratio)
}
