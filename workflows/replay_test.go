package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	files, _ := filepath.Glob("testdata/history-*.json")
	if len(files) < 2 {
		t.Fatalf("recorded histories missing in workflows/testdata (found %v)", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
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
				t.Fatalf("%s: %v", f, err)
			}
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			hist, err := client.HistoryFromJSON(fh, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := worker.NewWorkflowReplayer()
			ferryworker.RegisterWorkflows(r)
			app := strings.TrimSuffix(filepath.Base(f), ".json") // recorded as the app of that name
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{
				OriginalExecution: workflow.Execution{ID: workflows.AppWorkflowID(app), RunID: first.Events[0].Attrs.RunID}})
			if err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
}
