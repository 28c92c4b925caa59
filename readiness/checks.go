package readiness

import (
	"fmt"
	"strings"

	"github.com/ferrymigrate/ferry/inventory"
)

// GCE limits the checks apply (cloud.google.com/compute/docs/disks,
// /docs/network-interfaces, /docs/images/os-details; Migrate to Virtual
// Machines' vSphere prerequisites).
const (
	MaxDiskBytes    = 64 << 40 // Persistent Disk and Hyperdisk: 64 TiB per disk
	MaxMBRBootBytes = 2 << 40  // an MBR-partitioned boot disk addresses 2 TiB
	MaxNICs         = 8        // per instance, and at most one per vCPU above 2 vCPUs
)

// guestSupport is what GCE and Migrate to Virtual Machines offer a guest OS.
type guestSupport struct {
	verdict Verdict
	reason  string
	fix     string
}

// guestOS maps vSphere guest ids to their status on GCE. Ids missing here
// fall back to rules by family (see classifyGuest).
var guestOS = map[string]guestSupport{
	// Supported, with GCE public images and Migrate to VMs adaptation.
	"rhel8_64Guest":              {Ready, "", ""},
	"rhel9_64Guest":              {Ready, "", ""},
	"rockylinux_64Guest":         {Ready, "", ""},
	"almalinux_64Guest":          {Ready, "", ""},
	"ubuntu64Guest":              {Ready, "", ""},
	"debian11_64Guest":           {Ready, "", ""},
	"debian12_64Guest":           {Ready, "", ""},
	"sles15_64Guest":             {Ready, "", ""},
	"windows9Server64Guest":      {Ready, "", ""}, // Windows Server 2016
	"windows2019srv_64Guest":     {Ready, "", ""},
	"windows2019srvNext_64Guest": {Ready, "", ""}, // Windows Server 2022
	"windows2022srvNext_64Guest": {Ready, "", ""}, // Windows Server 2025
	// Migrates, but end of life or without a GCE public image.
	"centos7_64Guest": {Conditional, "CentOS 7 reached end of life on 2024-06-30 and GCE no longer publishes CentOS 7 images",
		"migrate the disks as they are (Migrate to VMs adapts CentOS 7) and plan the move to Rocky Linux or RHEL; ferry's plan needs a boot image only for rebuilt VMs"},
	"centos8_64Guest": {Conditional, "CentOS 8 reached end of life on 2021-12-31; GCE publishes no CentOS 8 image",
		"migrate the disks as they are and convert to Rocky Linux 8 or RHEL 8 (convert2rhel) soon after"},
	"rhel7_64Guest": {Conditional, "RHEL 7 left maintenance on 2024-06-30; on GCE it needs Extended Life Cycle Support",
		"buy ELS for the GCE instances or upgrade to RHEL 8 (leapp) before the cutover"},
	"debian10_64Guest": {Conditional, "Debian 10 reached end of life (LTS ended 2024-06-30)",
		"migrate as it is and upgrade to Debian 12 after the move, or before it"},
	"sles12_64Guest": {Conditional, "SLES 12 is in LTSS only", "keep LTSS on GCE or upgrade to SLES 15"},
	"windows8Server64Guest": {Conditional, "Windows Server 2012/2012 R2 reached end of support on 2023-10-10; GCE publishes no images for it",
		"bring your own licence with Extended Security Updates, or upgrade in place to Windows Server 2019 or later before migrating"},
	"otherLinux64Guest": {Conditional, "vCenter does not know which Linux this is",
		"set the VM's guest OS in vSphere to the real distribution (or check guestFullName) so the adaptation and image can be chosen"},
	"other3xLinux64Guest": {Conditional, "vCenter does not know which Linux this is",
		"set the VM's guest OS in vSphere to the real distribution so the adaptation and image can be chosen"},
	"other4xLinux64Guest": {Conditional, "vCenter does not know which Linux this is",
		"set the VM's guest OS in vSphere to the real distribution so the adaptation and image can be chosen"},
	// Not supported.
	"windows7Server64Guest": {NotReady, "Windows Server 2008 R2 is out of support (even Extended Security Updates ended in 2024); GCE has no image and Migrate to VMs does not adapt it",
		"upgrade to Windows Server 2019 or later before migrating, or rebuild the service on a supported image"},
	"winNetEnterprise64Guest": {NotReady, "Windows Server 2003 is out of support and cannot run on GCE",
		"rebuild the service on a supported Windows Server"},
	"winLonghorn64Guest": {NotReady, "Windows Server 2008 is out of support and cannot run on GCE",
		"upgrade to Windows Server 2019 or later before migrating"},
	"rhel6_64Guest": {NotReady, "RHEL 6 is out of support and Migrate to VMs does not adapt it",
		"upgrade to RHEL 8 (leapp via 7) or rebuild before migrating"},
	"centos6_64Guest": {NotReady, "CentOS 6 reached end of life in 2020 and Migrate to VMs does not adapt it",
		"rebuild on Rocky Linux or RHEL before migrating"},
}

