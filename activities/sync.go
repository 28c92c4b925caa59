package activities

// The sync data strategy (data = "sync"): the app's own tools keep a copy
// in sync; ferry starts them, measures their lag for the cutover gate,
// runs the final catch-up inside the cutover and, on a rollback after
// writes moved, the reverse sync. Every command comes from the reviewed
// plan's sync block, never from a workflow input.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// Sync steps: the commands of the plan's sync block.
const (
	SyncStart   = "start"    // start_command: after the plan gate
	SyncCatchUp = "catch_up" // catch_up_command: inside the cutover, before the first traffic shift
	SyncReverse = "reverse"  // reverse_command: rollback after writes moved to GCP
)

// SyncCommandInput runs one command of the app's sync block.
type SyncCommandInput struct {
	Plan PlanRef `json:"plan"`
	Step string  `json:"step"` // start, catch_up, reverse
}

// SyncCommandResult is the command's evidence; Ran is false when the plan
// declares no command for the step (nothing to do).
type SyncCommandResult struct {
	Ran      bool         `json:"ran"`
	Evidence HookEvidence `json:"evidence"`
}

// SyncLagInput asks for the app's current replication lag.
type SyncLagInput struct {
	Plan PlanRef `json:"plan"`
}

// SyncLagResult is one lag measurement: evidence of the cutover gate (the
// workflow keeps the series: lag over time).
type SyncLagResult struct {
	At     time.Time     `json:"at"`
	Lag    time.Duration `json:"lag"`
	MaxLag time.Duration `json:"maxLag"`
	// Pass: the lag is at most max_lag, the cutover may go on. Above it
	// the workflow waits (sync-lag-above-max) and measures again after
	// Every.
	Pass     bool          `json:"pass"`
	Every    time.Duration `json:"every"`
	Evidence HookEvidence  `json:"evidence"`
}

func syncSpec(spec plan.AppSpec) (*plan.SyncSpec, error) {
	if spec.Data.Strategy != plan.DataSync || spec.Data.Sync == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s has no sync block (data = %q in the reviewed plan)", spec.Name, spec.Data.Strategy), string(runbooks.ReasonPlanInvalid), nil)
	}
	return spec.Data.Sync, nil
}

// RunSyncCommand runs the app's start, catch_up or reverse command. A
// failure is a non-retryable hook-failed (or hook-timeout) with the
// evidence, as for hooks: a person decides.
func (a *Activities) RunSyncCommand(ctx context.Context, in SyncCommandInput) (SyncCommandResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SyncCommandResult{}, err
	}
	sc, err := syncSpec(spec)
	if err != nil {
		return SyncCommandResult{}, err
	}
	cmd := map[string][]string{SyncStart: sc.Start, SyncCatchUp: sc.CatchUp, SyncReverse: sc.Reverse}
	c, ok := cmd[in.Step]
	if !ok {
		return SyncCommandResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("sync step %q: use start, catch_up or reverse", in.Step), string(runbooks.ReasonPlanInvalid), nil)
	}
	if len(c) == 0 {
		return SyncCommandResult{}, nil
	}
	ev, err := a.runSync(ctx, in.Plan.App, sc, "sync-"+in.Step, c)
	return SyncCommandResult{Ran: true, Evidence: ev}, err
}

// ProbeSyncLag runs the plan's lag_command and reads the lag (seconds, the
// first number it prints). Output that holds no number fails without retry
// as hook-failed.
func (a *Activities) ProbeSyncLag(ctx context.Context, in SyncLagInput) (SyncLagResult, error) {
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return SyncLagResult{}, err
	}
	sc, err := syncSpec(spec)
	if err != nil {
		return SyncLagResult{}, err
	}
	res := SyncLagResult{At: time.Now().UTC(), MaxLag: sc.MaxLag, Every: sc.Every}
	res.Evidence, err = a.runSync(ctx, in.Plan.App, sc, "sync-lag", sc.Lag)
	if err != nil {
		return res, err
	}
	secs, perr := firstNumber(res.Evidence.Output)
	if perr != nil {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s: lag_command printed no lag in seconds (%v); output: %q (runbook: %s)", in.Plan.App, perr, res.Evidence.Output, runbooks.Link(runbooks.ReasonHookFailed)),
			string(runbooks.ReasonHookFailed), nil, res.Evidence)
	}
	res.Lag = time.Duration(secs * float64(time.Second))
	res.Pass = res.Lag <= sc.MaxLag
	activity.GetLogger(ctx).Info("sync lag", "app", in.Plan.App, "lag", res.Lag, "max", sc.MaxLag, "pass", res.Pass)
	return res, nil
}

func firstNumber(out string) (float64, error) {
	for _, f := range strings.Fields(out) {
		if v, err := strconv.ParseFloat(strings.TrimSuffix(f, "s"), 64); err == nil {
			if v < 0 {
				return 0, fmt.Errorf("negative lag %v", v)
			}
			return v, nil
		}
	}
	return 0, errors.New("no number in the output")
}

func (a *Activities) runSync(ctx context.Context, app string, sc *plan.SyncSpec, name string, cmd []string) (HookEvidence, error) {
	hook := plan.HookSpec{Name: name, At: "sync", Command: cmd, Timeout: sc.Timeout, Env: sc.Env, Dir: sc.Dir}
	res, err := hooks.Run(ctx, hook, hooks.RunOptions{Config: a.Hooks, Env: map[string]string{"FERRY_APP": app, "FERRY_HOOK": name, "FERRY_HOOK_AT": "sync"},
		ProgressEvery: 5 * time.Second, Progress: func(p hooks.Progress) {
			activity.RecordHeartbeat(ctx, HookProgress{Hook: name, Elapsed: p.Elapsed, OutputBytes: p.OutputBytes, LastLine: p.LastLine})
		}})
	ev := HookEvidence{Name: name, At: "sync", ExitCode: res.ExitCode, Duration: res.Duration, Output: res.Output, Truncated: res.Truncated}
	if err == nil {
		return ev, nil
	}
	var he *hooks.Error
	if errors.As(err, &he) {
		switch he.Kind {
		case hooks.KindCanceled:
			return ev, ctx.Err()
		case hooks.KindTimeout:
			return ev, temporal.NewNonRetryableApplicationError(fmt.Sprintf("app %s: %s (runbook: %s)", app, he.Error(), runbooks.Link(runbooks.ReasonHookTimeout)),
				string(runbooks.ReasonHookTimeout), nil, ev)
		}
	}
	return ev, temporal.NewNonRetryableApplicationError(fmt.Sprintf("app %s: %v (runbook: %s)", app, err, runbooks.Link(runbooks.ReasonHookFailed)),
		string(runbooks.ReasonHookFailed), nil, ev)
}

// Names of the sync activities (the methods), for test doubles registered
// by name.
const (
	RunSyncCommandName = "RunSyncCommand"
	ProbeSyncLagName   = "ProbeSyncLag"
)
