package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

type decomRig struct {
	env  *testsuite.TestActivityEnvironment
	vim  *vim25.Client
	spec plan.AppSpec
}

func newDecomRig(t *testing.T) *decomRig {
	t.Helper()
	ctx := context.Background()
	m := simulator.VPX()
	s, cfg := sample.ServeT(t, m)
	cfg.RetryBase = time.Millisecond

	r := &decomRig{spec: plan.AppSpec{Name: "ledger", Decommission: plan.DecommissionSpec{
		ShutdownTimeout: time.Second, FinalAction: inventory.FinalArchive, ArchiveFolder: "archive"}}}
	for _, o := range m.Map().All("VirtualMachine")[:3] {
		vm := o.(*simulator.VirtualMachine)
		r.spec.VMs = append(r.spec.VMs, plan.VMSpec{Ref: vm.Self.Value, Name: vm.Name})
	}
	gc, err := govmomi.NewClient(ctx, s.URL, true) // s.URL carries the simulator's credentials
	if err != nil {
		t.Fatal(err)
	}
	r.vim = gc.Client
	var suite testsuite.WorkflowTestSuite
	r.env = suite.NewTestActivityEnvironment()
	r.env.RegisterActivity(&Activities{Plans: testPlans, VCenter: cfg})
	return r
}

func (r *decomRig) power(t *testing.T, ref string) types.VirtualMachinePowerState {
	t.Helper()
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(r.vim).RetrieveOne(context.Background(),
		types.ManagedObjectReference{Type: "VirtualMachine", Value: ref}, []string{"runtime.powerState"}, &vm); err != nil {
		t.Fatal(err)
	}
	return vm.Runtime.PowerState
}

func (r *decomRig) run(t *testing.T, name string, in SourcesInput) (SourcesResult, error) {
	t.Helper()
	v, err := r.env.ExecuteActivity(name, in)
	var res SourcesResult
	if err == nil {
		if gerr := v.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func TestDecommissionActivities(t *testing.T) {
	r := newDecomRig(t)
	date := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

	res, err := r.run(t, PowerOffSourcesName, SourcesInput{Plan: testRef(r.spec), Date: date})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 6 || !strings.Contains(res.Actions[1], "ferry.decommissionedAt=2026-11-21") {
		t.Fatalf("actions: %q", res.Actions)
	}
	for _, vm := range r.spec.VMs {
		if p := r.power(t, vm.Ref); p != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("%s is %s after PowerOffSources", vm.Name, p)
		}
	}

	// Rollback during retention: every VM back on, but the one that was
	// powered off when the migration found it (a cold standby) stays off.
	standby := r.spec.VMs[len(r.spec.VMs)-1]
	res, err = r.run(t, PowerOnSourcesName, SourcesInput{Plan: testRef(r.spec), WasOff: []string{standby.Ref}})
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range r.spec.VMs {
		want := types.VirtualMachinePowerStatePoweredOn
		if vm.Ref == standby.Ref {
			want = types.VirtualMachinePowerStatePoweredOff
		}
		if p := r.power(t, vm.Ref); p != want {
			t.Fatalf("%s is %s after PowerOnSources, want %s", vm.Name, p, want)
		}
	}
	if a := res.Actions[len(res.Actions)-1]; !strings.Contains(a, "powered off before the migration") {
		t.Errorf("the standby's action says %q", a)
	}

	res, err = r.run(t, FinalizeDecommissionName, SourcesInput{Plan: testRef(r.spec)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 3 || !strings.Contains(res.Actions[0], "moved to /DC0/vm/archive") {
		t.Fatalf("finalize: %q", res.Actions)
	}
}

func TestDecommissionActivitiesResumeFromHeartbeat(t *testing.T) {
	r := newDecomRig(t)
	// A previous attempt finished the first VM.
	r.env.SetHeartbeatDetails(sourcesProgress{Done: 1, Actions: []string{"earlier"}})
	res, err := r.run(t, PowerOffSourcesName, SourcesInput{Plan: testRef(r.spec)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Actions[0] != "earlier" || len(res.Actions) != 5 {
		t.Fatalf("actions %q", res.Actions)
	}
	if p := r.power(t, r.spec.VMs[0].Ref); p != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("resumed attempt acted on the VM already done: %s", p)
	}
}

func TestDecommissionActivitiesIdentityMismatch(t *testing.T) {
	r := newDecomRig(t)
	spec := r.spec
	spec.VMs = append([]plan.VMSpec(nil), spec.VMs...)
	spec.VMs[1].Name = "renamed-since-the-plan"
	res, err := r.run(t, PowerOffSourcesName, SourcesInput{Plan: testRef(spec)})
	ae := cutoverAppErr(t, err)
	if ae.Type() != string(runbooks.ReasonVMIdentityMismatch) || !ae.NonRetryable() || !strings.Contains(err.Error(), "renamed-since-the-plan") {
		t.Fatalf("got %v (type %s)", err, ae.Type())
	}
	_ = res
	if p := r.power(t, spec.VMs[1].Ref); p != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("mismatched VM was acted on: %s", p)
	}
}
