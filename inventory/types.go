// Package inventory reads what is really in vCenter (through govmomi) and
// turns it into ferry's app directory: VMs grouped into apps with owner,
// squad, tier and runbook. govmomi types never leave this package; the rest
// of ferry sees the serialisable types below.
package inventory

import "time"

// SchemaVersion names the JSON schema of Inventory (docs/inventory-schema.md).
const SchemaVersion = "ferry.inventory/v1"

// Inventory is the result of one discovery: every VM, the apps they form and
// the VMs that belong to no app.
type Inventory struct {
	Schema      string    `json:"schema"`
	Source      string    `json:"source"` // vCenter host, never with credentials
	CollectedAt time.Time `json:"collectedAt"`
	Apps        []App     `json:"apps"`
	VMs         []VM      `json:"vms"`
	Unassigned  []string  `json:"unassigned"` // refs of VMs in no app
}

// App is one entry of the app directory.
type App struct {
	Name      string   `json:"name"`
	Owner     string   `json:"owner,omitempty"`
	Squad     string   `json:"squad,omitempty"`
	Tier      string   `json:"tier,omitempty"`
	Runbook   string   `json:"runbook,omitempty"`
	DependsOn []string `json:"dependsOn,omitempty"` // declared dependencies (tag or attribute)
	MatchedBy string   `json:"matchedBy"`           // tag, attribute or name
	VMs       []string `json:"vms"`                 // VM refs, sorted by VM name
}

// VM is one virtual machine as vCenter reports it.
type VM struct {
	Ref              string              `json:"ref"` // managed object reference value, e.g. vm-42
	Name             string              `json:"name"`
	App              string              `json:"app,omitempty"`
	Datacenter       string              `json:"datacenter"`
	Cluster          string              `json:"cluster,omitempty"`
	Host             string              `json:"host,omitempty"`
	ResourcePool     string              `json:"resourcePool,omitempty"`
	Folder           string              `json:"folder,omitempty"` // inventory path of the parent folder
	Annotation       string              `json:"annotation,omitempty"`
	CustomAttributes map[string]string   `json:"customAttributes,omitempty"`
	Tags             map[string][]string `json:"tags,omitempty"` // category -> tag names
	PowerState       string              `json:"powerState"`     // poweredOn, poweredOff, suspended
	GuestID          string              `json:"guestId,omitempty"`
	GuestFullName    string              `json:"guestFullName,omitempty"` // config.guestFullName, e.g. "Red Hat Enterprise Linux 8 (64-bit)"
	GuestFamily      string              `json:"guestFamily,omitempty"`   // linuxGuest, windowsGuest, ...
	GuestHostname    string              `json:"guestHostname,omitempty"`
	ToolsStatus      string              `json:"toolsStatus,omitempty"`
	// ToolsRunningStatus is guest.toolsRunningStatus: guestToolsRunning,
	// guestToolsNotRunning, guestToolsExecutingScripts.
	ToolsRunningStatus string   `json:"toolsRunningStatus,omitempty"`
	Firmware           string   `json:"firmware,omitempty"`   // config.firmware: bios or efi
	SecureBoot         bool     `json:"secureBoot,omitempty"` // config.bootOptions.efiSecureBootEnabled
	Snapshots          int      `json:"snapshots,omitempty"`  // snapshots in the VM's snapshot tree
	IPs                []string `json:"ips,omitempty"`
	NumCPU             int32    `json:"numCPU"`
	MemoryMB           int64    `json:"memoryMB"`
	Disks              []Disk   `json:"disks,omitempty"`
	NICs               []NIC    `json:"nics,omitempty"`
	Usage              Usage    `json:"usage"`
	// History is CPU and memory over a window from vCenter's performance
	// history (nil when discovery did not read it).
	History *UsageHistory `json:"history,omitempty"`
}

// Disk is one virtual disk.
type Disk struct {
	Label         string `json:"label"`
	CapacityBytes int64  `json:"capacityBytes"`
	Datastore     string `json:"datastore,omitempty"`
	Thin          bool   `json:"thin"`
	// Backing is the kind of storage behind the disk: flat, seSparse,
	// sparse, rdmVirtual, rdmPhysical, rawDisk or other.
	Backing string `json:"backing,omitempty"`
	// Sharing is the backing's sharing mode: sharingNone or
	// sharingMultiWriter (empty when vCenter does not say).
	Sharing string `json:"sharing,omitempty"`
	// Mode is the disk mode: persistent, independent_persistent, ...
	Mode string `json:"mode,omitempty"`
	// BusSharing is the SCSI bus sharing of the disk's controller:
	// noSharing, virtualSharing or physicalSharing (clusters).
	BusSharing string `json:"busSharing,omitempty"`
}

// NIC is one virtual network adapter.
type NIC struct {
	Label   string `json:"label"`
	Network string `json:"network,omitempty"` // network or portgroup name
	MAC     string `json:"mac,omitempty"`
}

// Usage is vCenter's quickStats, used for right-sizing.
type Usage struct {
	CPUMHz     int32 `json:"cpuMHz"`     // overallCpuUsage
	MemoryMB   int32 `json:"memoryMB"`   // guestMemoryUsage
	CPUMaxMHz  int32 `json:"cpuMaxMHz"`  // numCPU x host core MHz, when known
	UptimeSecs int32 `json:"uptimeSecs"` // uptimeSeconds
}

// DiskGB returns the VM's total disk capacity in GiB, rounded up.
func (v VM) DiskGB() int64 {
	var b int64
	for _, d := range v.Disks {
		b += d.CapacityBytes
	}
	return (b + (1<<30 - 1)) >> 30
}
