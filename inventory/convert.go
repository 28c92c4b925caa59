package inventory

import (
	"slices"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// converter turns govmomi's mo.VirtualMachine into ferry's VM, resolving
// references with the names read beforehand.
type converter struct {
	root    types.ManagedObjectReference
	tree    names // datacenters, folders, compute resources, pools, hosts
	storage names
	nets    names
	fields  map[int32]string
	pgByKey map[string]string
}

func (cv *converter) indexPortgroups() {
	cv.pgByKey = map[string]string{}
	for ref, n := range cv.nets {
		if ref.Type == "DistributedVirtualPortgroup" {
			cv.pgByKey[ref.Value] = n.Name
			if n.Key != "" {
				cv.pgByKey[n.Key] = n.Name
			}
		}
	}
}

func (cv *converter) vm(m *mo.VirtualMachine) VM {
	v := VM{Ref: m.Self.Value, Name: m.Name, PowerState: string(m.Runtime.PowerState)}
	if m.Parent != nil {
		v.Folder, v.Datacenter = cv.path(*m.Parent)
	}
	if h := m.Runtime.Host; h != nil {
		host := cv.tree[*h]
		v.Host = host.Name
		if cr, ok := cv.tree[host.Parent]; ok && host.Parent.Type == "ClusterComputeResource" {
			v.Cluster = cr.Name
		}
		if v.Datacenter == "" {
			_, v.Datacenter = cv.path(host.Parent)
		}
		if m.Config != nil {
			v.Usage.CPUMaxMHz = host.CPUMHz * m.Config.Hardware.NumCPU
		}
	}
	if m.ResourcePool != nil {
		v.ResourcePool = cv.tree[*m.ResourcePool].Name
	}
	if c := m.Config; c != nil {
		v.Annotation = c.Annotation
		v.GuestID = c.GuestId
		v.GuestFullName = c.GuestFullName
		v.Firmware = c.Firmware
		if b := c.BootOptions; b != nil && b.EfiSecureBootEnabled != nil {
			v.SecureBoot = *b.EfiSecureBootEnabled
		}
		v.NumCPU = c.Hardware.NumCPU
		v.MemoryMB = int64(c.Hardware.MemoryMB)
		v.Disks, v.NICs = cv.devices(c.Hardware.Device)
	}
	if g := m.Guest; g != nil {
		v.GuestFamily = g.GuestFamily
		v.GuestHostname = g.HostName
		v.ToolsStatus = string(g.ToolsStatus)
		v.ToolsRunningStatus = g.ToolsRunningStatus
		v.IPs = guestIPs(g)
	}
	if v.GuestFamily == "" {
		v.GuestFamily = familyOf(v.GuestID)
	}
	if m.Snapshot != nil {
		v.Snapshots = countSnapshots(m.Snapshot.RootSnapshotList)
	}
	qs := m.Summary.QuickStats
	v.Usage.CPUMHz = qs.OverallCpuUsage
	v.Usage.MemoryMB = qs.GuestMemoryUsage
	v.Usage.UptimeSecs = qs.UptimeSeconds
	for _, bv := range m.CustomValue {
		if sv, ok := bv.(*types.CustomFieldStringValue); ok {
			name, ok := cv.fields[sv.Key]
			if !ok || sv.Value == "" {
				continue
			}
			if v.CustomAttributes == nil {
				v.CustomAttributes = map[string]string{}
			}
			v.CustomAttributes[name] = sv.Value
		}
	}
	return v
}

// path returns the inventory path of a folder (e.g. "/DC0/vm/apps") and the
// name of the datacenter above it.
func (cv *converter) path(ref types.ManagedObjectReference) (string, string) {
	var parts []string
	dc := ""
	for i := 0; ref.Value != "" && ref != cv.root && i < 64; i++ {
		n, ok := cv.tree[ref]
		if !ok {
			break
		}
		if ref.Type == "Datacenter" && dc == "" {
			dc = n.Name
		}
		parts = append(parts, n.Name)
		ref = n.Parent
	}
	slices.Reverse(parts)
	return "/" + strings.Join(parts, "/"), dc
}

func countSnapshots(tree []types.VirtualMachineSnapshotTree) int {
	n := 0
	for _, t := range tree {
		n += 1 + countSnapshots(t.ChildSnapshotList)
	}
	return n
}

func (cv *converter) devices(devs []types.BaseVirtualDevice) ([]Disk, []NIC) {
	var disks []Disk
	var nics []NIC
	busSharing := map[int32]string{}
	for _, d := range devs {
		if c, ok := d.(types.BaseVirtualSCSIController); ok {
			sc := c.GetVirtualSCSIController()
			busSharing[sc.Key] = string(sc.SharedBus)
		}
	}
	for _, d := range devs {
		label := ""
		if info := d.GetVirtualDevice().DeviceInfo; info != nil {
			label = info.GetDescription().Label
		}
		switch dev := d.(type) {
		case *types.VirtualDisk:
			disk := Disk{Label: label, CapacityBytes: dev.CapacityInBytes, BusSharing: busSharing[dev.ControllerKey]}
			if disk.CapacityBytes == 0 {
				disk.CapacityBytes = dev.CapacityInKB * 1024
			}
			switch b := dev.Backing.(type) {
			case *types.VirtualDiskFlatVer2BackingInfo:
				disk.Thin = b.ThinProvisioned != nil && *b.ThinProvisioned
				disk.Datastore = cv.datastore(b.Datastore, b.FileName)
				disk.Backing, disk.Sharing, disk.Mode = "flat", b.Sharing, b.DiskMode
			case *types.VirtualDiskSeSparseBackingInfo:
				disk.Thin = true
				disk.Datastore = cv.datastore(b.Datastore, b.FileName)
				disk.Backing, disk.Mode = "seSparse", b.DiskMode
			case *types.VirtualDiskSparseVer2BackingInfo:
				disk.Thin = true
				disk.Datastore = cv.datastore(b.Datastore, b.FileName)
				disk.Backing, disk.Mode = "sparse", b.DiskMode
			case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
				disk.Datastore = cv.datastore(b.Datastore, b.FileName)
				disk.Backing, disk.Sharing, disk.Mode = "rdmVirtual", b.Sharing, b.DiskMode
				if b.CompatibilityMode == string(types.VirtualDiskCompatibilityModePhysicalMode) {
					disk.Backing = "rdmPhysical"
				}
			case *types.VirtualDiskRawDiskVer2BackingInfo:
				disk.Backing, disk.Sharing = "rawDisk", b.Sharing
			case types.BaseVirtualDeviceFileBackingInfo:
				fb := b.GetVirtualDeviceFileBackingInfo()
				disk.Datastore = cv.datastore(fb.Datastore, fb.FileName)
				disk.Backing = "other"
			default:
				disk.Backing = "other"
			}
			disks = append(disks, disk)
		case types.BaseVirtualEthernetCard:
			card := dev.GetVirtualEthernetCard()
			nic := NIC{Label: label, MAC: card.MacAddress}
			switch b := card.Backing.(type) {
			case *types.VirtualEthernetCardNetworkBackingInfo:
				nic.Network = b.DeviceName
				if b.Network != nil {
					if n, ok := cv.nets[*b.Network]; ok {
						nic.Network = n.Name
					}
				}
			case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
				nic.Network = cv.pgByKey[b.Port.PortgroupKey]
				if nic.Network == "" {
					nic.Network = b.Port.PortgroupKey
				}
			case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
				nic.Network = b.OpaqueNetworkId
			}
			nics = append(nics, nic)
		}
	}
	return disks, nics
}

func (cv *converter) datastore(ref *types.ManagedObjectReference, file string) string {
	if ref != nil {
		if n, ok := cv.storage[*ref]; ok {
			return n.Name
		}
	}
	// "[datastore1] vm/vm.vmdk"
	if strings.HasPrefix(file, "[") {
		if i := strings.Index(file, "]"); i > 0 {
			return file[1:i]
		}
	}
	return ""
}

// guestIPs lists the guest's addresses, the primary first, without
// duplicates or link-local IPv6.
func guestIPs(g *types.GuestInfo) []string {
	var ips []string
	add := func(ip string) {
		if ip == "" || strings.HasPrefix(strings.ToLower(ip), "fe80:") || slices.Contains(ips, ip) {
			return
		}
		ips = append(ips, ip)
	}
	add(g.IpAddress)
	for _, n := range g.Net {
		for _, ip := range n.IpAddress {
			add(ip)
		}
	}
	return ips
}

// familyOf guesses the guest family from the configured guest id when the
// guest (no tools) does not report it.
func familyOf(id string) string {
	l := strings.ToLower(id)
	switch {
	case l == "":
		return ""
	case strings.HasPrefix(l, "win"):
		return string(types.VirtualMachineGuestOsFamilyWindowsGuest)
	case strings.HasPrefix(l, "darwin"):
		return string(types.VirtualMachineGuestOsFamilyDarwinGuestFamily)
	case strings.HasPrefix(l, "solaris"):
		return string(types.VirtualMachineGuestOsFamilySolarisGuest)
	case strings.Contains(l, "linux"), strings.HasPrefix(l, "rhel"), strings.HasPrefix(l, "centos"),
		strings.HasPrefix(l, "ubuntu"), strings.HasPrefix(l, "debian"), strings.HasPrefix(l, "sles"),
		strings.HasPrefix(l, "rocky"), strings.HasPrefix(l, "alma"), strings.HasPrefix(l, "oracle"),
		strings.HasPrefix(l, "photon"), strings.HasPrefix(l, "fedora"), strings.HasPrefix(l, "amazonlinux"):
		return string(types.VirtualMachineGuestOsFamilyLinuxGuest)
	}
	return string(types.VirtualMachineGuestOsFamilyOtherGuestFamily)
}
