package activities

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/plan"
)

// migrationRun is a run as visibility shows it, with the search attribute
// names given (the external test passes package workflows' own).
func migrationRun(appKey, stageKey, app, stage string, started time.Time) *workflowpb.WorkflowExecutionInfo {
	return fakevis.Run("ferry-app-"+app, app+started.String(), 0, started, map[string]any{appKey: app, stageKey: stage})
}

// TestCheckDependenciesFindsMigratedApps: the workflow passes no Migrated;
// the activity reads visibility, where db's newest run is Done and web's
// newest run is a new migration still in progress, so only db counts as
// moved. An ambiguous conversation is a warning naming the app.
func TestCheckDependenciesFindsMigratedApps(t *testing.T) {
	cfg := depsVCSim(t, map[string]string{"web-1": "10.0.0.1", "api-1": "10.0.0.2", "db-1": "10.0.0.3"})
	flows := filepath.Join(t.TempDir(), "flows.csv")
	os.WriteFile(flows, []byte("src_ip,dst_ip,src_port,dst_port,protocol,bytes,flags,biflowDirection\n"+
		"10.0.0.1,10.0.0.2,41000,8080,tcp,100,....S.,\n"+
		"10.0.0.2,10.0.0.3,41001,5432,tcp,100,....S.,\n"+
		"10.0.0.2,10.0.0.1,41002,8080,tcp,100,....S.,\n"+ // api -> web: a dependency of api
		"10.0.0.2,10.0.0.3,45000,47000,tcp,500,...AP.SF,\n"+ // both ephemeral, no SYN: no telling
		"10.0.0.3,10.0.0.2,47000,45000,tcp,700,...AP.SF,\n"), 0o644)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	vis := &fakevis.Visibility{PageSize: 2, Execs: []*workflowpb.WorkflowExecutionInfo{
		migrationRun(saApp, saStage, "db", "Cutover", t0),
		migrationRun(saApp, saStage, "web", stageDone, t0),
		migrationRun(saApp, saStage, "db", stageDone, t0.Add(time.Hour)),
		migrationRun(saApp, saStage, "web", "Provision", t0.Add(2*time.Hour)),
		migrationRun(saApp, saStage, "ledger", stageDone, t0),
	}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, VCenter: cfg, Flows: []string{flows}, Visibility: vis}
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"})})
	if err != nil {
		t.Fatal(err)
	}
	var res CheckDependenciesResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Migrated, []string{"db", "ledger"}) || !slices.Equal(res.LeftBehind, []string{"web"}) {
		t.Errorf("migrated %v left behind %v (want db moved, web not: its newest run is in progress)", res.Migrated, res.LeftBehind)
	}
	if len(vis.Asked) != 3 || !strings.Contains(vis.Asked[0], "WorkflowType = 'MigrateApp'") {
		t.Errorf("visibility queries: %v", vis.Asked)
	}
	i := slices.IndexFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "no telling which side is the server") })
	if i < 0 || !strings.Contains(res.Warnings[i], "involve api") || !strings.Contains(res.Warnings[i], "ss -ltn") {
		t.Errorf("ambiguous conversation not warned: %v", res.Warnings)
	}

	// Visibility down: a warning, and the input's apps still count.
	vis.Err = errors.New("visibility unavailable")
	val, err = env.ExecuteActivity(a.CheckDependencies, CheckDependenciesInput{Plan: testRef(plan.AppSpec{Name: "api"}), Migrated: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	res = CheckDependenciesResult{}
	_ = val.Get(&res)
	if !slices.Equal(res.Migrated, []string{"web"}) || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "visibility unavailable") }) {
		t.Errorf("visibility down: migrated %v warnings %v", res.Migrated, res.Warnings)
	}
}
