package activities

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/simulator"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

func startSample(t *testing.T) *sample.Simulator {
	t.Helper()
	sim := sample.StartT(t, sample.Generate(sample.Options{Seed: 7, Apps: 8, Datacenters: 2}))
	return sim
}

func runDiscover(t *testing.T, cfg inventory.Config, in DiscoverAppInput) (DiscoverAppResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, VCenter: cfg}
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.DiscoverApp, in)
	var res DiscoverAppResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func plannedOf(vms []inventory.VM) []plan.VMSpec {
	var out []plan.VMSpec
	for _, v := range vms {
		out = append(out, plan.VMSpec{Ref: v.Ref, Name: v.Name, NumCPU: v.NumCPU, MemoryMB: v.MemoryMB, DiskGB: v.DiskGB()})
	}
	return out
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an application error, got %T %v", err, err)
	}
	return ae
}

func TestDiscoverAppNoDrift(t *testing.T) {
	sim := startSample(t)
	_, err := runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "payments-db"})})
	if err == nil || appError(t, err).Type() != string(runbooks.ReasonInventoryDrift) {
		t.Fatalf("with an empty plan every VM is added drift; got %v", err)
	}
	_, err = runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae := appError(t, err)
	var detail DiscoverAppResult
	if derr := ae.Details(&detail); derr != nil {
		t.Fatal(derr)
	}
	if len(detail.VMs) != 3 {
		t.Fatalf("auth-service VMs = %d, want 3", len(detail.VMs))
	}
	res, err := runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service", VMs: plannedOf(detail.VMs)})})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.VMs) != 3 || len(res.Drift) != 0 {
		t.Fatalf("result %+v", res)
	}
	for _, v := range res.VMs {
		if v.App != "auth-service" {
			t.Fatalf("VM %s of app %q in auth-service result", v.Name, v.App)
		}
	}
}

func TestDiscoverAppDrift(t *testing.T) {
	sim := startSample(t)
	_, err := runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	var detail DiscoverAppResult
	_ = appError(t, err).Details(&detail)
	planned := plannedOf(detail.VMs)
	planned[0].NumCPU++                                                                                             // resized
	planned[1].Name = "auth-legacy"                                                                                 // renamed in vCenter since planning
	gone := planned[2]                                                                                              // vCenter has it, the plan lost it: added
	planned = append(planned[:2], plan.VMSpec{Ref: "vm-99999", Name: "auth-service-09", NumCPU: 2, MemoryMB: 2048}) // removed
	_, err = runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service", VMs: planned})})
	ae := appError(t, err)
	if ae.Type() != string(runbooks.ReasonInventoryDrift) || !ae.NonRetryable() {
		t.Fatalf("type %s nonretryable %v", ae.Type(), ae.NonRetryable())
	}
	var res DiscoverAppResult
	if err := ae.Details(&res); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, d := range res.Drift {
		kinds[d.Kind] = d.VMRef
	}
	want := map[string]string{
		inventory.DriftResized: planned[0].Ref,
		inventory.DriftRenamed: planned[1].Ref,
		inventory.DriftAdded:   gone.Ref,
		inventory.DriftRemoved: "vm-99999",
	}
	for k, ref := range want {
		if kinds[k] != ref {
			t.Errorf("drift %s on %q, want %q (all: %+v)", k, kinds[k], ref, res.Drift)
		}
	}
	if len(res.Drift) != 4 || len(res.VMs) != 3 {
		t.Fatalf("drift %+v", res.Drift)
	}
	if !strings.Contains(ae.Error(), "Update ferry.hcl") {
		t.Fatalf("message lacks the next step: %s", ae.Error())
	}
}

func TestDiscoverAppErrors(t *testing.T) {
	sim := startSample(t)

	bad := sim.Config()
	bad.Password = "wrong-password"
	_, err := runDiscover(t, bad, DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae := appError(t, err)
	if ae.Type() != string(runbooks.ReasonVCenterAuth) || !ae.NonRetryable() || strings.Contains(ae.Error(), "wrong-password") {
		t.Fatalf("bad password: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}

	dc := sim.Config()
	dc.Datacenter = "dc-nowhere"
	_, err = runDiscover(t, dc, DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae = appError(t, err)
	if ae.Type() != string(runbooks.ReasonVCenterFault) || !ae.NonRetryable() || !strings.Contains(ae.Error(), "dc-east") {
		t.Fatalf("unknown datacenter: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := inventory.Config{URL: "https://" + addr + "/sdk", Username: "u", Password: "p", MaxAttempts: 2, RetryBase: time.Millisecond}
	_, err = runDiscover(t, down, DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae = appError(t, err)
	if ae.Type() != string(runbooks.ReasonVCenterUnreachable) || ae.NonRetryable() {
		t.Fatalf("unreachable: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}

	// A fault that never passes: retryable for Temporal once ferry's own
	// retries are used up.
	sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
		Probability: 1, FaultType: simulator.FaultTypeNetworkFailure, Enabled: true})
	flaky := sim.Config()
	flaky.RetryBase = time.Millisecond
	_, err = runDiscover(t, flaky, DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae = appError(t, err)
	if ae.Type() != string(runbooks.ReasonVCenterFault) || ae.NonRetryable() {
		t.Fatalf("transient: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}
	sim.Service().ClearFaultRules()

	sim.Service().AddFaultRule(&simulator.FaultInjectionRule{MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
		Probability: 1, FaultType: simulator.FaultTypeNoPermission, Enabled: true})
	_, err = runDiscover(t, flaky, DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: "auth-service"})})
	ae = appError(t, err)
	if ae.Type() != string(runbooks.ReasonVCenterPermission) || !ae.NonRetryable() {
		t.Fatalf("permission: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}
	sim.Service().ClearFaultRules()
}
