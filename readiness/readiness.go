// Package readiness says, before anyone plans, whether each VM and app can
// move to Compute Engine as it is: ready, ready with conditions, or not
// ready, each finding with its reason and the fix, like the assessments
// Forklift and Azure Migrate run. It reads only the inventory (what
// discovery recorded from vCenter), so it runs offline on a saved file.
package readiness

import (
	"slices"
	"time"

	"github.com/ferrymigrate/ferry/inventory"
)

// SchemaVersion names the JSON of Report (docs/readiness.md).
const SchemaVersion = "ferry.readiness/v1"

// Verdict is the outcome of a check, a VM or an app; worse verdicts sort
// later.
type Verdict string

const (
	Ready       Verdict = "ready"
	Conditional Verdict = "ready-with-conditions"
	NotReady    Verdict = "not-ready"
)

func (v Verdict) rank() int {
	switch v {
	case NotReady:
		return 2
	case Conditional:
		return 1
	}
	return 0
}

// Worse returns the worse of two verdicts.
func Worse(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	if a == "" {
		return Ready
	}
	return a
}

// Check names, stable across releases (scripts match on them).
const (
	CheckGuestOS       = "guest-os"
	CheckRDM           = "rdm-disk"
	CheckSharedDisk    = "shared-disk"
	CheckIndependent   = "independent-disk"
	CheckSnapshots     = "snapshots"
	CheckDiskSize      = "disk-size"
	CheckBootDisk      = "boot-disk-mbr"
	CheckNICs          = "nics"
	CheckSecureBoot    = "secure-boot"
	CheckFirmware      = "firmware"
	CheckTools         = "vmware-tools"
	CheckPowerState    = "power-state"
	CheckNoDisks       = "no-disks"
	CheckUnassessedVMs = "missing-vm"
)

// Checks lists every check name, for plans that accept findings by name
// (accept_readiness in ferry.hcl).
func Checks() []string {
	return []string{CheckGuestOS, CheckRDM, CheckSharedDisk, CheckIndependent, CheckSnapshots, CheckDiskSize,
		CheckBootDisk, CheckNICs, CheckSecureBoot, CheckFirmware, CheckTools, CheckPowerState, CheckNoDisks}
}

// Finding is one check that did not pass cleanly.
type Finding struct {
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	Fix     string  `json:"fix"`
	Disk    string  `json:"disk,omitempty"` // the disk's label, for disk checks
	// Accepted: the reviewed plan accepts this finding (accept_readiness),
	// so it no longer blocks the plan gate; see VMReport.Accept.
	Accepted bool `json:"accepted,omitempty"`
}

// VMReport is the readiness of one VM.
type VMReport struct {
	Ref      string    `json:"ref"`
	Name     string    `json:"name"`
	App      string    `json:"app,omitempty"`
	Verdict  Verdict   `json:"verdict"`
	Findings []Finding `json:"findings"` // empty when ready
}

// AppReport is the readiness of one app: its worst VM.
type AppReport struct {
	Name    string     `json:"name"`
	Verdict Verdict    `json:"verdict"`
	Counts  Counts     `json:"counts"`
	VMs     []VMReport `json:"vms"`
}

// Counts counts VMs by verdict.
type Counts struct {
	Ready       int `json:"ready"`
	Conditional int `json:"readyWithConditions"`
	NotReady    int `json:"notReady"`
}

func (c *Counts) add(v Verdict) {
	switch v {
	case NotReady:
		c.NotReady++
	case Conditional:
		c.Conditional++
	default:
		c.Ready++
	}
}

// Report is the readiness of a whole inventory.
type Report struct {
	Schema     string      `json:"schema"`
	Source     string      `json:"source"`
	CheckedAt  time.Time   `json:"checkedAt"`
	Counts     Counts      `json:"counts"` // VMs, apps' and unassigned together
	Apps       []AppReport `json:"apps"`
	Unassigned []VMReport  `json:"unassigned"`
}

// Options tune the checks.
type Options struct {
	// TargetVCPU returns the vCPUs of the machine type a VM will get, for
	// the NIC limit; nil (or 0) uses its vSphere vCPUs. plan passes its
	// sized machine types.
	TargetVCPU func(inventory.VM) int
	// Now stamps the report (tests); nil is time.Now.
	Now func() time.Time
	// Accepted returns the checks the reviewed plan accepts for a VM
	// (ferry.hcl's accept_readiness); nil accepts nothing.
	Accepted func(inventory.VM) []string
}

