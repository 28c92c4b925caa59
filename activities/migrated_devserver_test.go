package activities_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/workflows"
)

// finishedMigration stands in for MigrateApp: it upserts the search
// attributes a migration leaves behind and ends.
func finishedMigration(ctx workflow.Context, app, stage string) error {
	return workflow.UpsertTypedSearchAttributes(ctx, workflows.SAApp.ValueSet(app), workflows.SAStage.ValueSet(stage))
}

type probe struct {
	Apps    []string
	Warning string
}

// probeMigrated runs inside a real worker, the way CheckDependencies does:
// no Visibility configured, so the worker's own client is used.
func probeMigrated(ctx context.Context) (probe, error) {
	apps, warn := activities.MigratedFromVisibility(ctx, &activities.Activities{})
	return probe{apps, warn}, nil
}

func probeWorkflow(ctx workflow.Context) (probe, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out probe
	err := workflow.ExecuteActivity(ctx, probeMigrated).Get(ctx, &out)
	return out, err
}

// TestMigratedFromVisibilityOnDevServer: against the Temporal dev server,
// an activity with no Visibility set reads the namespace's migrations
// through activity.GetClient and counts only the app whose migration is
// Done.
func TestMigratedFromVisibilityOnDevServer(t *testing.T) {
	addr := testenv.DevServer(t, workflows.SearchAttributeFlags())
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const queue = "migrated-probe"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(finishedMigration, workflow.RegisterOptions{Name: workflows.MigrateAppWorkflowName})
	w.RegisterWorkflow(probeWorkflow)
	w.RegisterActivity(probeMigrated)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	for app, stage := range map[string]string{"ledger": workflows.StageDone, "billing": workflows.StageBake} {
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.AppWorkflowID(app), TaskQueue: queue}, workflows.MigrateAppWorkflowName, app, stage)
		if err == nil {
			err = r.Get(ctx, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var got probe
	for try := 0; try < 40; try++ { // visibility catches up asynchronously
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, probeWorkflow)
		if err == nil {
			err = r.Get(ctx, &got)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.Warning != "" || len(got.Apps) > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !slices.Equal(got.Apps, []string{"ledger"}) || got.Warning != "" {
		t.Fatalf("migrated %v warning %q, want [ledger] (billing is still baking)", got.Apps, got.Warning)
	}
}
