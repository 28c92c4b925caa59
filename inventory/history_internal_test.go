package inventory

import (
	"testing"
	"time"

	"github.com/vmware/govmomi/performance"
	"github.com/vmware/govmomi/vim25/types"
)

func TestPercentile(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i) // 100..1, unsorted input
	}
	if p := percentile(xs, 95); p != 95 {
		t.Errorf("p95 of 1..100 = %v, want 95", p)
	}
	if p := percentile(xs, 100); p != 100 {
		t.Errorf("max = %v", p)
	}
	if p := percentile([]float64{7}, 95); p != 7 {
		t.Errorf("p95 of one = %v", p)
	}
	if p := percentile(nil, 95); p != 0 {
		t.Errorf("p95 of none = %v", p)
	}
	if v := valid([]int64{-1, 5, -1, 0}); len(v) != 2 {
		t.Errorf("valid drops -1 only: %v", v)
	}
}

func TestPickInterval(t *testing.T) {
	list := performance.IntervalList{
		{Enabled: true, Name: "Past Day", SamplingPeriod: 300, Length: 86400},
		{Enabled: false, Name: "Past Week", SamplingPeriod: 1800, Length: 604800},
		{Enabled: true, Name: "Past Month", SamplingPeriod: 7200, Length: 2592000},
	}
	if iv, _ := pickInterval(list, 7*24*time.Hour); iv.Name != "Past Month" {
		t.Errorf("a week with Past Week disabled: %s", iv.Name)
	}
	if iv, _ := pickInterval(list, time.Hour); iv.Name != "Past Day" {
		t.Errorf("an hour: %s", iv.Name)
	}
	if iv, _ := pickInterval(list, 90*24*time.Hour); iv.Name != "Past Month" {
		t.Errorf("90 days: longest kept, got %s", iv.Name)
	}
	if _, ok := pickInterval([]types.PerfInterval{{Enabled: false, SamplingPeriod: 300, Length: 86400}}, time.Hour); ok {
		t.Error("nothing enabled must say so")
	}
}
