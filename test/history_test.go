package test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/planstore"
	"github.com/ferrymigrate/ferry/workflows"
)

// recPlans is the plan store of the recordings: quickSpec for any app,
// changed per app by edits, and the waves listed.
type recPlans struct {
	edits map[string]func(*plan.AppSpec)
	waves map[string]plan.Wave
}

func (r recPlans) App(ctx context.Context, app, digest string) (plan.AppSpec, error) {
	return quickPlans{Edit: func(s *plan.AppSpec) {
		if e := r.edits[s.Name]; e != nil {
			e(s)
		}
	}}.App(ctx, app, digest)
}

func (r recPlans) Wave(ctx context.Context, name, digest string) (plan.Wave, []plan.AppSpec, error) {
	w, ok := r.waves[name]
	if !ok || digest != quickDigest {
		return plan.Wave{}, nil, planstore.ErrNotInPlan
	}
	var specs []plan.AppSpec
	for _, a := range w.Apps {
		s, err := r.App(ctx, a, digest)
		if err != nil {
			return plan.Wave{}, nil, err
		}
		specs = append(specs, s)
	}
	return w, specs, nil
}

func (recPlans) Current(context.Context) (string, error) { return quickDigest, nil }

// TestRecordHistory records, on a dev server, the history of every path a
// migration can take into workflows/testdata, for the replay test that
// guards determinism (workflows/replay_test.go): every gate, a rejection,
// park then retry and park then skip, rollback at the plan gate, mid-bake
// of a cutover and at the decommission gate, hooks at every hook point,
// the dependencies gate, and a wave whose dependant's cutover is held for
// its dependency. Each file is named after its app (or wave-<name>), as
// the replay runs it under its original IDs.
//
// Re-record only with a release that changes the workflow on purpose
// (behind workflow.GetVersion, so the old histories still replay: keep
// them and add the new ones under new names):
//
//	FERRY_RECORD_HISTORY=1 go test ./test -run RecordHistory
func TestRecordHistory(t *testing.T) {
	only := os.Getenv("FERRY_RECORD_HISTORY") // "1": all; "wave": the wave only
	if only == "" {
		t.Skip("set FERRY_RECORD_HISTORY=1 to re-record workflows/testdata/*.json")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	hookSteps := []plan.HookSpec{
		{Name: "snapshot", At: plan.HookPreProvision, Command: []string{"true"}, Timeout: time.Minute},
		{Name: "agents", At: plan.HookPostProvision, Command: []string{"true"}, Timeout: time.Minute},
		{Name: "smoke", At: plan.HookSmokeTest, Command: []string{"true"}, Timeout: time.Minute},
		{Name: "drain", At: plan.HookPreCutover, Command: []string{"true"}, Timeout: time.Minute},
		{Name: "notify", At: plan.HookPostCutover, Command: []string{"true"}, Timeout: time.Minute},
	}
	plans := recPlans{
		edits: map[string]func(*plan.AppSpec){
			"history-hooks": func(s *plan.AppSpec) { s.Hooks = hookSteps },
			"history-park-skip": func(s *plan.AppSpec) {
				s.Hooks = []plan.HookSpec{{Name: "flaky-smoke", At: plan.HookSmokeTest, Command: []string{"false"}, Timeout: time.Minute}}
				s.Skippable = []string{"hook:flaky-smoke"}
			},
			"history-rollback-cutover": func(s *plan.AppSpec) {
				s.Cutover.Steps = []plan.Step{{Percent: 10, Bake: time.Hour}, {Percent: 100}}
			},
			"history-wave-db":  func(s *plan.AppSpec) { s.Wave = "history" },
			"history-wave-web": func(s *plan.AppSpec) { s.Wave, s.DependsOn = "history", []string{"history-wave-db"} },
		},
		waves: map[string]plan.Wave{"history": {Name: "history", Apps: []string{"history-wave-db", "history-wave-web"},
			Concurrency: 2, HoldCutoverForDeps: true}},
	}
	var applyFails atomic.Int32
	f := &fakeacts.Fakes{Plans: plans,
		Apply: func(int) error {
			if applyFails.Add(-1) >= 0 {
				return temporal.NewNonRetryableApplicationError("terraform apply failed: quota exceeded", "terraform-apply-failed", nil)
			}
			return nil
		},
		Hook: func(h plan.HookSpec) error {
			if h.Name == "flaky-smoke" {
				return temporal.NewNonRetryableApplicationError("hook flaky-smoke exited 1", "hook-failed", nil)
			}
			return nil
		},
	}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	operator := as(c, "carl@example.com", testKeys)

	start := func(app string) {
		t.Helper()
		if _, err := operator.StartMigration(ctx, quickSpec(app), quickDigest); err != nil {
			t.Fatal(err)
		}
	}
	// waitFor polls the app's status until ok says so.
	waitFor := func(app, what string, ok func(workflows.Status) bool) {
		t.Helper()
		d := &driver{c: c}
		for {
			st, err := d.status(ctx, app)
			if err == nil && ok(st) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: never %s (%+v, %v)", app, what, st, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	finish := func(app, want string) {
		t.Helper()
		got, err := (&driver{c: c}).run(ctx, app, "")
		if err != nil || got != want {
			t.Fatalf("%s ended %q (%v), want %q", app, got, err, want)
		}
		saveHistory(ctx, t, c, workflows.AppWorkflowID(app), app)
	}

	// driveUntil approves gates until the app's status satisfies at.
	driveUntil := func(app, what string, at func(workflows.Status) bool) {
		t.Helper()
		d := &driver{c: c}
		for {
			st, err := d.status(ctx, app)
			if err == nil && at(st) {
				return
			}
			if err == nil {
				if _, err := d.step(ctx, app, ""); err != nil {
					t.Fatalf("%s: %v (status %+v)", app, err, st)
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: never %s (%+v)", app, what, st)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	recordWave := func() {
		// A wave: web depends on db; web's cutover is held until db's is done.
		if _, err := operator.StartWave(ctx, plans.waves["history"], quickDigest); err != nil {
			t.Fatal(err)
		}
		waitFor("history-wave-db", "started by the wave", func(workflows.Status) bool { return true })
		if _, err := (&driver{c: c}).run(ctx, "history-wave-db", workflows.StageApproveCutover); err != nil {
			t.Fatal(err)
		}
		driveUntil("history-wave-web", "held for its dependency", func(st workflows.Status) bool {
			return st.Waiting != nil && st.Waiting.Gate == "dependencies-cut-over"
		})
		finish("history-wave-db", workflows.StageDone)
		finish("history-wave-web", workflows.StageDone)
		var ws workflows.WaveStatus
		if err := c.GetWorkflow(ctx, workflows.WaveWorkflowID("history"), "").Get(ctx, &ws); err != nil {
			t.Fatal(err)
		}
		saveHistory(ctx, t, c, workflows.WaveWorkflowID("history"), "wave-history")
	}
	if only == "wave" {
		recordWave()
		return
	}

	// Every gate, approved.
	start("history-happy")
	finish("history-happy", workflows.StageDone)

	// Hooks at every hook point.
	start("history-hooks")
	finish("history-hooks", workflows.StageDone)

	// The dependencies gate: a dependency stays behind; acknowledged.
	f.Deps.LeftBehind = []string{"ldap"}
	start("history-deps")
	waitFor("history-deps", "at the dependencies gate", func(st workflows.Status) bool {
		return st.Waiting != nil && st.Waiting.Gate == workflows.GateDependencies
	})
	f.Deps.LeftBehind = nil
	finish("history-deps", workflows.StageDone)

	// Rejected at the plan gate (an Update, as the CLI sends it).
	start("history-reject")
	waitFor("history-reject", "at the plan gate", func(st workflows.Status) bool {
		return st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan
	})
	bo := as(c, "bo@example.com", testKeys)
	rj, err := bo.Approval(ctx, "history-reject", "reject", workflows.GatePlan, "wrong subnet")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bo.Decide(ctx, "history-reject", "reject", rj); err != nil {
		t.Fatal(err)
	}
	finish("history-reject", workflows.StageRejected)

	// terraform apply fails once: parked, then retried (an Update).
	applyFails.Store(1)
	start("history-park-retry")
	if _, err := (&driver{c: c}).run(ctx, "history-park-retry", workflows.StageBlocked); err != nil {
		t.Fatal(err)
	}
	act := func(app, kind string) {
		t.Helper()
		a, err := operator.Action(ctx, app, kind, "recorded "+kind)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := operator.Act(ctx, app, kind, a); err != nil {
			t.Fatal(err)
		}
	}
	act("history-park-retry", "retry")
	finish("history-park-retry", workflows.StageDone)

	// A skippable hook fails: parked, then skipped.
	start("history-park-skip")
	if _, err := (&driver{c: c}).run(ctx, "history-park-skip", workflows.StageBlocked); err != nil {
		t.Fatal(err)
	}
	act("history-park-skip", "skip")
	finish("history-park-skip", workflows.StageDone)

	// Rollbacks (signals, as pasted in the UI): at the plan gate, mid-bake
	// of the first cutover step, and at the decommission gate. The driver
	// approves up to the stage named, then the rollback waits for the
	// point; nothing in between has a gate it could approve by mistake.
	rollbackAt := func(app, stage, what string, at func(workflows.Status) bool) {
		t.Helper()
		start(app)
		if _, err := (&driver{c: c}).run(ctx, app, stage); err != nil {
			t.Fatal(err)
		}
		waitFor(app, what, at)
		if _, err := rollbackAs(ctx, c, app, "ana@example.com", testKeys, "recorded rollback"); err != nil {
			t.Fatal(err)
		}
		finish(app, workflows.StageRolledBack)
	}
	rollbackAt("history-rollback-plan", workflows.StageApprovePlan, "at the plan gate", func(st workflows.Status) bool {
		return st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan
	})
	rollbackAt("history-rollback-cutover", workflows.StageCutover, "baking at 10 %", func(st workflows.Status) bool {
		return st.TrafficPercent == 10 && st.Waiting != nil && st.Waiting.Gate == "bake"
	})
	rollbackAt("history-rollback", workflows.StageApproveDecommission, "at the decommission gate", func(st workflows.Status) bool {
		return st.Waiting != nil && st.Waiting.Gate == workflows.GateDecommission
	})

	recordWave()
}

// saveHistory writes a workflow's whole history as JSON into
// workflows/testdata/<name>.json.
func saveHistory(ctx context.Context, t *testing.T, c client.Client, id, name string) {
	t.Helper()
	hist := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testenv.Root(), "workflows", "testdata", name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s into %s", len(hist.Events), id, path)
}
