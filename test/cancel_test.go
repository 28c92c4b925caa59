package test

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestCancelAWaveFromTheTemporalCLI: `temporal workflow cancel` of a wave
// names no verified person. The wave starts no more apps and passes the
// cancel on to the migrations it started: each parks (cancel-requested)
// with nothing undone, and its own people decide: a signed rollback ends
// one, a signed retry sends the other back to its plan gate. Before, the
// SDK's child-only cancel requests were dropped once the wave had closed
// and the migrations ran on as if nothing had happened.
func TestCancelAWaveFromTheTemporalCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("dev server")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	w := plan.Wave{Name: "cancelled", Apps: []string{"cancel-a", "cancel-b", "cancel-c"}, Concurrency: 2}
	inWave := func(s *plan.AppSpec) { s.Wave = w.Name }
	f := &fakeacts.Fakes{Plans: recPlans{waves: map[string]plan.Wave{w.Name: w},
		edits: map[string]func(*plan.AppSpec){"cancel-a": inWave, "cancel-b": inWave, "cancel-c": inWave}}}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := as(c, "carl@example.com", testKeys).StartWave(ctx, w, quickDigest); err != nil {
		t.Fatal(err)
	}
	d := &driver{c: c}
	started := w.Apps[:2] // the cap: cancel-c waits for a slot
	for _, app := range started {
		eventually(t, ctx, app+" at its plan gate", 100*time.Millisecond, func() (bool, string) {
			st, err := d.status(ctx, app)
			if err != nil {
				return false, err.Error()
			}
			return st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan, st.Stage
		})
	}
	out, err := exec.CommandContext(ctx, testenv.Temporal(t), "workflow", "cancel", "--address", srv.HostPort(), "--namespace", "default",
		"--workflow-id", workflows.WaveWorkflowID(w.Name)).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow cancel: %v\n%s", err, out)
	}
	for _, app := range started {
		eventually(t, ctx, app+" parked for the wave's cancel", 100*time.Millisecond, func() (bool, string) {
			st, err := d.status(ctx, app)
			if err != nil {
				return false, err.Error()
			}
			return st.LastError != nil && st.LastError.Reason == string(runbooks.ReasonCancelRequested) &&
				slices.ContainsFunc(st.Audit, func(a workflows.AuditEntry) bool { return a.Signal == "cancel" }), st.Stage
		})
	}
	desc, err := c.DescribeWorkflowExecution(ctx, workflows.WaveWorkflowID(w.Name), "")
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED {
		t.Errorf("wave %s, want canceled", s)
	}
	if _, err := c.DescribeWorkflowExecution(ctx, workflows.AppWorkflowID("cancel-c"), ""); err == nil {
		t.Error("the cancelled wave started cancel-c")
	}
	for _, c := range f.Calls() {
		if c == "TerraformApply" || c == "TerraformDestroy" {
			t.Errorf("the cancel ran %s before anyone decided: %v", c, f.Calls())
		}
	}

	// Its people decide: one rolls back, the other goes on.
	if _, err := rollbackAs(ctx, c, "cancel-a", "ana@example.com", testKeys, "the wave was cancelled on purpose"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.run(ctx, "cancel-a", ""); err != nil || got != workflows.StageRolledBack {
		t.Errorf("cancel-a after its rollback: %s %v, want RolledBack", got, err)
	}
	retry, err := as(c, "bo@example.com", testKeys).Action(ctx, "cancel-b", "retry", "go on without the wave")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, workflows.AppWorkflowID("cancel-b"), "", workflows.SignalRetry, retry); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, "cancel-b back at its plan gate after the retry", 100*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, "cancel-b")
		if err != nil {
			return false, err.Error()
		}
		return st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan && st.LastError == nil, st.Stage
	})
}
