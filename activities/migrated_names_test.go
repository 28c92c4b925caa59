package activities_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/workflows"
)

type oneQuery struct {
	runs  []*workflowpb.WorkflowExecutionInfo
	query string
}

func (o *oneQuery) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	o.query = req.GetQuery()
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: o.runs}, nil
}

// MigratedApps reads the names package workflows writes (it cannot import
// workflows, which imports it): the workflow type, FerryApp, FerryStage
// and the Done stage.
func TestMigratedAppsReadsWhatWorkflowsWrite(t *testing.T) {
	run := func(app, stage string) *workflowpb.WorkflowExecutionInfo {
		a, _ := converter.GetDefaultDataConverter().ToPayload(app)
		s, _ := converter.GetDefaultDataConverter().ToPayload(stage)
		return &workflowpb.WorkflowExecutionInfo{StartTime: timestamppb.New(time.Now()),
			Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.AppWorkflowID(app)},
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				workflows.SAApp.GetName(): a, workflows.SAStage.GetName(): s}}}
	}
	v := &oneQuery{runs: []*workflowpb.WorkflowExecutionInfo{run("ledger", workflows.StageDone), run("billing", workflows.StageBake)}}
	got, err := activities.MigratedApps(context.Background(), v, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"ledger"}) || !strings.Contains(v.query, "'"+workflows.MigrateAppWorkflowName+"'") {
		t.Errorf("migrated %v from query %q", got, v.query)
	}
}
