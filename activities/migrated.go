package activities

import (
	"context"
	"sort"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Visibility is the part of the Temporal client the dependency check uses
// to learn which apps are already on GCP.
type Visibility interface {
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

var _ Visibility = (client.Client)(nil)

// Names shared with package workflows, which imports this package (a
// test checks they stay equal): the workflow type, the search attributes
// every migration upserts, and the stage of a finished migration.
const (
	migrateAppWorkflowType = "MigrateApp"
	saApp                  = "FerryApp"
	saStage                = "FerryStage"
	stageDone              = "Done"
)

// migratedQuery selects every app migration; the newest run of each app
// decides.
const migratedQuery = "WorkflowType = '" + migrateAppWorkflowType + "'"

// MigratedApps lists the apps whose newest migration is Done: moved,
// baked, decommissioned. An app still baking or waiting for decommission
// can roll back, so its dependants still see it as left behind.
func MigratedApps(ctx context.Context, v Visibility, namespace string) ([]string, error) {
	runs, err := newestRuns(ctx, v, namespace)
	if err != nil {
		return nil, err
	}
	var out []string
	for app, r := range runs {
		if r.stage == stageDone {
			out = append(out, app)
		}
	}
	sort.Strings(out)
	return out, nil
}

func keyword(info *workflowpb.WorkflowExecutionInfo, name string) string {
	var s string
	if p := info.GetSearchAttributes().GetIndexedFields()[name]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

// migrated returns the apps already on GCP: those the input names (older
// workflows passed them) and those Temporal visibility shows Done, read
// through a.Visibility or the worker's own client. Failing to read them is
// a warning, not a failure: the worst outcome is a dependency gate a
// person acknowledges.
func (a *Activities) migrated(ctx context.Context, given []string) (apps []string, warning string) {
	v := a.visibility(ctx)
	if v == nil {
		return given, ""
	}
	namespace := activity.GetInfo(ctx).Namespace
	found, err := MigratedApps(ctx, v, namespace)
	if err != nil {
		activity.GetLogger(ctx).Warn("cannot read migrated apps from visibility", "error", err)
		return given, "could not read which apps are already migrated from Temporal visibility (" + err.Error() + "): dependencies that moved in earlier waves may show as left behind"
	}
	return union(given, found), ""
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range append(append([]string{}, a...), b...) {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// visibility is a.Visibility, else the worker's own Temporal client (nil
// when neither is there).
func (a *Activities) visibility(ctx context.Context) Visibility {
	if a.Visibility != nil {
		return a.Visibility
	}
	if c := activity.GetClient(ctx); c != nil {
		return c
	}
	return nil
}
