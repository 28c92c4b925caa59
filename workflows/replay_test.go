package workflows_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestReplayRecordedHistories replays histories recorded on a dev server
// (test/history_test.go) against today's workflow code: a change that would
// break running migrations fails here. Changes on purpose go behind
// workflow.GetVersion, then the histories are re-recorded. Each history
// is replayed under its original workflow and run IDs: signed approvals
// name them, and a start is verified against the workflow ID.
func TestReplayRecordedHistories(t *testing.T) {
	files := histories(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replay(t, f, ferryworker.RegisterWorkflows); err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
}

// The corpus covers every path: each gate, a rejection, park → retry and
// park → skip, rollback at the plan gate, mid-cutover and at the
// decommission gate, hooks at every hook point, the dependencies gate, a
// wave with a held dependant (its two children and the wave itself), and
// the SLO watch through the bakes (a breach mid-bake, a watch that holds),
// client names moved with a cutover (to the end, and rolled back).
func histories(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/*.json")
	want := []string{"history-happy", "history-hooks", "history-deps", "history-reject", "history-park-retry", "history-park-skip",
		"history-rollback-plan", "history-rollback-cutover", "history-rollback", "history-wave-db", "history-wave-web", "wave-history",
		"history-replicate", "history-replicate-rollback", "history-sync-rollback",
		"history-slo-breach", "history-slo-watch", "history-client-dns", "history-client-dns-rollback", "history-replicate-keepalive", "history-hold-other-waves",
		"history-leftovers", "history-leftovers-rollback"}
	have := map[string]bool{}
	for _, f := range files {
		have[strings.TrimSuffix(filepath.Base(f), ".json")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("recorded history %s missing in workflows/testdata: record with FERRY_RECORD_HISTORY=1 go test ./test -run RecordHistory", w)
		}
	}
	return files
}

// An inserted activity call is exactly the change that breaks migrations
// in flight: replaying recorded histories against it must fail, or the
// replay test guards nothing.
func TestReplayFailsOnIncompatibleChange(t *testing.T) {
	inserted := func(ctx workflow.Context, in workflows.MigrateAppInput) (workflows.MigrateAppResult, error) {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		_ = workflow.ExecuteActivity(actx, "InsertedActivity").Get(ctx, nil)
		return workflows.MigrateApp(ctx, in)
	}
	for _, f := range []string{"testdata/history-happy.json", "testdata/history-rollback-cutover.json"} {
		err := replay(t, f, func(r ferryworker.WorkflowRegistry) {
			r.RegisterWorkflowWithOptions(inserted, workflow.RegisterOptions{Name: workflows.MigrateAppWorkflowName})
			r.RegisterWorkflowWithOptions(workflows.Wave, workflow.RegisterOptions{Name: workflows.WaveWorkflowName})
		})
		if err == nil {
			t.Fatalf("%s replayed against a workflow with an inserted activity call", f)
		}
		// TMPRL1100 is the SDK's code for a history the code no longer
		// matches (nondeterminism).
		if !strings.Contains(err.Error(), "TMPRL1100") && !strings.Contains(err.Error(), "nondeterministic") {
			t.Errorf("%s: replay failed, but not as nondeterministic: %v", f, err)
		}
	}
}

// replay runs one recorded history under its original workflow and run
// IDs (signed approvals name them, and a start is verified against the
// workflow ID): testdata/wave-<name>.json is the wave <name>, any other
// file the migration of the app named after the file.
func replay(t *testing.T, file string, register func(ferryworker.WorkflowRegistry)) error {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var first struct {
		Events []struct {
			Attrs struct {
				RunID string `json:"firstExecutionRunId"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &first); err != nil || len(first.Events) == 0 {
		t.Fatalf("%s: %v", file, err)
	}
	hist, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	register(r)
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	id := workflows.AppWorkflowID(name)
	if wave, ok := strings.CutPrefix(name, "wave-"); ok {
		id = workflows.WaveWorkflowID(wave)
	}
	return r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: id, RunID: first.Events[0].Attrs.RunID}})
}
