package activities

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/plantest"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/terraform"
)

// ledgerSpec is the ledger app of examples/ferry.hcl with its state in
// the fake's GCS bucket.
func ledgerSpec(t *testing.T) plan.AppSpec {
	t.Helper()
	s := plantest.ExampleSpec(t, "ledger")
	s.Backend = plan.Backend{Type: "gcs", Bucket: "ferry-state", Prefix: "ferry"}
	return s
}

func provisionEnv(t *testing.T) (*testsuite.TestActivityEnvironment, *gcpfake.Server) {
	t.Helper()
	bin, rc := testenv.Terraform(t)
	fake := gcpfake.StartT(t, gcpfake.Options{})
	fake.CreateBucket("ferry-state")
	a := &Activities{Plans: testPlans,
		GCP: gcp.Config{Project: "acme-migration", Region: "europe-west1", ComputeEndpoint: fake.ComputeEndpoint(),
			DNSEndpoint: fake.DNSEndpoint(), StorageEndpoint: fake.StorageEndpoint()},
		Terraform: terraform.Config{Binary: bin, CLIConfigFile: rc, WorkRoot: t.TempDir()},
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return env, fake
}

func reasonOf(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// terraformPlan runs TerraformPlan on spec and returns its result.
func terraformPlan(t *testing.T, env *testsuite.TestActivityEnvironment, spec plan.AppSpec) TerraformPlanResult {
	t.Helper()
	v, err := env.ExecuteActivity(TerraformPlanName, TerraformInput{Plan: testRef(spec)})
	if err != nil {
		t.Fatal(err)
	}
	var pr TerraformPlanResult
	if err := v.Get(&pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestTerraformActivities(t *testing.T) {
	env, fake := provisionEnv(t)
	spec := ledgerSpec(t)

	pr := terraformPlan(t, env, spec)
	if pr.Summary.Add < 3 || pr.Summary.Hash == "" || pr.Summary.MonthlyUSD <= 0 {
		t.Fatalf("plan summary: %+v", pr.Summary)
	}

	// An approval of another plan is refused before anything is applied.
	_, err := env.ExecuteActivity(TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: "0000.1111"})
	if reasonOf(err) != string(runbooks.ReasonTerraformPlanDrift) {
		t.Fatalf("want %s, got %v", runbooks.ReasonTerraformPlanDrift, err)
	}
	if n := len(fake.Resources(spec.Project, "instances")); n != 0 {
		t.Fatalf("%d instances created by a refused apply", n)
	}

	val, err := env.ExecuteActivity(TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: pr.Summary.Hash})
	if err != nil {
		t.Fatal(err)
	}
	var ar TerraformApplyResult
	if err := val.Get(&ar); err != nil {
		t.Fatal(err)
	}
	if !ar.Changed || len(ar.InstanceIP) != 1 {
		t.Fatalf("apply result: %+v", ar)
	}
	// Retrying the activity (as Temporal would after a lost completion)
	// changes nothing.
	val, err = env.ExecuteActivity(TerraformApplyName, TerraformApplyInput{Plan: testRef(spec), ApprovedPlanHash: pr.Summary.Hash})
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Get(&ar); err != nil || ar.Changed {
		t.Fatalf("re-apply changed something: %+v %v", ar, err)
	}

	val, err = env.ExecuteActivity(TerraformDestroyName, TerraformInput{Plan: testRef(spec)})
	if err != nil {
		t.Fatal(err)
	}
	var dr TerraformDestroyResult
	if err := val.Get(&dr); err != nil || dr.Destroyed != pr.Summary.Add {
		t.Fatalf("destroy: %+v %v (created %d)", dr, err, pr.Summary.Add)
	}
}

func TestTerraformPlanRefusesInvalidSpec(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&Activities{Plans: testPlans, Terraform: terraform.Config{Binary: "/nonexistent/terraform", WorkRoot: t.TempDir()}})
	spec := plan.AppSpec{Name: "broken"}
	_, err := env.ExecuteActivity(TerraformPlanName, TerraformInput{Plan: testRef(spec)})
	if reasonOf(err) != string(runbooks.ReasonPlanInvalid) {
		t.Fatalf("want %s, got %v", runbooks.ReasonPlanInvalid, err)
	}
	// A shape GCE does not sell is refused at the plan step, before
	// terraform runs (this environment has none), never at apply.
	spec = ledgerSpec(t)
	spec.VMs[0].MachineType = "n2-highcpu-128"
	_, err = env.ExecuteActivity(TerraformPlanName, TerraformInput{Plan: testRef(spec)})
	if reasonOf(err) != string(runbooks.ReasonPlanInvalid) || !strings.Contains(err.Error(), "n2-highcpu-96") {
		t.Fatalf("unsold shape: want %s naming n2-highcpu-96, got %v", runbooks.ReasonPlanInvalid, err)
	}
}
