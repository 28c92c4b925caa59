package activities

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// The lag gate: the lag command reads a file the test writes, as a
// database's replica status would move.
func TestSyncLagGate(t *testing.T) {
	env, _ := hookEnv(t)
	dir := t.TempDir()
	lagFile := filepath.Join(dir, "lag")
	spec := plan.AppSpec{Name: "ledger", Data: plan.DataSpec{Strategy: plan.DataSync, Sync: &plan.SyncSpec{
		Lag:     []string{"sh", "-c", `cat "$LAG_FILE"`},
		Start:   []string{"sh", "-c", `echo started >> "$LOG"`},
		Reverse: []string{"sh", "-c", `echo reversed >> "$LOG"`},
		MaxLag:  30 * time.Second, Every: time.Minute, Timeout: 10 * time.Second,
		Env: map[string]string{"LAG_FILE": lagFile, "LOG": filepath.Join(dir, "log")}}}}
	ref := testRef(spec)
	probe := func(lag string) (SyncLagResult, error) {
		t.Helper()
		if err := os.WriteFile(lagFile, []byte(lag), 0o600); err != nil {
			t.Fatal(err)
		}
		var res SyncLagResult
		val, err := env.ExecuteActivity(ProbeSyncLagName, SyncLagInput{Plan: ref})
		if err == nil {
			err = val.Get(&res)
		}
		return res, err
	}
	res, err := probe("95.5\n")
	if err != nil || res.Pass || res.Lag != 95500*time.Millisecond || res.MaxLag != 30*time.Second || res.Every != time.Minute {
		t.Fatalf("lag above max: %+v %v", res, err)
	}
	res, err = probe("seconds_behind_master: 4\n")
	if err != nil || !res.Pass || res.Lag != 4*time.Second {
		t.Fatalf("lag below max: %+v %v", res, err)
	}
	if _, err = probe("replica not running\n"); reasonOf(err) != string(runbooks.ReasonHookFailed) {
		t.Fatalf("no number: %v", err)
	}

	for step, ran := range map[string]bool{SyncStart: true, SyncCatchUp: false, SyncReverse: true} {
		val, err := env.ExecuteActivity(RunSyncCommandName, SyncCommandInput{Plan: ref, Step: step})
		var res SyncCommandResult
		if err == nil {
			err = val.Get(&res)
		}
		if err != nil || res.Ran != ran {
			t.Fatalf("step %s: %+v %v", step, res, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log")); string(b) != "started\nreversed\n" && string(b) != "reversed\nstarted\n" {
		t.Fatalf("commands ran: %q", b)
	}
	if _, err := env.ExecuteActivity(RunSyncCommandName, SyncCommandInput{Plan: ref, Step: "rm -rf"}); reasonOf(err) != string(runbooks.ReasonPlanInvalid) {
		t.Fatalf("unknown step: %v", err)
	}
}
