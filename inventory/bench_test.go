package inventory_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/ferrymigrate/ferry/inventory"
)

// benchVMs is the size of the estate the discovery benchmark reads.
const benchVMs = 10_000

// BenchmarkDiscover10k discovers 10,000 VMs (2 datacenters x 2 clusters x
// 2,500 VMs, 100 app tags with owner and tier tags, a custom attribute on
// every tenth VM) and compares it with the floor: one bare ContainerView
// Retrieve of the same VM property paths into []mo.VirtualMachine, measured
// in the same run against the same simulator. Each side runs twice and
// the faster run counts, so neither pays for warming the server up.
// Memory is the peak HeapInuse above the level before the run, sampled
// every 10ms; the simulator lives in this process, so both sides include
// what the server allocates to answer.
func BenchmarkDiscover10k(b *testing.B) {
	ctx := context.Background()
	setupStart := time.Now()
	m := simulator.VPX()
	m.Datacenter, m.Cluster, m.ClusterHost, m.Host, m.Pool = 2, 2, 2, 0, 0
	m.Machine = benchVMs / (m.Datacenter * m.Cluster)
	m.Autostart = false
	if err := m.Create(); err != nil {
		b.Fatal(err)
	}
	defer m.Remove()
	m.Service.TLS = new(tls.Config)
	m.Service.RegisterEndpoints = true
	m.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword("bench", "bench-pass")}
	srv := m.Service.NewServer()
	defer srv.Close()
	u := *srv.URL
	u.User = nil
	cfg := inventory.Config{URL: u.String(), Username: "bench", Password: "bench-pass", Insecure: true}
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	if err := decorate(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d VMs in vcsim in %s", benchVMs, time.Since(setupStart).Round(time.Millisecond))

	floor := func() (int, error) {
		v, err := view.NewManager(c.Vim()).CreateContainerView(ctx, c.Vim().ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
		if err != nil {
			return 0, err
		}
		defer v.Destroy(ctx)
		var vms []mo.VirtualMachine
		err = v.Retrieve(ctx, []string{"VirtualMachine"}, inventory.VMProperties, &vms)
		return len(vms), err
	}
	discover := func() (int, error) {
		// The floor reads properties only; usage history is another
		// phase (one QueryPerf per 32 VMs), left out of this ratio.
		inv, err := inventory.Discover(ctx, c, inventory.Options{UsageWindow: -1})
		if err != nil {
			return 0, err
		}
		if len(inv.Apps) != 100 || len(inv.Unassigned) != benchVMs-100*20 {
			return 0, fmt.Errorf("grouping: %d apps, %d unassigned", len(inv.Apps), len(inv.Unassigned))
		}
		return len(inv.VMs), nil
	}

	b.ResetTimer()
	var fl, di measure
	for range b.N {
		for range 2 {
			fl.run(b, floor)
			di.run(b, discover)
		}
	}
	b.StopTimer()
	ratio := di.best.Seconds() / fl.best.Seconds()
	b.ReportMetric(di.best.Seconds(), "discover-s")
	b.ReportMetric(fl.best.Seconds(), "floor-s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(di.peak)/(1<<20), "discover-peak-MiB")
	b.ReportMetric(float64(fl.peak)/(1<<20), "floor-peak-MiB")
	b.ReportMetric(float64(di.alloc)/(1<<20), "discover-alloc-MiB")
	b.ReportMetric(float64(fl.alloc)/(1<<20), "floor-alloc-MiB")
	summary := fmt.Sprintf("discover %d VMs: %s (floor, bare ContainerView Retrieve: %s) ratio %.2f (target <= 1.3); peak heap in use +%.0f MiB (floor +%.0f MiB); allocated %.0f MiB (floor %.0f MiB)",
		benchVMs, di.best.Round(time.Millisecond), fl.best.Round(time.Millisecond), ratio,
		float64(di.peak)/(1<<20), float64(fl.peak)/(1<<20), float64(di.alloc)/(1<<20), float64(fl.alloc)/(1<<20))
	b.Log(summary)
	fmt.Println("BenchmarkDiscover10k:", summary)
}

// measure keeps the best time and the largest memory figures of its runs.
type measure struct {
	best  time.Duration
	peak  uint64
	alloc uint64
}

func (m *measure) run(b *testing.B, f func() (int, error)) {
	b.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	start := time.Now()
	n, err := f()
	d := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if n != benchVMs {
		b.Fatalf("read %d VMs, want %d", n, benchVMs)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if m.best == 0 || d < m.best {
		m.best = d
	}
	if p := peak.Load(); p > before.HeapInuse && p-before.HeapInuse > m.peak {
		m.peak = p - before.HeapInuse
	}
	m.alloc = max(m.alloc, after.TotalAlloc-before.TotalAlloc)
}

// decorate tags 2,000 VMs into 100 apps (app, owner, tier) and sets a
// custom attribute on every tenth VM, as a real estate would have.
func decorate(ctx context.Context, c *inventory.Client) error {
	v, err := view.NewManager(c.Vim()).CreateContainerView(ctx, c.Vim().ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return err
	}
	defer v.Destroy(ctx)
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, nil)
	if err != nil {
		return err
	}
	tm := c.Tags()
	cat := map[string]string{}
	for _, name := range []string{"app", "owner", "tier"} {
		id, err := tm.CreateCategory(ctx, &tags.Category{Name: name, Cardinality: "SINGLE", AssociableTypes: []string{"VirtualMachine"}})
		if err != nil {
			return err
		}
		cat[name] = id
	}
	for app := range 100 {
		objs := make([]mo.Reference, 0, 20)
		for _, r := range refs[app*20 : app*20+20] {
			objs = append(objs, r)
		}
		for name, val := range map[string]string{"app": fmt.Sprintf("app-%03d", app), "owner": fmt.Sprintf("owner%d@example.com", app%17), "tier": fmt.Sprintf("tier-%d", 1+app%3)} {
			id, err := tm.GetTagForCategory(ctx, val, cat[name])
			if err != nil {
				id, err := tm.CreateTag(ctx, &tags.Tag{Name: val, CategoryID: cat[name]})
				if err != nil {
					return err
				}
				if err := tm.AttachTagToMultipleObjects(ctx, id, objs); err != nil {
					return err
				}
				continue
			}
			if err := tm.AttachTagToMultipleObjects(ctx, id.ID, objs); err != nil {
				return err
			}
		}
	}
	cfm := object.NewCustomFieldsManager(c.Vim())
	def, err := cfm.Add(ctx, "runbook", "VirtualMachine", nil, nil)
	if err != nil {
		return err
	}
	for i := 0; i < len(refs); i += 10 {
		if err := cfm.Set(ctx, refs[i], def.Key, "https://runbooks.example.com/"+refs[i].Value); err != nil {
			return err
		}
	}
	return nil
}
