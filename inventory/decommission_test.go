package inventory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator" // tagging REST API
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/runbooks"
)

type decomFixture struct {
	model *simulator.Model
	c     *inventory.Client
}

func startDecom(t *testing.T) *decomFixture {
	t.Helper()
	ctx := context.Background()
	m := simulator.VPX()
	_, cfg := sample.ServeT(t, m)
	cfg.RetryBase = time.Millisecond
	c, err := inventory.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	return &decomFixture{model: m, c: c}
}

// vm returns a powered-on simulator VM as the plan would name it.
func (f *decomFixture) vm(t *testing.T, i int, tools bool) (inventory.SourceVM, *simulator.VirtualMachine) {
	t.Helper()
	var vms []*simulator.VirtualMachine
	for _, r := range f.model.Map().All("VirtualMachine") {
		vms = append(vms, r.(*simulator.VirtualMachine))
	}
	slices.SortFunc(vms, func(a, b *simulator.VirtualMachine) int { return strings.Compare(a.Name, b.Name) })
	v := vms[i]
	status := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning
	if tools {
		status = types.VirtualMachineToolsRunningStatusGuestToolsRunning
	}
	obj := object.NewVirtualMachine(f.c.Vim(), v.Self)
	task, err := obj.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
		&types.OptionValue{Key: "SET.guest.toolsRunningStatus", Value: string(status)},
	}})
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	if p := f.power(t, v.Self.Value); p != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("%s starts %s", v.Name, p)
	}
	return inventory.SourceVM{Ref: v.Self.Value, Name: v.Name}, v
}

func (f *decomFixture) props(t *testing.T, ref string) mo.VirtualMachine {
	t.Helper()
	var vm mo.VirtualMachine
	err := property.DefaultCollector(f.c.Vim()).RetrieveOne(context.Background(),
		types.ManagedObjectReference{Type: "VirtualMachine", Value: ref}, []string{"runtime.powerState", "customValue", "parent", "name"}, &vm)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func (f *decomFixture) power(t *testing.T, ref string) types.VirtualMachinePowerState {
	return f.props(t, ref).Runtime.PowerState
}

func (f *decomFixture) tagged(t *testing.T, ref string) bool {
	t.Helper()
	ts, err := f.c.Tags().GetAttachedTags(context.Background(), types.ManagedObjectReference{Type: "VirtualMachine", Value: ref})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		if tg.Name == inventory.DecommissionTag {
			return true
		}
	}
	return false
}

func (f *decomFixture) date(t *testing.T, ref string) string {
	t.Helper()
	m, err := object.GetCustomFieldsManager(f.c.Vim())
	if err != nil {
		t.Fatal(err)
	}
	key, err := m.FindKey(context.Background(), inventory.DecommissionedAtField)
	if err != nil {
		return ""
	}
	for _, cv := range f.props(t, ref).CustomValue {
		if s, ok := cv.(*types.CustomFieldStringValue); ok && s.Key == key {
			return s.Value
		}
	}
	return ""
}

func TestDecommissionPowerOffTagPowerOn(t *testing.T) {
	ctx := context.Background()
	f := startDecom(t)
	vm, _ := f.vm(t, 0, true)

	did, err := f.c.PowerOffSource(ctx, vm, time.Minute)
	if err != nil || !strings.HasSuffix(did, ": guest shutdown") {
		t.Fatalf("power off: %q, %v", did, err)
	}
	if p := f.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("after power off: %s", p)
	}
	if did, err := f.c.PowerOffSource(ctx, vm, time.Minute); err != nil || !strings.Contains(did, "already powered off") {
		t.Fatalf("second power off: %q, %v", did, err)
	}

	at := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
	for range 2 { // idempotent
		if _, err := f.c.MarkDecommissioned(ctx, vm, at); err != nil {
			t.Fatal(err)
		}
	}
	if !f.tagged(t, vm.Ref) || f.date(t, vm.Ref) != "2026-11-21" {
		t.Fatalf("tagged=%v date=%q", f.tagged(t, vm.Ref), f.date(t, vm.Ref))
	}

	did, err = f.c.PowerOnSource(ctx, vm)
	if err != nil || !strings.HasSuffix(did, ": powered on") {
		t.Fatalf("power on: %q, %v", did, err)
	}
	if p := f.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("after power on: %s", p)
	}
	if f.tagged(t, vm.Ref) || f.date(t, vm.Ref) != "" {
		t.Fatalf("rollback left the decommission mark: tagged=%v date=%q", f.tagged(t, vm.Ref), f.date(t, vm.Ref))
	}
	if did, err := f.c.PowerOnSource(ctx, vm); err != nil || !strings.Contains(did, "already powered on") {
		t.Fatalf("second power on: %q, %v", did, err)
	}
}

