package test

import (
	"context"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// startFakeWorker runs ferry's workflows with the fake activities f on
// the task queue of c until the test ends.
func startFakeWorker(t testing.TB, c client.Client, f *fakeacts.Fakes) {
	t.Helper()
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	ferryworker.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// recordedRun is one migration a recording test drives to its end.
type recordedRun struct {
	app        string
	rollbackAt string // the stage a person's rollback is sent at, "" for none
	want       string // the outcome
}

// recordRuns starts each run, approves every gate, sends the rollback at
// its stage, checks the outcome and saves the history into
// workflows/testdata under the app's name. before, when set, runs before
// each start.
func recordRuns(ctx context.Context, t *testing.T, c client.Client, runs []recordedRun, before func(recordedRun)) {
	t.Helper()
	for _, r := range runs {
		if before != nil {
			before(r)
		}
		if _, err := startQuick(ctx, c, r.app); err != nil {
			t.Fatal(err)
		}
		d := &driver{c: c}
		if r.rollbackAt != "" {
			if _, err := d.run(ctx, r.app, r.rollbackAt); err != nil {
				t.Fatal(err)
			}
			if _, err := rollbackAs(ctx, c, r.app, "ana@example.com", testKeys, "recorded rollback after cutover"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.run(ctx, r.app, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != r.want {
			t.Fatalf("%s ended %s, want %s", r.app, got, r.want)
		}
		saveHistory(ctx, t, c, workflows.AppWorkflowID(r.app), r.app)
	}
}
