package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ferrymigrate/ferry/inventory"
)

func TestWindowOpen(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	c := CutoverSpec{Windows: []Window{{Days: []time.Weekday{time.Tuesday, time.Thursday}, Start: "22:00", Duration: 4 * time.Hour, TimeZone: "Europe/Paris"}}}
	cases := []struct {
		at       time.Time
		open     bool
		next     time.Time
		scenario string
	}{
		{time.Date(2027, 3, 2, 23, 0, 0, 0, paris), true, time.Date(2027, 3, 3, 2, 0, 0, 0, paris), "Tuesday 23:00 inside"},
		{time.Date(2027, 3, 3, 1, 59, 0, 0, paris), true, time.Date(2027, 3, 3, 2, 0, 0, 0, paris), "past midnight, still Tuesday's window"},
		{time.Date(2027, 3, 3, 2, 0, 0, 0, paris), false, time.Date(2027, 3, 4, 22, 0, 0, 0, paris), "end is exclusive; next is Thursday"},
		{time.Date(2027, 3, 2, 21, 59, 0, 0, paris), false, time.Date(2027, 3, 2, 22, 0, 0, 0, paris), "a minute before"},
		{time.Date(2027, 3, 5, 12, 0, 0, 0, paris), false, time.Date(2027, 3, 9, 22, 0, 0, 0, paris), "Friday waits for Tuesday"},
		// 2027-03-28 is the spring DST change in Paris: a Sunday; the
		// Tuesday after opens at 22:00 local (20:00 UTC, not 21:00).
		{time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC), false, time.Date(2027, 3, 30, 20, 0, 0, 0, time.UTC), "across DST"},
	}
	for _, tc := range cases {
		open, next := c.WindowOpen(tc.at)
		if open != tc.open || !next.Equal(tc.next) {
			t.Errorf("%s: got open=%v next=%v, want %v %v", tc.scenario, open, next, tc.open, tc.next.UTC())
		}
	}
	if open, next := (CutoverSpec{}).WindowOpen(time.Now()); !open || !next.IsZero() {
		t.Error("no windows must mean always open")
	}
	never := CutoverSpec{Windows: []Window{{Start: "22:00", Duration: 0, TimeZone: "UTC"}, {Start: "22:00", Duration: time.Hour, TimeZone: "Nowhere/City"}}}
	if open, next := never.WindowOpen(time.Now()); open || !next.IsZero() {
		t.Errorf("windows that cannot open: got %v %v", open, next)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30m": 30 * time.Minute, "14d": 14 * 24 * time.Hour, "1w2d": 9 * 24 * time.Hour, "1d12h": 36 * time.Hour, "300ms": 300 * time.Millisecond} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "d", "12", "1x"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestSizeVM(t *testing.T) {
	vm := func(cpu int32, memMB int64, useMHz, maxMHz, useMemMB int32) inventory.VM {
		return inventory.VM{NumCPU: cpu, MemoryMB: memMB, Usage: inventory.Usage{CPUMHz: useMHz, CPUMaxMHz: maxMHz, MemoryMB: useMemMB}}
	}
	cases := []struct {
		name string
		vm   inventory.VM
		tier string
		want string
		why  string
	}{
		{"tier 1 keeps its size on n2", vm(4, 16384, 100, 9600, 1000), "1", "n2-standard-4", "n2 for tier 1"},
		{"idle tier 3 shrinks to half on e2", vm(8, 32768, 500, 19200, 2000), "tier-3", "e2-standard-4", "e2 for tier"},
		{"busy tier 2 goes n2", vm(4, 8192, 8000, 9600, 4000), "2", "n2-standard-4", "CPU busy"},
		{"memory-heavy picks highmem", vm(4, 32768, 1000, 9600, 30000), "3", "e2-highmem-4", "cheapest e2"},
		{"no usage keeps the vSphere size", vm(2, 2048, 0, 0, 0), "", "e2-highcpu-2", "no usage data"},
		{"too big for e2 moves to n2", vm(64, 262144, 0, 0, 0), "3", "n2-standard-64", "too large for e2"},
	}
	for _, c := range cases {
		s := SizeVM(c.vm, c.tier)
		if s.MachineType.Name != c.want || !strings.Contains(s.Note, c.why) {
			t.Errorf("%s: got %s (%s), want %s with %q", c.name, s.MachineType.Name, s.Note, c.want, c.why)
		}
	}
}