func TestDecommissionHardPowerOff(t *testing.T) {
	ctx := context.Background()
	f := startDecom(t)

	// No VMware Tools: straight to a hard power-off.
	vm, _ := f.vm(t, 1, false)
	did, err := f.c.PowerOffSource(ctx, vm, time.Minute)
	if err != nil || !strings.Contains(did, "hard power-off (VMware Tools not running)") {
		t.Fatalf("no tools: %q, %v", did, err)
	}
	if p := f.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("no tools: %s", p)
	}

	// A guest that accepts the shutdown and stays up: hard power-off
	// after the timeout.
	vm, sim := f.vm(t, 2, true)
	f.model.Map().Put(&stubbornVM{sim})
	did, err = f.c.PowerOffSource(ctx, vm, 200*time.Millisecond)
	if err != nil || !strings.Contains(did, "guest still on") {
		t.Fatalf("stubborn guest: %q, %v", did, err)
	}
	if p := f.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("stubborn guest: %s", p)
	}
}

// stubbornVM acknowledges a guest shutdown and keeps running.
type stubbornVM struct{ *simulator.VirtualMachine }

func (v *stubbornVM) ShutdownGuest(*simulator.Context, *types.ShutdownGuest) soap.HasFault {
	return &methods.ShutdownGuestBody{Res: new(types.ShutdownGuestResponse)}
}

func TestDecommissionIdentityMismatch(t *testing.T) {
	ctx := context.Background()
	f := startDecom(t)
	vm, _ := f.vm(t, 0, true)
	wrong := inventory.SourceVM{Ref: vm.Ref, Name: vm.Name + "-other"}
	gone := inventory.SourceVM{Ref: "vm-99999", Name: vm.Name}
	actions := map[string]func(inventory.SourceVM) error{
		"power off": func(s inventory.SourceVM) error { _, err := f.c.PowerOffSource(ctx, s, time.Second); return err },
		"power on":  func(s inventory.SourceVM) error { _, err := f.c.PowerOnSource(ctx, s); return err },
		"mark":      func(s inventory.SourceVM) error { _, err := f.c.MarkDecommissioned(ctx, s, time.Now()); return err },
		"archive": func(s inventory.SourceVM) error {
			_, err := f.c.FinalizeSource(ctx, s, inventory.FinalArchive, "", time.Second)
			return err
		},
	}
	for name, act := range actions {
		for _, s := range []inventory.SourceVM{wrong, gone} {
			err := act(s)
			var e *inventory.Error
			if !errors.As(err, &e) || e.Reason != runbooks.ReasonVMIdentityMismatch || e.Retryable() {
				t.Fatalf("%s on %v: want a non-retryable identity mismatch, got %v", name, s, err)
			}
		}
	}
	if p := f.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("a mismatch still acted on the VM: %s", p)
	}
	// A wrong name must not be deleted either.
	if _, err := f.c.FinalizeSource(ctx, wrong, inventory.FinalDelete, "", time.Second); err == nil {
		t.Fatal("delete with a wrong name succeeded")
	}
}

func TestDecommissionFinalActions(t *testing.T) {
	ctx := context.Background()
	f := startDecom(t)

	keep, _ := f.vm(t, 0, true)
	if did, err := f.c.FinalizeSource(ctx, keep, inventory.FinalKeepOff, "", time.Minute); err != nil || !strings.Contains(did, "kept powered off") {
		t.Fatalf("keep-off: %q, %v", did, err)
	}
	if p := f.power(t, keep.Ref); p != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("keep-off: %s", p)
	}

	arch, _ := f.vm(t, 1, false)
	for i := range 2 { // the second run finds it archived already
		did, err := f.c.FinalizeSource(ctx, arch, inventory.FinalArchive, "retired/ferry", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"moved to", "already in"}[i]; !strings.Contains(did, want) {
			t.Fatalf("archive run %d: %q", i+1, did)
		}
	}
	folder, err := find.NewFinder(f.c.Vim()).Folder(ctx, "/DC0/vm/retired/ferry")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.props(t, arch.Ref).Parent; got == nil || *got != folder.Reference() {
		t.Fatalf("archived VM's parent is %v, want %v", got, folder.Reference())
	}

	del, _ := f.vm(t, 2, true)
	if did, err := f.c.FinalizeSource(ctx, del, inventory.FinalDelete, "", time.Minute); err != nil || !strings.HasSuffix(did, ": deleted") {
		t.Fatalf("delete: %q, %v", did, err)
	}
	if f.model.Map().Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: del.Ref}) != nil {
		t.Fatal("VM still exists after delete")
	}
	if did, err := f.c.FinalizeSource(ctx, del, inventory.FinalDelete, "", time.Minute); err != nil || !strings.Contains(did, "already deleted") {
		t.Fatalf("delete retry: %q, %v", did, err)
	}
	if _, err := f.c.FinalizeSource(ctx, keep, "shred", "", time.Minute); err == nil {
		t.Fatal("unknown final action accepted")
	}
}
