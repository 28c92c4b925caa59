package test

import (
	"context"
	"errors"
	"fmt"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// Roles an app plays in the chaos wave, i.e. how it must end.
const (
	roleDone     = "done"     // approved through every gate: Done
	roleRollback = "rollback" // rollback signal at ApproveDecommission: RolledBack, destroyed
	roleSLO      = "slo"      // GCP instances answer 500 after the health check: the SLO gate rolls it back
)

// chaosConfig is the size of a run: `make soak` (FERRY_SOAK=1) runs more
// apps and more kills. FERRY_CHAOS_SEED replays a run.
type chaosConfig struct {
	apps, randomKills int
	timeout           time.Duration
	seed              uint64
}

func chaosSettings() chaosConfig {
	c := chaosConfig{apps: 6, randomKills: 9, timeout: 12 * time.Minute, seed: uint64(time.Now().UnixNano())}
	if os.Getenv("FERRY_SOAK") != "" {
		c = chaosConfig{apps: 10, randomKills: 40, timeout: 75 * time.Minute, seed: c.seed}
	}
	if s, err := strconv.ParseUint(os.Getenv("FERRY_CHAOS_SEED"), 10, 64); err == nil {
		c.seed = s
	}
	return c
}

// chaosFigures are what the run survived.
type chaosFigures struct {
	kills, midApply, midCutover, restarts, retries atomic.Int32
}

// TestChaos runs a wave of apps on the dev server with the real worker (a
// process), vcsim, gcpfake and real terraform, SIGKILLs the worker at
// random moments (mid-apply and mid-cutover among them), restarts the dev
// server once on its db file, and checks that nothing was lost and nothing
// was done twice.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: end-to-end")
	}
	cfg := chaosSettings()
	t.Logf("chaos seed %d (replay with FERRY_CHAOS_SEED=%d)", cfg.seed, cfg.seed)
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	cs := startChaosStack(ctx, t)
	c := cs.dev.Client(t)
	apps := chaosApps(cs.plan.Specs, cfg.apps)
	if len(apps) < cfg.apps {
		t.Fatalf("the sample portfolio has %d lb apps, the chaos wave needs %d", len(apps), cfg.apps)
	}
	role := map[string]string{}
	var names []string
	for _, s := range apps {
		names = append(names, s.Name)
	}
	// The reviewed plan of the chaos run: its apps fast, destroyed on
	// rollback, in a first wave of their own, published for the worker.
	digest, dp, err := devtest.PublishPlan(ctx, cs.dir, func(b *hclwrite.Body) {
		devtest.Fast(names...)(b)
		devtest.Set("rollback", cty.StringVal("destroy"), names...)(b)
		devtest.FirstWave("chaos", 3, names...)(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	var specs []plan.AppSpec
	for i, s := range dp.Specs {
		if !slices.Contains(names, s.Name) {
			continue
		}
		switch i = slices.Index(names, s.Name); i {
		case len(apps) - 2:
			role[s.Name] = roleRollback
		case len(apps) - 1:
			role[s.Name] = roleSLO
		default:
			role[s.Name] = roleDone
		}
		specs = append(specs, s)
	}
	t.Logf("wave: %v", role)
	wave := plan.Wave{Name: "chaos", Apps: names, Concurrency: 3}
	if _, err := as(c, devstack.Operator, devKeys(cs.dir)).StartWave(ctx, wave, digest); err != nil {
		t.Fatal(err)
	}

	// One driver per app, approving as its approvers would.
	drivers := map[string]*driver{}
	outcomes := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range specs {
		d := &driver{c: c, keys: devKeys(cs.dir)}
		drivers[s.Name] = d
		wg.Go(func() {
			out, err := driveChaos(ctx, t, cs, d, s, role[s.Name])
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
			mu.Lock()
			outcomes[s.Name] = out
			mu.Unlock()
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	var fig chaosFigures
	killer := make(chan struct{})
	go func() { defer close(killer); chaos(ctx, t, cs, c, names, rng, cfg, &fig, allDone, began) }()
	<-allDone
	<-killer
	if cs.w.pid() == 0 {
		cs.w.start()
	}
	var ws workflows.WaveStatus
	if err := getRetrying(ctx, c, workflows.WaveWorkflowID(wave.Name), &ws); err != nil {
		t.Errorf("wave %s: %v", wave.Name, err)
	}
	took := time.Since(began)

	checkChaos(ctx, t, cs, c, specs, role, outcomes, drivers)
	t.Logf("chaos figures: %d worker kills survived (%d mid-terraform-apply, %d mid-cutover), %d dev server restart(s), %d retry signals for parked steps, %d worker starts, %d apps, took %s (seed %d)",
		fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.restarts.Load(), fig.retries.Load(), cs.w.starts, len(specs), took.Round(time.Second), cfg.seed)
	fmt.Printf("chaos: kills=%d mid-apply=%d mid-cutover=%d dev-server-restarts=%d retries=%d apps=%d took=%s seed=%d\n",
		fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.restarts.Load(), fig.retries.Load(), len(specs), took.Round(time.Second), cfg.seed)
	if fig.kills.Load() < 10 || fig.midApply.Load() < 1 || fig.midCutover.Load() < 1 || fig.restarts.Load() != 1 {
		t.Errorf("chaos too mild: %d kills (%d mid-apply, %d mid-cutover), %d dev server restarts; want ≥10 (≥1, ≥1), 1",
			fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.restarts.Load())
	}
}

// driveChaos takes one app to its end as its role says and returns the
// workflow's outcome.
func driveChaos(ctx context.Context, t *testing.T, cs *chaosStack, d *driver, s plan.AppSpec, role string) (string, error) {
	switch role {
	case roleRollback:
		if err := runUntil(ctx, d, s.Name, workflows.StageApproveDecommission); err != nil {
			return "", err
		}
		if err := retrying(ctx, func() error {
			_, err := rollbackAs(ctx, d.c, s.Name, s.Approvers["cutover"][0], d.keys, "chaos: rollback after cutover")
			return err
		}); err != nil {
			return "", err
		}
	case roleSLO:
		if err := runUntil(ctx, d, s.Name, workflows.StageApproveCutover); err != nil {
			return "", err
		}
		// Healthy until now; from here on its GCP side answers 500.
		n := 0
		for _, r := range cs.fake.Resources(project(cs, s), "instances") {
			if labels(r)["app"] == s.Name {
				cs.fake.SetAppFault(project(cs, s), r.Name, gcpfake.AppFault{Status: 500})
				n++
			}
		}
		if n != len(s.VMs) {
			return "", fmt.Errorf("%d instances labelled app=%s at ApproveCutover, want %d", n, s.Name, len(s.VMs))
		}
	}
	var out string
	err := retrying(ctx, func() (err error) { out, err = d.run(ctx, s.Name, ""); return err })
	return out, err
}

// finalErr is an error retrying does not retry.
type finalErr struct{ error }

func runUntil(ctx context.Context, d *driver, app, stage string) error {
	return retrying(ctx, func() error {
		got, err := d.run(ctx, app, stage)
		if err == nil && got != stage {
			return finalErr{fmt.Errorf("%s ended %s before reaching %s", app, got, stage)}
		}
		return err
	})
}

// retrying retries f while the dev server or worker is away (errors other
// than ctx's own), until ctx ends.
func retrying(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		var fe finalErr
		if errors.As(err, &fe) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

func getRetrying(ctx context.Context, c client.Client, id string, out any) error {
	return retrying(ctx, func() error { return c.GetWorkflow(ctx, id, "").Get(ctx, out) })
}

// chaos kills the worker until the apps are done: once while terraform
// applies, once while an app cuts over, and at random moments; it
// restarts the dev server once while apps are in flight.
func chaos(ctx context.Context, t *testing.T, cs *chaosStack, c client.Client, apps []string, rng *rand.Rand, cfg chaosConfig,
	fig *chaosFigures, allDone <-chan struct{}, began time.Time) {
	jitter := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	nextRandom := time.Now().Add(jitter(5*time.Second, 12*time.Second))
	restartAt := time.Now().Add(jitter(40*time.Second, 70*time.Second))
	random := 0
	lastStageCheck, lastParkCheck := time.Time{}, time.Time{}
	kill := func(where string) {
		cs.w.kill()
		fig.kills.Add(1)
		t.Logf("chaos: worker killed (%s) at +%s", where, time.Since(began).Round(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(jitter(200*time.Millisecond, 2*time.Second)):
		}
		cs.w.start()
	}
	for {
		select {
		case <-allDone:
			return
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		now := time.Now()
		if now.Sub(lastParkCheck) > 3*time.Second {
			lastParkCheck = now
			healParks(ctx, t, c, devKeys(cs.dir), apps, fig)
		}
		switch {
		case fig.restarts.Load() == 0 && now.After(restartAt):
			t.Logf("chaos: restarting the dev server")
			cs.dev.Restart()
			fig.restarts.Add(1)
		case fig.midApply.Load() == 0 && terraformApplying(cs.w.stateDir):
			time.Sleep(jitter(100*time.Millisecond, 800*time.Millisecond))
			if terraformApplying(cs.w.stateDir) {
				fig.midApply.Add(1)
				kill("mid-terraform-apply")
			}
		case fig.midCutover.Load() == 0 && now.Sub(lastStageCheck) > time.Second:
			lastStageCheck = now
			if app := inStage(ctx, c, apps, workflows.StageCutover); app != "" {
				fig.midCutover.Add(1)
				kill("mid-cutover of " + app)
			}
		case random < cfg.randomKills && now.After(nextRandom):
			random++
			kill("random")
			nextRandom = time.Now().Add(jitter(4*time.Second, 12*time.Second))
		}
	}
}

// healParks does what the on-call would: an app parked on a failed step
// (its retries spent on attempts the kills cut short) gets a retry
// signal. Each one is logged with its reason and counted.
func healParks(ctx context.Context, t *testing.T, c client.Client, k keys, apps []string, fig *chaosFigures) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, a := range apps {
		st, err := (&driver{c: c}).status(qctx, a)
		if err != nil || st.Waiting == nil || st.Waiting.Gate != "retry" || st.LastError == nil {
			continue
		}
		t.Logf("chaos: %s parked at %s (%s: %s); sending retry", a, st.LastError.Stage, st.LastError.Reason, st.LastError.Message)
		retry, err := as(c, devstack.Operator, k).Action(qctx, a, "retry", "chaos: worker was killed")
		if err == nil {
			err = c.SignalWorkflow(qctx, workflows.AppWorkflowID(a), "", workflows.SignalRetry, retry)
		}
		if err == nil {
			fig.retries.Add(1)
		}
	}
}

// inStage returns an app whose status query says stage, or "".
func inStage(ctx context.Context, c client.Client, apps []string, stage string) string {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, a := range apps {
		d := &driver{c: c}
		if st, err := d.status(qctx, a); err == nil && st.Stage == stage {
			return a
		}
	}
	return ""
}

func project(cs *chaosStack, s plan.AppSpec) string {
	if s.Project != "" {
		return s.Project
	}
	return cs.plan.Plan.GCP.Project
}

func labels(r gcpfake.Resource) map[string]string {
	out := map[string]string{}
	if m, ok := r.Body["labels"].(map[string]any); ok {
		for k, v := range m {
			out[k], _ = v.(string)
		}
	}
	return out
}
