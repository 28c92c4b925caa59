package test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestResetKeepsSignedApprovals: a Temporal reset is how operators
// recover workflows from a bad worker deploy (`temporal workflow reset
// --type LastWorkflowTask`). The new run replays the approvals given
// before the reset point; they were signed for the run as it was
// started, so a migration that bound signatures to the current run ID
// would refuse them on replay, disagree with its own history and fail
// every workflow task. Here the reset run goes on from the cutover gate:
// the plan approval still counts, approvals signed after the reset
// verify, and it ends Done without a failed workflow task.
func TestResetKeepsSignedApprovals(t *testing.T) {
	if testing.Short() {
		t.Skip("dev server")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	startFakeWorker(t, c, &fakeacts.Fakes{Plans: quickPlans{}})
	// A few seconds when it works; a reset run that fails its workflow
	// tasks would be retried until this ends.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const app = "reset-app"
	run, err := startQuick(ctx, c, app)
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{c: c}
	if _, err := d.run(ctx, app, workflows.StageApproveCutover); err != nil {
		t.Fatal(err)
	}
	id := workflows.AppWorkflowID(app)
	out, err := exec.CommandContext(ctx, testenv.Temporal(t), "workflow", "reset", "--address", srv.HostPort(), "--namespace", "default",
		"--workflow-id", id, "--type", "LastWorkflowTask", "--reason", "test: recover from a bad worker deploy").CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow reset: %v\n%s", err, out)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	newRun := desc.WorkflowExecutionInfo.Execution.RunId
	if newRun == run.GetRunID() {
		t.Fatalf("the reset made no new run (%s)\n%s", newRun, out)
	}

	got, err := d.run(ctx, app, "")
	if err != nil {
		t.Fatal(err)
	}
	if got != workflows.StageDone {
		t.Fatalf("the reset run ended %s, want Done", got)
	}
	var res workflows.MigrateAppResult
	if err := c.GetWorkflow(ctx, id, newRun).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status.RunID != run.GetRunID() {
		t.Errorf("status names run %s for signatures, want the run as started (%s)", res.Status.RunID, run.GetRunID())
	}
	plan := 0
	for _, a := range res.Status.Approvals {
		if !a.Verified {
			t.Errorf("approval %+v not verified", a)
		}
		if a.Stage == workflows.GatePlan {
			plan++
		}
	}
	if plan != 1 {
		t.Errorf("%d plan approvals in the reset run, want the one given before the reset: %+v", plan, res.Status.Approvals)
	}
	for _, a := range res.Status.Audit {
		t.Errorf("the reset run refused something: %+v", a)
	}
	// The reset itself fails one workflow task (cause reset); any other
	// failure is the replay disagreeing with the history.
	iter := c.GetWorkflowHistory(ctx, id, newRun, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f := e.GetWorkflowTaskFailedEventAttributes(); f != nil && f.GetCause() != enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			t.Errorf("workflow task failed in the reset run (event %d): %s: %s", e.GetEventId(), f.GetCause(), f.GetFailure().GetMessage())
		}
	}
}
