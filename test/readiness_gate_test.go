package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/runbooks"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestNotReadyVMParksBeforeThePlanGate runs MigrateApp with the real
// DiscoverApp and TerraformPlan against vcsim, where the app's VM has a
// physical RDM: the migration parks at Discover with reason vm-not-ready,
// the VM, the fix and the runbook; skipping Discover (the plan allows it)
// only moves the refusal to the terraform plan step. It never waits at the
// plan gate.
func TestNotReadyVMParksBeforeThePlanGate(t *testing.T) {
	ctx := context.Background()
	sim := sample.StartT(t, &sample.Portfolio{Apps: []sample.App{{Name: "ledger", Owner: "ana@example.com",
		VMs: []sample.VM{{Name: "ledger-01", Datacenter: "dc-east", CPU: 2, MemoryMB: 4096, DiskGB: 40, GuestID: "rhel8_64Guest",
			PoweredOn: true, Problems: []sample.Problem{sample.ProblemRDM}}}}}})
	c, err := inventory.Connect(ctx, sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Discover(ctx, c, inventory.DefaultOptions())
	_ = c.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := quickSpec("ledger")
	spec.AllowUnverified = true // unsigned test signals, marked unverified
	spec.Skippable = []string{workflows.StageDiscover}
	spec.VMs = nil
	for _, v := range inv.VMs {
		spec.VMs = append(spec.VMs, plan.VMSpec{Ref: v.Ref, Name: v.Name, NumCPU: v.NumCPU, MemoryMB: v.MemoryMB, DiskGB: v.DiskGB(), MachineType: "e2-standard-2"})
	}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	plans := &planstore.Static{Digest: quickDigest, Specs: []plan.AppSpec{spec}}
	acts := &activities.Activities{VCenter: sim.Config(), Plans: plans}
	f := &fakeacts.Fakes{Plans: plans, Real: map[string]bool{activities.DiscoverAppName: true, activities.TerraformPlanName: true}}
	f.Register(env)
	env.RegisterActivityWithOptions(acts.DiscoverApp, activity.RegisterOptions{Name: activities.DiscoverAppName})
	env.RegisterActivityWithOptions(acts.TerraformPlan, activity.RegisterOptions{Name: activities.TerraformPlanName})
	ferryworker.RegisterWorkflows(env)
	var atDiscover, afterSkip workflows.Status
	query := func(into *workflows.Status) {
		if v, err := env.QueryWorkflow(workflows.QueryStatus); err == nil {
			_ = v.Get(into)
		}
	}
	env.RegisterDelayedCallback(func() {
		query(&atDiscover)
		env.SignalWorkflow(workflows.SignalSkip, workflows.Action{By: "carl@example.com", Reason: "try to skip the readiness check"})
	}, time.Hour)
	env.RegisterDelayedCallback(func() { query(&afterSkip) }, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalRollback, workflows.Action{By: "bo@example.com", Reason: "test done"})
	}, 3*time.Hour)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.AppWorkflowID(spec.Name)})
	env.ExecuteWorkflow(workflows.MigrateAppWorkflowName, workflows.MigrateAppInput{App: spec.Name, PlanDigest: quickDigest, StartedBy: "carl@example.com"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		st    workflows.Status
		stage string
	}{{"at discovery", atDiscover, workflows.StageDiscover}, {"after skipping discovery", afterSkip, workflows.StagePlan}} {
		e := c.st.LastError
		if c.st.Stage != workflows.StageBlocked || e == nil || e.Stage != c.stage || e.Reason != string(runbooks.ReasonVMNotReady) ||
			!strings.Contains(e.Runbook, "vm-not-ready.md") || !strings.Contains(e.Message, "VM ledger-01") ||
			!strings.Contains(e.Message, "[rdm-disk]") || !strings.Contains(e.Message, "fix: convert it to a virtual disk") {
			t.Errorf("%s: stage %s, last error %+v; want Blocked at %s with vm-not-ready, the VM, the fix and the runbook", c.name, c.st.Stage, e, c.stage)
		}
		if c.st.Evidence.Plan != nil {
			t.Errorf("%s: the plan gate got evidence: %+v", c.name, c.st.Evidence.Plan)
		}
	}
}
