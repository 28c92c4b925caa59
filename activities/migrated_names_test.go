package activities_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/workflows"
)

// MigratedApps reads the names package workflows writes (it cannot import
// workflows, which imports it): the workflow type, FerryApp, FerryStage
// and the Done stage.
func TestMigratedAppsReadsWhatWorkflowsWrite(t *testing.T) {
	run := func(app, stage string) *workflowpb.WorkflowExecutionInfo {
		return fakevis.Run(workflows.AppWorkflowID(app), "", 0, time.Now(), map[string]any{workflows.SAApp.GetName(): app, workflows.SAStage.GetName(): stage})
	}
	v := &fakevis.Visibility{Execs: []*workflowpb.WorkflowExecutionInfo{run("ledger", workflows.StageDone), run("billing", workflows.StageBake)}}
	got, err := activities.MigratedApps(context.Background(), v, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"ledger"}) || len(v.Asked) != 1 || !strings.Contains(v.Asked[0], "'"+workflows.MigrateAppWorkflowName+"'") {
		t.Errorf("migrated %v from queries %q", got, v.Asked)
	}
}