func TestMachineTypes(t *testing.T) {
	mt, err := LookupMachineType("n2-highmem-8")
	if err != nil || mt.VCPU != 8 || mt.MemoryGB != 64 {
		t.Fatalf("n2-highmem-8: %+v %v", mt, err)
	}
	if m := mt.MonthlyUSD(); m < 300 || m > 400 { // 8*0.031611+64*0.004237 = $0.524/h
		t.Errorf("n2-highmem-8 monthly %.2f", m)
	}
	for _, bad := range []string{"n2-standard-3", "z9-standard-4", "custom-4-8192", "n2-standard"} {
		if _, err := LookupMachineType(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestInitValidates(t *testing.T) {
	inv := loadInventory(t)
	src := Init(inv, testDeps())
	p, diags := Parse("init.hcl", src)
	if diags.HasErrors() {
		t.Fatalf("init output does not parse: %v\n%s", diags, src)
	}
	// Init cannot know anyone's SSH key: its only errors ask for them.
	if d := errorsExcept(Validate(p, inv, testDeps()), "No key for identity"); len(d) > 0 {
		t.Fatalf("init output does not validate: %v\n%s", d, src)
	}
	if string(Init(inv, testDeps())) != string(src) {
		t.Error("init is not deterministic")
	}
	// Dependencies order the waves: ledger before billing-api before reports.
	if len(p.Waves) != 3 || p.Waves[0].Apps[0] != "ledger" || p.Waves[2].Apps[0] != "reports" {
		t.Errorf("waves: %+v", p.Waves)
	}
}

func TestInitCycleSharesAWave(t *testing.T) {
	inv := loadInventory(t)
	for i := range inv.Apps {
		if inv.Apps[i].Name == "ledger" {
			inv.Apps[i].DependsOn = []string{"reports"} // ledger -> reports -> billing-api -> ledger
		}
	}
	p, _ := Parse("init.hcl", Init(inv, nil))
	if d := errorsExcept(Validate(p, inv, nil), "No key for identity"); len(d) > 0 {
		t.Fatalf("a dependency cycle must land in one wave: %v", d)
	}
	if len(p.Waves) != 1 || len(p.Waves[0].Apps) != 3 {
		t.Errorf("waves: %+v", p.Waves)
	}
}

// errorsExcept returns the error diagnostics whose summary is not one of
// the given ones.
func errorsExcept(diags hcl.Diagnostics, summaries ...string) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError && !slices.Contains(summaries, d.Summary) {
			out = append(out, d)
		}
	}
	return out
}

// Front ends are the VMs serving the health-check port; without flow data
// every VM is one.
func TestFrontEnds(t *testing.T) {
	s := AppSpec{Cutover: CutoverSpec{HealthCheck: HealthCheck{Port: 443}},
		VMs: []VMSpec{{Name: "web-1", Ports: []int{443, 22}}, {Name: "db-1", Ports: []int{5432}}, {Name: "web-2", Ports: []int{443}}}}
	var names []string
	for _, v := range s.FrontEnds() {
		names = append(names, v.Name)
	}
	if len(names) != 2 || names[0] != "web-1" || names[1] != "web-2" {
		t.Fatalf("front ends %v", names)
	}
	s.VMs = []VMSpec{{Name: "a"}, {Name: "b"}}
	if len(s.FrontEnds()) != 2 {
		t.Fatal("without flow data every VM is a front end")
	}
}