// Check assesses every VM of inv and rolls VMs up into apps (an app is as
// ready as its least ready VM).
func Check(inv *inventory.Inventory, opts Options) Report {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r := Report{Schema: SchemaVersion, Source: inv.Source, CheckedAt: now().UTC().Truncate(time.Second),
		Apps: []AppReport{}, Unassigned: []VMReport{}}
	byRef := make(map[string]inventory.VM, len(inv.VMs))
	for _, v := range inv.VMs {
		byRef[v.Ref] = v
	}
	for _, a := range inv.Apps {
		ar := AppReport{Name: a.Name, Verdict: Ready, VMs: []VMReport{}}
		for _, ref := range a.VMs {
			v, ok := byRef[ref]
			var vr VMReport
			if ok {
				vr = CheckVM(v, opts)
			} else {
				vr = VMReport{Ref: ref, App: a.Name, Verdict: NotReady, Findings: []Finding{{Check: CheckUnassessedVMs, Verdict: NotReady,
					Reason: "the app lists this VM but the inventory does not describe it", Fix: "run ferry discover again"}}}
			}
			ar.Verdict = Worse(ar.Verdict, vr.Verdict)
			ar.Counts.add(vr.Verdict)
			r.Counts.add(vr.Verdict)
			ar.VMs = append(ar.VMs, vr)
		}
		r.Apps = append(r.Apps, ar)
	}
	for _, ref := range inv.Unassigned {
		if v, ok := byRef[ref]; ok {
			vr := CheckVM(v, opts)
			r.Counts.add(vr.Verdict)
			r.Unassigned = append(r.Unassigned, vr)
		}
	}
	return r
}

// App returns the report of one app, or false.
func (r Report) App(name string) (AppReport, bool) {
	for _, a := range r.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return AppReport{}, false
}

// Blocking lists an app's not-ready findings the plan does not accept, VM
// by VM: what must be fixed before its plan may pass the gate.
func (a AppReport) Blocking() []VMReport {
	var out []VMReport
	for _, v := range a.VMs {
		if v.Verdict != NotReady {
			continue
		}
		b := v
		b.Findings = slices.DeleteFunc(slices.Clone(v.Findings), func(f Finding) bool { return f.Verdict != NotReady || f.Accepted })
		out = append(out, b)
	}
	return out
}

// Accept marks the findings whose check is in checks as accepted by the
// reviewed plan. An accepted not-ready finding makes the VM ready with
// conditions at worst: a person signed for the risk in review, and the
// finding stays in the report, marked accepted.
func (v VMReport) Accept(checks []string) VMReport {
	if len(checks) == 0 {
		return v
	}
	out := v
	out.Findings = slices.Clone(v.Findings)
	out.Verdict = Ready
	for i := range out.Findings {
		f := &out.Findings[i]
		if slices.Contains(checks, f.Check) {
			f.Accepted = true
			out.Verdict = Worse(out.Verdict, Conditional)
			continue
		}
		out.Verdict = Worse(out.Verdict, f.Verdict)
	}
	return out
}

// CheckVM runs every check on one VM.
func CheckVM(v inventory.VM, opts Options) VMReport {
	r := VMReport{Ref: v.Ref, Name: v.Name, App: v.App, Verdict: Ready, Findings: []Finding{}}
	add := func(f Finding) {
		r.Findings = append(r.Findings, f)
		r.Verdict = Worse(r.Verdict, f.Verdict)
	}
	checkGuest(v, add)
	checkDisks(v, add)
	checkNICs(v, opts, add)
	checkFirmware(v, add)
	checkRuntime(v, add)
	if opts.Accepted != nil {
		r = r.Accept(opts.Accepted(v))
	}
	return r
}

// CheckApp assesses the VMs of one app as discovered now (the worker's
// discovery at the start of a migration) and rolls them up.
func CheckApp(app string, vms []inventory.VM, opts Options) AppReport {
	ar := AppReport{Name: app, Verdict: Ready, VMs: []VMReport{}}
	for _, v := range vms {
		vr := CheckVM(v, opts)
		ar.Verdict = Worse(ar.Verdict, vr.Verdict)
		ar.Counts.add(vr.Verdict)
		ar.VMs = append(ar.VMs, vr)
	}
	return ar
}
