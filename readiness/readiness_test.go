package readiness_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/readiness"
)

func discover(t *testing.T, p *sample.Portfolio) *inventory.Inventory {
	t.Helper()
	opts := inventory.DefaultOptions()
	opts.UsageWindow = -1 // readiness does not need usage history
	inv, err := sample.Discover(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// expect is what a planted problem must produce.
var expect = map[sample.Problem]struct {
	check   string
	verdict readiness.Verdict
	reason  string
}{
	sample.ProblemRDM:              {readiness.CheckRDM, readiness.NotReady, "physical compatibility mode"},
	sample.ProblemMultiWriter:      {readiness.CheckSharedDisk, readiness.NotReady, "multi-writer"},
	sample.ProblemBusSharing:       {readiness.CheckSharedDisk, readiness.NotReady, "physicalSharing"},
	sample.ProblemSnapshot:         {readiness.CheckSnapshots, readiness.Conditional, "1 snapshot"},
	sample.ProblemHugeDisk:         {readiness.CheckDiskSize, readiness.NotReady, "70.0 TiB"},
	sample.ProblemHugeBootDisk:     {readiness.CheckBootDisk, readiness.NotReady, "3.0 TiB on BIOS"},
	sample.ProblemManyNICs:         {readiness.CheckNICs, readiness.NotReady, "9 network adapters"},
	sample.ProblemSecureBoot:       {readiness.CheckSecureBoot, readiness.Conditional, "secure boot is on"},
	sample.ProblemToolsNotRunning:  {readiness.CheckTools, readiness.Conditional, "not running"},
	sample.ProblemPoweredOff:       {readiness.CheckPowerState, readiness.Conditional, "poweredOff"},
	sample.ProblemUnsupportedGuest: {readiness.CheckGuestOS, readiness.NotReady, "Windows Server 2008 R2"},
	sample.ProblemEOLGuest:         {readiness.CheckGuestOS, readiness.Conditional, "CentOS 7"},
}

// TestPlantedProblemsOnVCenter plants every problem on its own VM of the
// sample portfolio in vcsim, discovers it as from a real vCenter, and
// asserts each VM's verdict and reason; the untouched VMs keep the verdict
// they have in the default portfolio, which has no not-ready app.
func TestPlantedProblemsOnVCenter(t *testing.T) {
	o := sample.Default()
	base := discover(t, sample.Generate(o))
	before := readiness.Check(base, readiness.Options{})
	baseVerdict := map[string]readiness.Verdict{}
	for _, a := range before.Apps {
		if a.Verdict == readiness.NotReady {
			t.Errorf("default sample app %s is not ready: %+v", a.Name, a.Blocking())
		}
		for _, v := range a.VMs {
			baseVerdict[v.Name] = v.Verdict
		}
	}
	if before.Counts.Ready == 0 || before.Counts.NotReady != 0 {
		t.Errorf("default sample counts: %+v", before.Counts)
	}

	p := sample.Generate(o)
	planted := map[string]sample.Problem{} // VM name -> problem
	problems := []sample.Problem{sample.ProblemRDM, sample.ProblemMultiWriter, sample.ProblemBusSharing, sample.ProblemSnapshot,
		sample.ProblemHugeDisk, sample.ProblemHugeBootDisk, sample.ProblemManyNICs, sample.ProblemSecureBoot,
		sample.ProblemToolsNotRunning, sample.ProblemPoweredOff, sample.ProblemUnsupportedGuest, sample.ProblemEOLGuest}
	next := 0
	for ai := range p.Apps {
		for vi := range p.Apps[ai].VMs {
			v := &p.Apps[ai].VMs[vi]
			// Plant on powered-on VMs whose guest is fully supported, one
			// problem per VM, so each finding is the only one.
			if next < len(problems) && v.PoweredOn && baseVerdict[v.Name] == readiness.Ready {
				v.Problems = []sample.Problem{problems[next]}
				planted[v.Name] = problems[next]
				next++
			}
		}
	}
	if next != len(problems) {
		t.Fatalf("only %d VMs to plant %d problems on", next, len(problems))
	}
	inv := discover(t, p)
	rep := readiness.Check(inv, readiness.Options{})
	seen := 0
	for _, a := range rep.Apps {
		appWant := readiness.Ready
		for _, v := range a.VMs {
			prob, ok := planted[v.Name]
			if !ok {
				if v.Verdict != baseVerdict[v.Name] {
					t.Errorf("%s (no problem planted): %s, was %s: %+v", v.Name, v.Verdict, baseVerdict[v.Name], v.Findings)
				}
				appWant = readiness.Worse(appWant, v.Verdict)
				continue
			}
			seen++
			want := expect[prob]
			appWant = readiness.Worse(appWant, want.verdict)
			if v.Verdict != want.verdict {
				t.Errorf("%s with %s: verdict %s, want %s (%+v)", v.Name, prob, v.Verdict, want.verdict, v.Findings)
			}
			found := false
			for _, f := range v.Findings {
				if f.Check == want.check && f.Verdict == want.verdict && strings.Contains(f.Reason, want.reason) && f.Fix != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s with %s: no %s/%s finding mentioning %q: %+v", v.Name, prob, want.check, want.verdict, want.reason, v.Findings)
			}
		}
		if a.Verdict != appWant {
			t.Errorf("app %s: %s, want %s", a.Name, a.Verdict, appWant)
		}
		if a.Verdict == readiness.NotReady && len(a.Blocking()) == 0 {
			t.Errorf("app %s is not ready but names nothing blocking", a.Name)
		}
	}
	if seen != len(problems) {
		t.Errorf("saw %d planted VMs, want %d", seen, len(problems))
	}
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"schema":"ferry.readiness/v1"`) {
		t.Errorf("json: %v %.200s", err, b)
	}
}

func TestChecksOnEdges(t *testing.T) {
	disk := func(gb int64) inventory.Disk {
		return inventory.Disk{Label: "Hard disk 1", CapacityBytes: gb << 30, Backing: "flat", Sharing: "sharingNone", Mode: "persistent"}
	}
	vm := inventory.VM{Ref: "vm-1", Name: "a-01", PowerState: "poweredOn", GuestID: "rhel8_64Guest", ToolsStatus: "toolsOk",
		ToolsRunningStatus: "guestToolsRunning", NumCPU: 2, MemoryMB: 4096, Firmware: "bios", Disks: []inventory.Disk{disk(40)},
		NICs: []inventory.NIC{{Label: "Network adapter 1"}}}
	if r := readiness.CheckVM(vm, readiness.Options{}); r.Verdict != readiness.Ready || len(r.Findings) != 0 {
		t.Fatalf("clean VM: %+v", r)
	}
	cases := []struct {
		name   string
		change func(*inventory.VM)
		opts   readiness.Options
		check  string
		want   readiness.Verdict
	}{
		{"64 TiB exactly fits", func(v *inventory.VM) { v.Disks = append(v.Disks, disk(64<<10)) }, readiness.Options{}, "", readiness.Ready},
		{"64 TiB + 1 GiB does not", func(v *inventory.VM) { v.Disks = append(v.Disks, disk(64<<10+1)) }, readiness.Options{}, readiness.CheckDiskSize, readiness.NotReady},
		{"2 TiB BIOS boot fits", func(v *inventory.VM) { v.Disks[0] = disk(2 << 10) }, readiness.Options{}, "", readiness.Ready},
		{"3 TiB EFI boot fits", func(v *inventory.VM) { v.Disks[0] = disk(3 << 10); v.Firmware = "efi" }, readiness.Options{}, "", readiness.Ready},
		{"32-bit guest", func(v *inventory.VM) { v.GuestID = "rhel7Guest" }, readiness.Options{}, readiness.CheckGuestOS, readiness.NotReady},
		{"solaris", func(v *inventory.VM) { v.GuestID = "solaris11_64Guest" }, readiness.Options{}, readiness.CheckGuestOS, readiness.NotReady},
		{"independent disk", func(v *inventory.VM) { v.Disks[0].Mode = "independent_nonpersistent" }, readiness.Options{}, readiness.CheckIndependent, readiness.NotReady},
		{"3 NICs on 2 vCPU", func(v *inventory.VM) { v.NICs = make([]inventory.NIC, 3) }, readiness.Options{}, readiness.CheckNICs, readiness.Conditional},
		{"3 NICs, target 4 vCPU", func(v *inventory.VM) { v.NICs = make([]inventory.NIC, 3) },
			readiness.Options{TargetVCPU: func(inventory.VM) int { return 4 }}, readiness.CheckNICs, readiness.Conditional},
		{"no disks", func(v *inventory.VM) { v.Disks = nil }, readiness.Options{}, readiness.CheckNoDisks, readiness.NotReady},
		{"tools not installed", func(v *inventory.VM) { v.ToolsStatus, v.ToolsRunningStatus = "toolsNotInstalled", "" }, readiness.Options{}, readiness.CheckTools, readiness.Conditional},
		{"powered off skips tools", func(v *inventory.VM) { v.PowerState, v.ToolsRunningStatus = "poweredOff", "guestToolsNotRunning" }, readiness.Options{}, readiness.CheckPowerState, readiness.Conditional},
	}
	for _, c := range cases {
		v := vm
		v.Disks = append([]inventory.Disk(nil), vm.Disks...)
		c.change(&v)
		r := readiness.CheckVM(v, c.opts)
		if r.Verdict != c.want {
			t.Errorf("%s: %s, want %s: %+v", c.name, r.Verdict, c.want, r.Findings)
			continue
		}
		if c.check != "" && (len(r.Findings) != 1 || r.Findings[0].Check != c.check) {
			t.Errorf("%s: findings %+v, want exactly one %s", c.name, r.Findings, c.check)
		}
	}
	// The NIC fix names the vCPUs needed, from the target when given.
	v := vm
	v.NICs = make([]inventory.NIC, 5)
	r := readiness.CheckVM(v, readiness.Options{TargetVCPU: func(inventory.VM) int { return 4 }})
	if len(r.Findings) != 1 || !strings.Contains(r.Findings[0].Reason, "target machine type") || !strings.Contains(r.Findings[0].Fix, "at least 5 vCPUs") {
		t.Errorf("5 NICs on a 4 vCPU target: %+v", r.Findings)
	}
}

// A plan's acceptance turns a not-ready finding into a condition and takes
// it out of Blocking; unaccepted findings keep their verdict.
func TestAccept(t *testing.T) {
	vm := inventory.VM{Ref: "vm-1", Name: "a-01", App: "a", PowerState: "poweredOn", GuestID: "rhel8_64Guest", ToolsStatus: "toolsOk",
		ToolsRunningStatus: "guestToolsRunning", NumCPU: 2, MemoryMB: 4096, Firmware: "bios", Snapshots: 2,
		Disks: []inventory.Disk{{Label: "Hard disk 1", CapacityBytes: 40 << 30, Backing: "rdmPhysical", Mode: "persistent"}}}
	r := readiness.CheckVM(vm, readiness.Options{})
	if r.Verdict != readiness.NotReady {
		t.Fatalf("RDM: %+v", r)
	}
	cases := []struct {
		accept []string
		want   readiness.Verdict
		block  int
	}{
		{nil, readiness.NotReady, 1},
		{[]string{readiness.CheckSnapshots}, readiness.NotReady, 1},
		{[]string{readiness.CheckRDM}, readiness.Conditional, 0},
		{[]string{readiness.CheckRDM, readiness.CheckSnapshots}, readiness.Conditional, 0},
	}
	for _, c := range cases {
		got := readiness.CheckApp("a", []inventory.VM{vm}, readiness.Options{Accepted: func(inventory.VM) []string { return c.accept }})
		if got.Verdict != c.want || len(got.Blocking()) != c.block || len(got.VMs[0].Findings) != 2 {
			t.Errorf("accept %v: %s, %d blocking, findings %+v", c.accept, got.Verdict, len(got.Blocking()), got.VMs[0].Findings)
		}
		for _, f := range got.VMs[0].Findings {
			if f.Accepted != slices.Contains(c.accept, f.Check) {
				t.Errorf("accept %v: finding %s accepted=%v", c.accept, f.Check, f.Accepted)
			}
		}
	}
}