func checkGuest(v inventory.VM, add func(Finding)) {
	g := classifyGuest(v.GuestID)
	if g.verdict == Ready {
		return
	}
	name := v.GuestID
	switch {
	case name == "" && v.GuestFullName == "":
		add(Finding{Check: CheckGuestOS, Verdict: g.verdict, Reason: g.reason, Fix: g.fix})
		return
	case v.GuestFullName != "" && v.GuestFullName != v.GuestID:
		name = fmt.Sprintf("%s (%s)", v.GuestFullName, v.GuestID)
	}
	add(Finding{Check: CheckGuestOS, Verdict: g.verdict, Reason: fmt.Sprintf("guest OS %s: %s", name, g.reason), Fix: g.fix})
}

func classifyGuest(id string) guestSupport {
	if g, ok := guestOS[id]; ok {
		return g
	}
	l := strings.ToLower(id)
	switch {
	case id == "":
		return guestSupport{Conditional, "vCenter reports no guest OS", "set the VM's guest OS in vSphere so the adaptation and image can be chosen"}
	case !strings.Contains(l, "64"):
		return guestSupport{NotReady, "a 32-bit guest OS; GCE runs 64-bit x86 and Arm guests only",
			"rebuild the service on a 64-bit OS before migrating"}
	case strings.HasPrefix(l, "solaris"), strings.HasPrefix(l, "darwin"), strings.HasPrefix(l, "freebsd"),
		strings.HasPrefix(l, "netware"), strings.HasPrefix(l, "os2"), strings.HasPrefix(l, "eComStation"),
		l == "other64guest", strings.HasPrefix(l, "vmkernel"):
		return guestSupport{NotReady, "GCE has no images for this OS and Migrate to VMs does not adapt it",
			"rebuild the service on a supported Linux or Windows Server"}
	case strings.HasPrefix(l, "win"):
		return guestSupport{Conditional, "a Windows version ferry's table does not list",
			"check it against cloud.google.com/compute/docs/images/os-details before migrating"}
	}
	return guestSupport{Conditional, "a guest OS ferry's table does not list",
		"check it against cloud.google.com/compute/docs/images/os-details and Migrate to VMs' supported OS list"}
}

func checkDisks(v inventory.VM, add func(Finding)) {
	if len(v.Disks) == 0 {
		add(Finding{Check: CheckNoDisks, Verdict: NotReady, Reason: "the VM has no virtual disk to replicate",
			Fix: "check the VM in vSphere (a diskless appliance is rebuilt, not migrated)"})
		return
	}
	for i, d := range v.Disks {
		label := d.Label
		if label == "" {
			label = fmt.Sprintf("disk %d", i+1)
		}
		switch d.Backing {
		case "rdmPhysical":
			add(Finding{Check: CheckRDM, Verdict: NotReady, Disk: label,
				Reason: label + " is a raw device mapping in physical compatibility mode: vSphere cannot snapshot it, so Migrate to VMs cannot replicate it",
				Fix:    "convert it to a virtual disk (Storage vMotion with a virtual disk format) or move its data at the application level, then discover again"})
		case "rdmVirtual":
			add(Finding{Check: CheckRDM, Verdict: Conditional, Disk: label,
				Reason: label + " is a raw device mapping in virtual compatibility mode: it replicates as an ordinary disk",
				Fix:    "check the SAN LUN is not shared with another host, and that its size fits a persistent disk"})
		case "rawDisk":
			add(Finding{Check: CheckRDM, Verdict: NotReady, Disk: label,
				Reason: label + " is a raw disk: vSphere cannot snapshot it for replication",
				Fix:    "move its data to a virtual disk first"})
		}
		if d.Sharing == "sharingMultiWriter" {
			add(Finding{Check: CheckSharedDisk, Verdict: NotReady, Disk: label,
				Reason: label + " is shared multi-writer (a cluster disk): shared disks cannot be snapshotted or replicated",
				Fix:    "reduce the cluster to one node for the move and re-create the cluster on GCE (multi-writer Hyperdisk or an app-level replica)"})
		}
		if d.BusSharing == "physicalSharing" || d.BusSharing == "virtualSharing" {
			add(Finding{Check: CheckSharedDisk, Verdict: NotReady, Disk: label,
				Reason: fmt.Sprintf("%s sits on a SCSI controller with %s (clustered VMs): vSphere cannot snapshot it", label, d.BusSharing),
				Fix:    "set the controller's bus sharing to none (break the cluster for the move) and re-create clustering on GCE"})
		}
		if strings.HasPrefix(d.Mode, "independent") {
			add(Finding{Check: CheckIndependent, Verdict: NotReady, Disk: label,
				Reason: fmt.Sprintf("%s is in %s mode: snapshots skip it, so replication would silently leave it behind", label, d.Mode),
				Fix:    "change the disk mode to dependent (persistent) in vSphere, then discover again"})
		}
		if d.CapacityBytes > MaxDiskBytes {
			add(Finding{Check: CheckDiskSize, Verdict: NotReady, Disk: label,
				Reason: fmt.Sprintf("%s is %s: above the 64 TiB a GCE persistent disk or Hyperdisk can hold", label, human(d.CapacityBytes)),
				Fix:    "split the data over several disks (LVM or storage spaces) below 64 TiB, or move it to Cloud Storage/Filestore"})
		}
		if i == 0 && v.Firmware != "efi" && d.CapacityBytes > MaxMBRBootBytes {
			add(Finding{Check: CheckBootDisk, Verdict: NotReady, Disk: label,
				Reason: fmt.Sprintf("the boot disk (%s) is %s on BIOS firmware: an MBR boot disk addresses only 2 TiB on GCE", label, human(d.CapacityBytes)),
				Fix:    "move data off the boot disk to a data disk below 2 TiB, or convert the boot disk to GPT with UEFI firmware"})
		}
	}
	if v.Snapshots > 0 {
		add(Finding{Check: CheckSnapshots, Verdict: Conditional,
			Reason: fmt.Sprintf("the VM has %d snapshot(s): replication adds its own snapshot on top of the chain, slowing every sync and growing the datastore", v.Snapshots),
			Fix:    "delete or consolidate the snapshots before replication starts (keep a backup instead)"})
	}
}

