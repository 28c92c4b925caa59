package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestVCenterFaultsInTheWorkflow runs MigrateApp with the real DiscoverApp
// against the simulator: transient faults are retried away; a permanent
// one (no permission) parks the workflow with the reason and its runbook,
// and `retry` resumes once the permission is fixed.
func TestVCenterFaultsInTheWorkflow(t *testing.T) {
	ctx := context.Background()
	sim := sample.StartT(t, &sample.Portfolio{Apps: []sample.App{{Name: "ledger", Owner: "ana@example.com",
		VMs: []sample.VM{{Name: "ledger-01", Datacenter: "dc-east", CPU: 2, MemoryMB: 4096, DiskGB: 40, PoweredOn: true}}}}})
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
	// vCenter faults are the point here: the test environment's signals
	// and start go unsigned, which this plan accepts (marked unverified).
	spec.AllowUnverified = true
	spec.VMs = nil
	for _, v := range inv.VMs {
		spec.VMs = append(spec.VMs, plan.VMSpec{Ref: v.Ref, Name: v.Name, NumCPU: v.NumCPU, MemoryMB: v.MemoryMB, DiskGB: v.DiskGB()})
	}

	for _, tc := range []struct {
		name      string
		rule      simulator.FaultInjectionRule
		wantPark  bool
		wantStage string
	}{
		{"transient", simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
			Probability: 1, MaxCount: 2, FaultType: simulator.FaultTypeNetworkFailure, Enabled: true}, false, workflows.StageApprovePlan},
		{"permanent", simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
			Probability: 1, FaultType: simulator.FaultTypeNoPermission, Enabled: true}, true, workflows.StageBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.Service().ClearFaultRules()
			rule := tc.rule
			sim.Service().AddFaultRule(&rule)
			defer sim.Service().ClearFaultRules()

			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			plans := &planstore.Static{Digest: quickDigest, Specs: []plan.AppSpec{spec}}
			acts := &activities.Activities{VCenter: sim.Config(), Plans: plans}
			f := &fakeacts.Fakes{Plans: plans, Real: map[string]bool{activities.DiscoverAppName: true}}
			f.Register(env)
			env.RegisterActivityWithOptions(acts.DiscoverApp, activity.RegisterOptions{Name: activities.DiscoverAppName})
			ferryworker.RegisterWorkflows(env)
			var atFault, afterRetry workflows.Status
			query := func(into *workflows.Status) {
				v, err := env.QueryWorkflow(workflows.QueryStatus)
				if err == nil {
					_ = v.Get(into)
				}
			}
			env.RegisterDelayedCallback(func() {
				query(&atFault)
				sim.Service().ClearFaultRules() // the permission is granted
				if tc.wantPark {
					env.SignalWorkflow(workflows.SignalRetry, workflows.Action{By: "bo@example.com"})
				}
			}, time.Hour)
			env.RegisterDelayedCallback(func() { query(&afterRetry) }, 2*time.Hour)
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(workflows.SignalRollback, workflows.Action{By: "bo@example.com", Reason: "test done"})
			}, 3*time.Hour)
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.AppWorkflowID(spec.Name)})
			env.ExecuteWorkflow(workflows.MigrateAppWorkflowName, workflows.MigrateAppInput{App: spec.Name, PlanDigest: quickDigest, StartedBy: "carl@example.com"})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if atFault.Stage != tc.wantStage {
				t.Fatalf("stage with the fault in place: %s (last error %+v), want %s", atFault.Stage, atFault.LastError, tc.wantStage)
			}
			if tc.wantPark {
				e := atFault.LastError
				if e == nil || e.Reason != "vcenter-permission" || !strings.Contains(e.Runbook, "vcenter-permission.md") {
					t.Fatalf("parked with %+v, want reason vcenter-permission and its runbook", e)
				}
				if afterRetry.Stage != workflows.StageApprovePlan {
					t.Errorf("after the fix and retry: stage %s, want ApprovePlan", afterRetry.Stage)
				}
			} else if atFault.Evidence.Discovery == nil || len(atFault.Evidence.Discovery.VMs) != 1 {
				t.Errorf("transient faults not retried away: %+v", atFault.Evidence.Discovery)
			}
		})
	}
}
