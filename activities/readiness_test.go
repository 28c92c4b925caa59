package activities

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/inventory/sample"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/readiness"
	"github.com/ferrymigrate/ferry/runbooks"
)

// startPlanted starts the activities' sample portfolio in vcsim with a
// physical RDM planted on the first VM of an app whose VMs are otherwise
// ready, the way readiness' own tests plant it.
func startPlanted(t *testing.T) (sim *sample.Simulator, app, vm string) {
	t.Helper()
	p := sample.Generate(sample.Options{Seed: 7, Apps: 8, Datacenters: 2})
	for i := range p.Apps {
		a := &p.Apps[i]
		ok := len(a.VMs) > 0
		for _, v := range a.VMs {
			ok = ok && v.PoweredOn && (v.GuestID == "ubuntu64Guest" || v.GuestID == "rhel8_64Guest")
		}
		if ok {
			a.VMs[0].Problems = []sample.Problem{sample.ProblemRDM}
			app, vm = a.Name, a.VMs[0].Name
			break
		}
	}
	if app == "" {
		t.Fatal("no clean app to plant on")
	}
	return sample.StartT(t, p), app, vm
}

// TestNotReadyVMCannotReachThePlanGate: DiscoverApp refuses a VM with a
// planted RDM (non-retryable, reason vm-not-ready, the VM, check and fix
// in the message, the readiness report in the details); TerraformPlan
// refuses it too, before terraform, for a migration that skipped
// Discover; the reviewed plan's acceptance lets both pass.
func TestNotReadyVMCannotReachThePlanGate(t *testing.T) {
	sim, app, vm := startPlanted(t)
	// The app's VMs, as the plan would list them.
	_, err := runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(plan.AppSpec{Name: app})})
	var found DiscoverAppResult
	if derr := appError(t, err).Details(&found); derr != nil {
		t.Fatal(derr)
	}
	spec := plan.AppSpec{Name: app, VMs: plannedOf(found.VMs)}

	_, err = runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(spec)})
	ae := appError(t, err)
	if ae.Type() != string(runbooks.ReasonVMNotReady) || !ae.NonRetryable() {
		t.Fatalf("not-ready VM: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}
	for _, want := range []string{"VM " + vm, "[rdm-disk]", "physical compatibility mode", "fix: convert it to a virtual disk", `accept_readiness = ["rdm-disk"`, runbooks.Link(runbooks.ReasonVMNotReady)} {
		if !strings.Contains(ae.Error(), want) {
			t.Errorf("refusal lacks %q: %s", want, ae.Error())
		}
	}
	var res DiscoverAppResult
	if err := ae.Details(&res); err != nil {
		t.Fatal(err)
	}
	if res.Readiness == nil || res.Readiness.Verdict != readiness.NotReady || len(res.Readiness.Blocking()) != 1 || res.Readiness.Blocking()[0].Name != vm {
		t.Fatalf("evidence: %+v", res.Readiness)
	}

	// Discover skipped: the terraform plan step refuses before terraform
	// runs (this environment has no terraform at all).
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, VCenter: sim.Config()}
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(a.TerraformPlan, TerraformInput{Plan: testRef(spec)})
	if ae := appError(t, err); ae.Type() != string(runbooks.ReasonVMNotReady) || !ae.NonRetryable() || !strings.Contains(ae.Error(), vm) {
		t.Fatalf("terraform plan of a not-ready app: %s nonretryable=%v: %v", ae.Type(), ae.NonRetryable(), ae)
	}

	// Accepted in review (vcsim's RDM is also an independent disk).
	for i := range spec.VMs {
		if spec.VMs[i].Name == vm {
			spec.VMs[i].AcceptReadiness = []string{readiness.CheckRDM, readiness.CheckIndependent}
		}
	}
	got, err := runDiscover(t, sim.Config(), DiscoverAppInput{Plan: testRef(spec)})
	if err != nil {
		t.Fatalf("accepted findings still refused: %v", err)
	}
	if got.Readiness == nil || got.Readiness.Verdict != readiness.Conditional {
		t.Fatalf("accepted: %+v", got.Readiness)
	}
	accepted := 0
	for _, v := range got.Readiness.VMs {
		for _, f := range v.Findings {
			if f.Accepted {
				accepted++
			}
		}
	}
	if accepted != 2 {
		t.Errorf("accepted findings in the evidence: %d, want 2: %+v", accepted, got.Readiness.VMs)
	}
	if err := (&Activities{Plans: testPlans, VCenter: sim.Config()}).recheckReadiness(context.Background(), spec); err != nil {
		t.Errorf("re-check of an accepted app: %v", err)
	}
}
