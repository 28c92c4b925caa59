package inventory

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vmware/govmomi/performance"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// Usage history: CPU and memory of every VM over a window, read from
// vCenter's PerformanceManager at the rollup vCenter keeps for that window
// (by default "Past Month": one sample every 2 hours for 30 days). Sizing
// uses the 95th percentile; a VM without history says why, and sizing
// falls back visibly to the quickStats sample.

// DefaultUsageWindow is the history right-sizing reads by default.
const DefaultUsageWindow = 30 * 24 * time.Hour

// The counters read: both are statistics level 1, so every historical
// interval of a default vCenter keeps them. cpu.usage.average is the
// percentage of the VM's vCPU capacity, mem.usage.average the active
// memory as a percentage of configured memory (the same quantity as
// quickStats.guestMemoryUsage); both in hundredths of a percent.
const (
	CounterCPU = "cpu.usage.average"
	CounterMem = "mem.usage.average"
)

// perfBatch is the number of VMs per QueryPerf call: two metrics each keeps
// a call at vCenter's default limit of 64 metrics per historical query
// (config.vpxd.stats.maxQueryMetrics).
const perfBatch = 32

// minSamples is the least history sizing trusts over the quickStats sample.
const minSamples = 12

// UsageHistory is what vCenter's performance history says about one VM.
type UsageHistory struct {
	Source       string    `json:"source"`       // "vcenter-performance-manager"
	Counters     []string  `json:"counters"`     // counters read
	IntervalSecs int32     `json:"intervalSecs"` // sampling period of the rollup read, e.g. 7200
	IntervalName string    `json:"intervalName"` // vCenter's name of that rollup, e.g. "Past Month"
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Samples      int       `json:"samples"`   // samples with data (CPU and memory each)
	CPUP95Pct    float64   `json:"cpuP95Pct"` // 95th percentile of CPU use, % of the VM's vCPUs
	CPUMaxPct    float64   `json:"cpuMaxPct"`
	MemP95Pct    float64   `json:"memP95Pct"` // 95th percentile of active memory, % of configured
	MemMaxPct    float64   `json:"memMaxPct"`
	// Missing says why there is no usable history; the numbers are then
	// zero and sizing uses the quickStats sample.
	Missing string `json:"missing,omitempty"`
}

// Usable reports whether sizing may trust the history.
func (h *UsageHistory) Usable() bool { return h != nil && h.Missing == "" && h.Samples >= minSamples }

