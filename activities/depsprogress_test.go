package activities_test

import (
	"slices"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/workflows"
)

// DependencyProgress reads from visibility what package workflows writes
// (stage, cutover time, last error) and sorts the app's dependencies in
// earlier waves into cut over, pending, not started and lost; same-wave
// ones are the wave's, later waves' and apps outside the plan the
// dependencies gate's.
func TestDependencyProgressReadsWhatWorkflowsWrite(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func(app, stage string, started time.Duration, cutover bool, lastError string) *workflowpb.WorkflowExecutionInfo {
		sa := map[string]any{workflows.SAApp.GetName(): app, workflows.SAStage.GetName(): stage}
		if cutover {
			sa[workflows.SACutoverAt.GetName()] = base.Add(started + time.Hour)
		}
		if lastError != "" {
			sa[workflows.SALastError.GetName()] = lastError
		}
		return fakevis.Run(workflows.AppWorkflowID(app), "", 0, base.Add(started), sa)
	}
	v := &fakevis.Visibility{Execs: []*workflowpb.WorkflowExecutionInfo{
		run("db", workflows.StageRolledBack, 0, true, ""),                 // an older run, rolled back
		run("db", workflows.StageBlocked, time.Hour, true, "hook-failed"), // the newest: cut over, parked in the bake
		run("queue", workflows.StageCutover, 0, false, ""),
		run("auth", workflows.StageRolledBack, 0, true, ""),
		run("dns", workflows.StageBlocked, 0, true, "rollback-failed"),
	}}
	app := func(name, wave string, deps ...string) plan.AppSpec {
		return plan.AppSpec{Name: name, Wave: wave, DependsOn: deps}
	}
	store := &planstore.Static{Digest: "sha256:1", Plan: &plan.Plan{Waves: []plan.Wave{{Name: "wave-1"}, {Name: "wave-2"}, {Name: "wave-3"}}},
		Specs: []plan.AppSpec{
			app("web", "wave-2", "db", "queue", "auth", "dns", "cache", "search", "mainframe", "later"),
			app("db", "wave-1"), app("queue", "wave-1"), app("auth", "wave-1"), app("dns", "wave-1"),
			app("cache", "wave-2"), app("search", "wave-1"), app("later", "wave-3"),
		}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Plans: store, Visibility: v})
	val, err := env.ExecuteActivity(activities.DependencyProgressName, activities.DependencyProgressInput{
		Plan: activities.PlanRef{App: "web", Digest: "sha256:1"}})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.DependencyProgressResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if want := []string{"db", "queue", "auth", "dns", "search"}; !slices.Equal(res.Watched, want) {
		t.Errorf("watched %v, want %v (cache is the wave's, later a later wave's, mainframe not in the plan)", res.Watched, want)
	}
	if !slices.Equal(res.CutOver, []string{"db"}) {
		t.Errorf("cut over %v, want [db]", res.CutOver)
	}
	if want := []string{"queue (Cutover)"}; !slices.Equal(res.Pending, want) {
		t.Errorf("pending %v, want %v", res.Pending, want)
	}
	if want := []string{"search (wave-1)"}; !slices.Equal(res.NotStarted, want) {
		t.Errorf("not started %v, want %v", res.NotStarted, want)
	}
	if want := []string{"auth (RolledBack)", "dns (Blocked)"}; !slices.Equal(res.Lost, want) {
		t.Errorf("lost %v, want %v", res.Lost, want)
	}
}
