package sample

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// Problem is a migration blocker or condition planted on a sample VM,
// through the same vSphere calls an admin would make (reconfigure,
// snapshot, power), so readiness is tested on what vCenter really reports.
// The default portfolio plants none; tests set VM.Problems.
type Problem string

const (
	ProblemRDM              Problem = "rdm"               // a physical-mode raw device mapping disk
	ProblemMultiWriter      Problem = "multi-writer"      // a data disk shared multi-writer (clusters)
	ProblemBusSharing       Problem = "bus-sharing"       // SCSI controller with physical bus sharing
	ProblemSnapshot         Problem = "snapshot"          // an existing snapshot
	ProblemHugeDisk         Problem = "huge-disk"         // a 70 TiB data disk (above PD's 64 TiB)
	ProblemHugeBootDisk     Problem = "huge-boot-disk"    // a 3 TiB boot disk on BIOS firmware (MBR: 2 TiB)
	ProblemManyNICs         Problem = "many-nics"         // 9 network adapters (GCE: at most 8)
	ProblemSecureBoot       Problem = "secure-boot"       // EFI with secure boot enabled
	ProblemToolsNotRunning  Problem = "tools-not-running" // VMware Tools installed but not running
	ProblemPoweredOff       Problem = "powered-off"       // the VM is powered off
	ProblemUnsupportedGuest Problem = "unsupported-guest" // Windows Server 2008 R2 (no GCE image, end of life)
	ProblemEOLGuest         Problem = "eol-guest"         // CentOS 7 (end of life, no GCE image)
)

// plant applies the problems of v to the created VM.
func plant(ctx context.Context, vim *vim25.Client, env *dcEnv, vm *object.VirtualMachine, dir string, v VM) error {
	for _, p := range v.Problems {
		if err := plantOne(ctx, vim, env, vm, dir, p); err != nil {
			return fmt.Errorf("plant %s: %w", p, err)
		}
	}
	return nil
}

func plantOne(ctx context.Context, vim *vim25.Client, env *dcEnv, vm *object.VirtualMachine, dir string, p Problem) error {
	devices, err := vm.Device(ctx)
	if err != nil {
		return err
	}
	reconfigure := func(spec types.VirtualMachineConfigSpec) error { return wait(ctx)(vm.Reconfigure(ctx, spec)) }
	addDisk := func(file string, gb int64, backing types.BaseVirtualDeviceBackingInfo) error {
		scsi, err := devices.FindSCSIController("")
		if err != nil {
			return err
		}
		disk := devices.CreateDisk(scsi, types.ManagedObjectReference{}, dir+"/"+file)
		disk.CapacityInKB = gb << 20
		if backing != nil {
			disk.Backing = backing
		}
		add, err := object.VirtualDeviceList{disk}.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			return err
		}
		for _, a := range add {
			a.GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		}
		return reconfigure(types.VirtualMachineConfigSpec{DeviceChange: add})
	}
	switch p {
	case ProblemRDM:
		return addDisk("rdm1.vmdk", 100, &types.VirtualDiskRawDiskMappingVer1BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: dir + "/rdm1.vmdk"},
			CompatibilityMode:            string(types.VirtualDiskCompatibilityModePhysicalMode),
			DiskMode:                     string(types.VirtualDiskModeIndependent_persistent),
			DeviceName:                   "vml.0200000000600508b1001c4d",
			LunUuid:                      "0200000000600508b1001c4d",
		})
	case ProblemMultiWriter:
		return addDisk("shared1.vmdk", 50, &types.VirtualDiskFlatVer2BackingInfo{
			VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: dir + "/shared1.vmdk"},
			DiskMode:                     string(types.VirtualDiskModePersistent),
			ThinProvisioned:              types.NewBool(false),
			EagerlyScrub:                 types.NewBool(true),
			Sharing:                      string(types.VirtualDiskSharingSharingMultiWriter),
		})
	case ProblemBusSharing:
		c, err := devices.FindSCSIController("")
		if err != nil {
			return err
		}
		c.GetVirtualSCSIController().SharedBus = types.VirtualSCSISharingPhysicalSharing
		edit, err := object.VirtualDeviceList{c}.ConfigSpec(types.VirtualDeviceConfigSpecOperationEdit)
		if err != nil {
			return err
		}
		return reconfigure(types.VirtualMachineConfigSpec{DeviceChange: edit})
	case ProblemSnapshot:
		return wait(ctx)(vm.CreateSnapshot(ctx, "before-patch", "left behind by a patch run", false, false))
	case ProblemHugeDisk:
		return addDisk("huge1.vmdk", 70<<10, nil)
	case ProblemHugeBootDisk:
		for _, d := range devices.SelectByType((*types.VirtualDisk)(nil)) {
			disk := d.(*types.VirtualDisk)
			disk.CapacityInKB = 3 << 30
			disk.CapacityInBytes = disk.CapacityInKB * 1024
			edit, err := object.VirtualDeviceList{disk}.ConfigSpec(types.VirtualDeviceConfigSpecOperationEdit)
			if err != nil {
				return err
			}
			//lint:ignore SA4004 only the first disk, the boot disk, grows
			return reconfigure(types.VirtualMachineConfigSpec{DeviceChange: edit, Firmware: string(types.GuestOsDescriptorFirmwareTypeBios)})
		}
		return fmt.Errorf("no disk")
	case ProblemManyNICs:
		var add object.VirtualDeviceList
		for range 8 {
			nic, err := devices.CreateEthernetCard("vmxnet3", env.backing)
			if err != nil {
				return err
			}
			add = append(add, nic)
		}
		spec, err := add.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			return err
		}
		return reconfigure(types.VirtualMachineConfigSpec{DeviceChange: spec})
	case ProblemSecureBoot:
		if err := reconfigure(types.VirtualMachineConfigSpec{Firmware: string(types.GuestOsDescriptorFirmwareTypeEfi)}); err != nil {
			return err
		}
		return reconfigure(types.VirtualMachineConfigSpec{BootOptions: &types.VirtualMachineBootOptions{EfiSecureBootEnabled: types.NewBool(true)}})
	case ProblemToolsNotRunning:
		set := func(k string, v any) types.BaseOptionValue { return &types.OptionValue{Key: "SET." + k, Value: v} }
		return reconfigure(types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
			set("guest.toolsRunningStatus", string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)),
			set("guest.toolsStatus", string(types.VirtualMachineToolsStatusToolsNotRunning)),
		}})
	case ProblemPoweredOff:
		st, err := vm.PowerState(ctx)
		if err != nil || st == types.VirtualMachinePowerStatePoweredOff {
			return err
		}
		return wait(ctx)(vm.PowerOff(ctx))
	case ProblemUnsupportedGuest:
		return reconfigure(types.VirtualMachineConfigSpec{GuestId: string(types.VirtualMachineGuestOsIdentifierWindows7Server64Guest)})
	case ProblemEOLGuest:
		return reconfigure(types.VirtualMachineConfigSpec{GuestId: string(types.VirtualMachineGuestOsIdentifierCentos7_64Guest)})
	}
	return fmt.Errorf("unknown problem %q", p)
}