// ReadUsageHistory fills VM.History of every VM in vms with window of
// performance history. It fails only when ctx ends; anything vCenter
// cannot give is recorded per VM in History.Missing.
func (c *Client) ReadUsageHistory(ctx context.Context, vms []VM, window time.Duration) error {
	if len(vms) == 0 {
		return nil
	}
	if window <= 0 {
		window = DefaultUsageWindow
	}
	missing := func(why string) {
		for i := range vms {
			vms[i].History = &UsageHistory{Source: "vcenter-performance-manager", Missing: why}
		}
	}
	if c.vim.ServiceContent.PerfManager == nil {
		missing("this endpoint has no PerformanceManager")
		return nil
	}
	pm := performance.NewManager(c.vim)
	var intervals performance.IntervalList
	if err := c.retry(ctx, "read historical intervals", func() error {
		var err error
		intervals, err = pm.HistoricalInterval(ctx)
		return err
	}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		missing("vCenter refused to list its statistics intervals: " + err.Error())
		return nil
	}
	iv, ok := pickInterval(intervals, window)
	if !ok {
		missing("vCenter keeps no enabled historical statistics interval")
		return nil
	}
	var byName map[string]*types.PerfCounterInfo
	if err := c.retry(ctx, "read performance counters", func() error {
		var err error
		byName, err = pm.CounterInfoByName(ctx)
		return err
	}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		missing("vCenter refused to list its performance counters: " + err.Error())
		return nil
	}
	cpu, mem := byName[CounterCPU], byName[CounterMem]
	if cpu == nil || mem == nil {
		missing(fmt.Sprintf("vCenter has no %s/%s counters", CounterCPU, CounterMem))
		return nil
	}
	if iv.Level < cpu.Level || iv.Level < mem.Level {
		missing(fmt.Sprintf("the %q interval keeps statistics level %d, below the level %d the counters need: raise it in vCenter's statistics settings", iv.Name, iv.Level, max(cpu.Level, mem.Level)))
		return nil
	}
	end := c.serverTime(ctx)
	start := end.Add(-min(window, time.Duration(iv.Length)*time.Second))
	for lo := 0; lo < len(vms); lo += perfBatch {
		batch := vms[lo:min(lo+perfBatch, len(vms))]
		specs := make([]types.PerfQuerySpec, len(batch))
		for i, v := range batch {
			specs[i] = types.PerfQuerySpec{
				Entity:     types.ManagedObjectReference{Type: "VirtualMachine", Value: v.Ref},
				StartTime:  &start,
				EndTime:    &end,
				IntervalId: iv.SamplingPeriod,
				MetricId:   []types.PerfMetricId{{CounterId: cpu.Key}, {CounterId: mem.Key}},
				Format:     string(types.PerfFormatNormal),
			}
		}
		var res []types.BasePerfEntityMetricBase
		err := c.retry(ctx, "query performance history", func() error {
			r, err := methods.QueryPerf(ctx, c.vim, &types.QueryPerf{This: *c.vim.ServiceContent.PerfManager, QuerySpec: specs})
			if err == nil {
				res = r.Returnval
			}
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for i := range batch {
				batch[i].History = &UsageHistory{Source: "vcenter-performance-manager", Missing: "vCenter refused the performance query: " + err.Error()}
			}
			continue
		}
		series := map[string]map[int32][]int64{}
		for _, b := range res {
			m, ok := b.(*types.PerfEntityMetric)
			if !ok {
				continue
			}
			s := map[int32][]int64{}
			for _, bv := range m.Value {
				if iv, ok := bv.(*types.PerfMetricIntSeries); ok && iv.Id.Instance == "" {
					s[iv.Id.CounterId] = append(s[iv.Id.CounterId], iv.Value...)
				}
			}
			series[m.Entity.Value] = s
		}
		for i := range batch {
			h := &UsageHistory{Source: "vcenter-performance-manager", Counters: []string{CounterCPU, CounterMem},
				IntervalSecs: iv.SamplingPeriod, IntervalName: iv.Name, From: start.UTC(), To: end.UTC()}
			s := series[batch[i].Ref]
			cpuV, memV := valid(s[cpu.Key]), valid(s[mem.Key])
			h.Samples = min(len(cpuV), len(memV))
			switch {
			case h.Samples == 0:
				h.Missing = fmt.Sprintf("vCenter holds no %s samples at the %d s rollup for this VM (powered off through the window, or new)", iv.Name, iv.SamplingPeriod)
			case h.Samples < minSamples:
				h.Missing = fmt.Sprintf("only %d samples at the %d s rollup (sizing needs %d)", h.Samples, iv.SamplingPeriod, minSamples)
			}
			h.CPUP95Pct, h.CPUMaxPct = percentile(cpuV, 95)/100, percentile(cpuV, 100)/100
			h.MemP95Pct, h.MemMaxPct = percentile(memV, 95)/100, percentile(memV, 100)/100
			batch[i].History = h
		}
	}
	return nil
}

// pickInterval is the finest enabled rollup that still spans the window,
// else the longest one kept.
func pickInterval(list performance.IntervalList, window time.Duration) (types.PerfInterval, bool) {
	var best, longest types.PerfInterval
	found := false
	for _, iv := range list {
		if !iv.Enabled {
			continue
		}
		if iv.Length > longest.Length {
			longest = iv
		}
		if time.Duration(iv.Length)*time.Second >= window && (!found || iv.SamplingPeriod < best.SamplingPeriod) {
			best, found = iv, true
		}
	}
	if found {
		return best, true
	}
	return longest, longest.SamplingPeriod > 0
}

// serverTime is vCenter's clock, so the window is vCenter's last N days
// even when ferry's host clock is off; the local clock when it cannot say.
func (c *Client) serverTime(ctx context.Context) time.Time {
	r, err := methods.GetCurrentTime(ctx, c.vim)
	if err != nil || r == nil || r.IsZero() {
		return time.Now()
	}
	return *r
}

// valid drops vCenter's "no data" markers (-1).
func valid(xs []int64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x >= 0 {
			out = append(out, float64(x))
		}
	}
	return out
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of xs; 0 for
// none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
