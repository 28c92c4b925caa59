package inventory

import (
	"slices"
	"testing"
)

func TestDetectDrift(t *testing.T) {
	disk := func(gb ...int64) []Disk {
		var d []Disk
		for _, g := range gb {
			d = append(d, Disk{CapacityBytes: g << 30})
		}
		return d
	}
	actual := []VM{
		{Ref: "vm-1", Name: "web-01", NumCPU: 2, MemoryMB: 4096, Disks: disk(40)},
		{Ref: "vm-2", Name: "web-02-new", NumCPU: 4, MemoryMB: 4096, Disks: disk(40, 100)},
		{Ref: "vm-3", Name: "db-01", NumCPU: 8, MemoryMB: 32768, Disks: disk(40, 500)},
		{Ref: "vm-4", Name: "web-03", NumCPU: 2, MemoryMB: 4096, Disks: disk(40)},
	}
	planned := []PlannedVM{
		{Ref: "vm-1", Name: "web-01", NumCPU: 2, MemoryMB: 4096, DiskGB: 40},
		{Ref: "vm-2", Name: "web-02", NumCPU: 2, MemoryMB: 4096, DiskGB: 40, DataDisksGB: []int64{100}},
		{Ref: "vm-3", Name: "db-01", NumCPU: 8, MemoryMB: 32768, DiskGB: 540}, // total form
		{Name: "web-03"},                    // no ref, no sizes: matched by name, sizes not compared
		{Ref: "vm-9", Name: "old-batch-01"}, // gone
	}
	got := DetectDrift(planned, actual)
	var kinds []string
	for _, d := range got {
		kinds = append(kinds, d.VMName+":"+d.Kind)
	}
	want := []string{"old-batch-01:removed", "web-02-new:renamed", "web-02-new:resized"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("drift %v, want %v (%+v)", kinds, want, got)
	}
	if got[2].Detail != "web-02-new (vm-2) resized: vCPU 2 -> 4" {
		t.Fatalf("detail %q", got[2].Detail)
	}

	// Everything unplanned is added; nothing planned and nothing found is no drift.
	if d := DetectDrift(nil, actual[:1]); len(d) != 1 || d[0].Kind != DriftAdded {
		t.Fatalf("added: %+v", d)
	}
	if d := DetectDrift(nil, nil); d != nil {
		t.Fatalf("empty: %+v", d)
	}
	// A planned VM is matched once: a duplicate plan entry is removed drift.
	if d := DetectDrift([]PlannedVM{{Ref: "vm-1", Name: "web-01"}, {Ref: "vm-1", Name: "web-01"}}, actual[:1]); len(d) != 1 || d[0].Kind != DriftRemoved {
		t.Fatalf("duplicate: %+v", d)
	}
	// Disk grew beyond both readings of the plan.
	if d := DetectDrift([]PlannedVM{{Ref: "vm-3", Name: "db-01", DiskGB: 40, DataDisksGB: []int64{400}}}, actual[2:3]); len(d) != 1 || d[0].Kind != DriftResized {
		t.Fatalf("disk: %+v", d)
	}
}

func TestScrub(t *testing.T) {
	in := `Post "https://admin:hunter2@vc.example.com/sdk": dial tcp: refused; see http://u:p@x/y`
	got := scrub(in)
	if got != `Post "https://vc.example.com/sdk": dial tcp: refused; see http://x/y` {
		t.Fatalf("scrub = %s", got)
	}
}
