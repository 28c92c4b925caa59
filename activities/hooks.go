package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/hooks"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// HookProgress is a running hook's heartbeat detail.
type HookProgress struct {
	Hook        string        `json:"hook"`
	Elapsed     time.Duration `json:"elapsed"`
	OutputBytes int64         `json:"outputBytes"`
	LastLine    string        `json:"lastLine,omitempty"` // redacted
}

// RunHook runs one hook of the app's plan and returns its evidence. A
// failure is a non-retryable ApplicationError of type hook-failed or
// hook-timeout whose details hold the HookEvidence (output truncated and
// redacted), so the workflow parks with it and a person decides.
func (a *Activities) RunHook(ctx context.Context, in RunHookInput) (RunHookResult, error) {
	log := activity.GetLogger(ctx)
	info := activity.GetInfo(ctx)
	spec, err := a.spec(ctx, in.Plan)
	if err != nil {
		return RunHookResult{}, err
	}
	// The command comes from the reviewed plan, found by the hook's name.
	i := slices.IndexFunc(spec.Hooks, func(h plan.HookSpec) bool { return h.Name == in.Hook })
	if i < 0 {
		return RunHookResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s: the reviewed plan %s has no hook %q", in.Plan.App, in.Plan.Digest, in.Hook),
			string(runbooks.ReasonPlanDigestUnknown), nil)
	}
	hook := spec.Hooks[i]
	name := hook.Name
	every := 5 * time.Second
	if hb := info.HeartbeatTimeout; hb > 0 && hb/3 < every {
		every = max(hb/3, 100*time.Millisecond)
	}
	if a.Hooks.ProgressEvery > 0 {
		every = a.Hooks.ProgressEvery
	}
	opts := hooks.RunOptions{
		Config: a.Hooks,
		Env: map[string]string{
			"FERRY_APP":     in.Plan.App,
			"FERRY_HOOK":    name,
			"FERRY_HOOK_AT": hook.At,
			"FERRY_ATTEMPT": strconv.Itoa(int(info.Attempt)),
		},
		ProgressEvery: every,
		Progress: func(p hooks.Progress) {
			activity.RecordHeartbeat(ctx, HookProgress{Hook: name, Elapsed: p.Elapsed, OutputBytes: p.OutputBytes, LastLine: p.LastLine})
		},
	}
	log.Info("running hook", "app", in.Plan.App, "hook", name, "at", hook.At, "timeout", hook.Timeout)
	res, err := hooks.Run(ctx, hook, opts)
	ev := HookEvidence{
		Name: name, At: hook.At, ExitCode: res.ExitCode, Duration: res.Duration,
		Output: res.Output, Truncated: res.Truncated,
	}
	if err == nil {
		log.Info("hook succeeded", "app", in.Plan.App, "hook", name, "duration", res.Duration)
		return RunHookResult{Evidence: ev}, nil
	}
	var he *hooks.Error
	if !errors.As(err, &he) {
		return RunHookResult{Evidence: ev}, temporal.NewNonRetryableApplicationError(err.Error(), string(runbooks.ReasonHookFailed), nil, ev)
	}
	log.Warn("hook did not succeed", "app", in.Plan.App, "hook", name, "kind", he.Kind, "exitCode", he.ExitCode)
	msg := "app " + in.Plan.App + ": " + he.Error() + " (runbook: " + runbooks.Link(runbooks.ReasonHookFailed) + ")"
	switch he.Kind {
	case hooks.KindCanceled:
		return RunHookResult{Evidence: ev}, ctx.Err()
	case hooks.KindTimeout:
		msg = "app " + in.Plan.App + ": " + he.Error() + " (runbook: " + runbooks.Link(runbooks.ReasonHookTimeout) + ")"
		return RunHookResult{Evidence: ev}, temporal.NewNonRetryableApplicationError(msg, string(runbooks.ReasonHookTimeout), nil, ev)
	}
	return RunHookResult{Evidence: ev}, temporal.NewNonRetryableApplicationError(msg, string(runbooks.ReasonHookFailed), nil, ev)
}
