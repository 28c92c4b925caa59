package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	ferryworker "github.com/ferrymigrate/ferry/worker"
)

// TestReplayRecordedHistories replays histories recorded on a dev server
// (test/history_test.go) against today's workflow code: a change that would
// break running migrations fails here. Changes on purpose go behind
// workflow.GetVersion, then the histories are re-recorded.
func TestReplayRecordedHistories(t *testing.T) {
	files, _ := filepath.Glob("testdata/history-*.json")
	if len(files) < 2 {
		t.Fatalf("recorded histories missing in workflows/testdata (found %v)", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			ferryworker.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay of %s: %v", f, err)
			}
		})
	}
}