// nicLimit is the NICs a GCE instance of vcpu vCPUs may have.
func nicLimit(vcpu int) int {
	if vcpu <= 2 {
		return 2
	}
	return min(vcpu, MaxNICs)
}

func checkNICs(v inventory.VM, opts Options, add func(Finding)) {
	n := len(v.NICs)
	if n <= 1 {
		return
	}
	if n > MaxNICs {
		add(Finding{Check: CheckNICs, Verdict: NotReady,
			Reason: fmt.Sprintf("the VM has %d network adapters: a GCE instance has at most %d", n, MaxNICs),
			Fix:    "consolidate networks (VLANs on fewer adapters, or routing) down to 8 adapters or fewer"})
		return
	}
	vcpu := int(v.NumCPU)
	basis := "its vSphere size"
	if opts.TargetVCPU != nil {
		if t := opts.TargetVCPU(v); t > 0 {
			vcpu, basis = t, "its target machine type"
		}
	}
	if lim := nicLimit(vcpu); n > lim {
		add(Finding{Check: CheckNICs, Verdict: Conditional,
			Reason: fmt.Sprintf("the VM has %d network adapters; with %d vCPUs (%s) a GCE instance takes at most %d", n, vcpu, basis, lim),
			Fix:    fmt.Sprintf("give it a machine type with at least %d vCPUs, or consolidate adapters", n)})
		return
	}
	add(Finding{Check: CheckNICs, Verdict: Conditional,
		Reason: fmt.Sprintf("the VM has %d network adapters: each GCE network interface must be in a different VPC network", n),
		Fix:    "map each adapter's network to its own VPC network and subnet in the plan, or consolidate adapters"})
}

func checkFirmware(v inventory.VM, add func(Finding)) {
	if v.SecureBoot {
		add(Finding{Check: CheckSecureBoot, Verdict: Conditional,
			Reason: "UEFI secure boot is on: the GCE instance must be a Shielded VM with secure boot, and the guest's bootloader and drivers must be signed by keys GCE trusts",
			Fix:    "enable secure boot on the target (shielded_instance_config) and check the guest boots with it on a test clone; third-party kernel modules may need re-signing"})
	}
	if v.Firmware == "efi" && strings.HasPrefix(strings.ToLower(v.GuestID), "windows7") {
		add(Finding{Check: CheckFirmware, Verdict: NotReady, Reason: "UEFI firmware with a guest GCE only boots in BIOS mode",
			Fix: "reinstall with BIOS firmware or upgrade the guest"})
	}
}

func checkRuntime(v inventory.VM, add func(Finding)) {
	switch v.PowerState {
	case "poweredOff", "suspended":
		add(Finding{Check: CheckPowerState, Verdict: Conditional,
			Reason: fmt.Sprintf("the VM is %s: its guest OS, IPs and usage could not be read, and the test clone will boot an image nobody saw running", v.PowerState),
			Fix:    "power it on for a discovery (and a day of usage history), or confirm with the owner that it is a cold standby to migrate as is"})
		return
	}
	tools := v.ToolsRunningStatus
	switch {
	case v.ToolsStatus == "toolsNotInstalled":
		add(Finding{Check: CheckTools, Verdict: Conditional,
			Reason: "VMware Tools is not installed: vCenter reports no guest IPs or hostname, and the cutover cannot shut the guest down cleanly",
			Fix:    "install VMware Tools (open-vm-tools on Linux), then discover again"})
	case tools == "guestToolsNotRunning" || (tools == "" && v.ToolsStatus == "toolsNotRunning"):
		add(Finding{Check: CheckTools, Verdict: Conditional,
			Reason: "VMware Tools is not running: vCenter reports no fresh guest IPs or hostname, and the cutover cannot shut the guest down cleanly",
			Fix:    "start VMware Tools in the guest (systemctl start vmtoolsd, or the VMware Tools service on Windows), then discover again"})
	}
}

func human(b int64) string {
	const tib, gib = 1 << 40, 1 << 30
	if b >= tib {
		return fmt.Sprintf("%.1f TiB", float64(b)/tib)
	}
	return fmt.Sprintf("%d GiB", b/gib)
}
