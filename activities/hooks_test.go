package activities

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

func hookEnv(t *testing.T) (*testsuite.TestActivityEnvironment, *Activities) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	a := &Activities{Plans: testPlans, Hooks: hooks.Config{MaxOutputBytes: 4096}}
	env.RegisterActivity(a)
	return env, a
}

func TestRunHookActivitySucceeds(t *testing.T) {
	t.Setenv("GOVC_PASSWORD", "worker-only-secret")
	env, _ := hookEnv(t)
	spec := plan.HookSpec{Name: "final-sync", At: plan.HookPreCutover, Timeout: time.Minute,
		Command: []string{"sh", "-c", `echo "app=$FERRY_APP hook=$FERRY_HOOK at=$FERRY_HOOK_AT vc=${GOVC_PASSWORD:-none}"`}}
	val, err := env.ExecuteActivity(RunHookName, RunHookInput{Plan: testRef(plan.AppSpec{Name: "billing", Hooks: []plan.HookSpec{spec}}), Hook: spec.Name})
	if err != nil {
		t.Fatal(err)
	}
	var res RunHookResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	ev := res.Evidence
	if ev.ExitCode != 0 || ev.Name != "final-sync" || ev.At != plan.HookPreCutover {
		t.Fatalf("evidence %+v", ev)
	}
	if !strings.Contains(ev.Output, "app=billing hook=final-sync at=pre_cutover vc=none") {
		t.Fatalf("output %q", ev.Output)
	}
}

func hookAppError(t *testing.T, err error) (*temporal.ApplicationError, HookEvidence) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("want an ApplicationError, got %v", err)
	}
	if !ae.NonRetryable() {
		t.Errorf("hook failures must not be retried by Temporal: %v", err)
	}
	var ev HookEvidence
	if err := ae.Details(&ev); err != nil {
		t.Fatalf("details: %v", err)
	}
	return ae, ev
}

func TestRunHookActivityFailureCarriesRedactedEvidence(t *testing.T) {
	env, _ := hookEnv(t)
	spec := plan.HookSpec{Name: "smoke", At: plan.HookSmokeTest,
		Command: []string{"sh", "-c", `echo "GET /health 503"; echo "db_password=Canary-Db-Pass-1"; exit 2`}}
	_, err := env.ExecuteActivity(RunHookName, RunHookInput{Plan: testRef(plan.AppSpec{Name: "billing", Hooks: []plan.HookSpec{spec}}), Hook: spec.Name})
	ae, ev := hookAppError(t, err)
	if ae.Type() != string(runbooks.ReasonHookFailed) || runbooks.ReasonOf(err) != runbooks.ReasonHookFailed {
		t.Fatalf("type %q", ae.Type())
	}
	if ev.ExitCode != 2 || !strings.Contains(ev.Output, "503") {
		t.Fatalf("evidence %+v", ev)
	}
	if strings.Contains(ev.Output, "Canary-Db-Pass-1") || strings.Contains(err.Error(), "Canary-Db-Pass-1") {
		t.Fatalf("secret in evidence or error: %q / %v", ev.Output, err)
	}
	if !strings.Contains(err.Error(), "hook-failed.md") {
		t.Errorf("error has no runbook link: %v", err)
	}
}

func TestRunHookActivityTimeout(t *testing.T) {
	env, _ := hookEnv(t)
	spec := plan.HookSpec{Name: "sync", At: plan.HookPreCutover, Timeout: 200 * time.Millisecond,
		Command: []string{"sh", "-c", `echo syncing; sleep 60`}}
	_, err := env.ExecuteActivity(RunHookName, RunHookInput{Plan: testRef(plan.AppSpec{Name: "billing", Hooks: []plan.HookSpec{spec}}), Hook: spec.Name})
	ae, ev := hookAppError(t, err)
	if ae.Type() != string(runbooks.ReasonHookTimeout) || !strings.Contains(ev.Output, "syncing") {
		t.Fatalf("type %q evidence %+v", ae.Type(), ev)
	}
}

func TestRunHookActivityHeartbeats(t *testing.T) {
	env, a := hookEnv(t)
	a.Hooks.ProgressEvery = 20 * time.Millisecond
	flag := filepath.Join(t.TempDir(), "heartbeat-seen")
	var once sync.Once
	var got HookProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p HookProgress
		if details.HasValues() && details.Get(&p) == nil && p.OutputBytes > 0 {
			once.Do(func() { got = p; os.WriteFile(flag, nil, 0o600) })
		}
	})
	env.SetTestTimeout(time.Minute)
	// The hook runs until a heartbeat with its output has been recorded.
	spec := plan.HookSpec{Name: "wait-for-heartbeat", At: plan.HookPostProvision, Timeout: 30 * time.Second,
		Command: []string{"sh", "-c", `echo waiting; while [ ! -e ` + flag + ` ]; do sleep 0.05; done; echo done`}}
	env.SetWorkerOptions(worker.Options{DefaultHeartbeatThrottleInterval: 10 * time.Millisecond})
	_, err := env.ExecuteActivity(RunHookName, RunHookInput{Plan: testRef(plan.AppSpec{Name: "billing", Hooks: []plan.HookSpec{spec}}), Hook: spec.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hook != "wait-for-heartbeat" || got.LastLine != "waiting" {
		t.Fatalf("heartbeat %+v", got)
	}
}
