package test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// Roles an app plays in the chaos wave, i.e. how it must end.
const (
	roleDone     = "done"     // approved through every gate: Done
	roleRollback = "rollback" // rollback signal at ApproveDecommission: RolledBack, destroyed
	roleSLO      = "slo"      // GCP instances answer 500 after the health check: the SLO gate rolls it back
)

// chaosConfig is the size and shape of a run: `make soak` (FERRY_SOAK=1)
// runs more apps and more kills. FERRY_CHAOS_SEED replays a run.
type chaosConfig struct {
	name              string // in the figures line
	apps, randomKills int
	workers           int           // `ferry worker` processes on the task queue
	restartAfter      time.Duration // the Temporal restart comes between restartAfter and 1.75x that
	minKills          int           // a run with fewer kills was too mild to count
	timeout           time.Duration
	seed              uint64
}

func chaosSettings() chaosConfig {
	c := chaosConfig{name: "chaos", apps: 6, randomKills: 9, workers: 1, restartAfter: 40 * time.Second, minKills: 10,
		timeout: 12 * time.Minute}
	if os.Getenv("FERRY_SOAK") != "" {
		c.apps, c.randomKills, c.minKills, c.timeout = 10, 40, 40, 75*time.Minute
	}
	return c.seeded()
}

// seeded sets the run's seed: FERRY_CHAOS_SEED, else the clock.
func (c chaosConfig) seeded() chaosConfig {
	c.seed = uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("FERRY_CHAOS_SEED"), 10, 64); err == nil {
		c.seed = s
	}
	return c
}

// chaosFigures are what the run survived.
type chaosFigures struct {
	kills, midApply, midCutover, restarts, retries atomic.Int32
	// midReplication: kills of the worker running a replicate app's
	// replication activity (start, status, test clone, cutover job).
	midReplication atomic.Int32
	// The workers killed mid-apply and mid-cutover: two different ones
	// when there are several.
	killedMidApply, killedMidCutover atomic.Pointer[workerProc]
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
	runChaos(t, chaosSettings(), func(t *testing.T) temporalBackend { return devBackend{startDevServer(t)} })
}

// runChaos is the chaos run on any Temporal backend with any number of
// workers: a wave of cfg.apps apps in three roles, kills mid-apply,
// mid-cutover and at random, one Temporal restart, then checkChaos.
func runChaos(t *testing.T, cfg chaosConfig, backend func(*testing.T) temporalBackend) {
	t.Logf("%s seed %d (replay with FERRY_CHAOS_SEED=%d)", cfg.name, cfg.seed, cfg.seed)
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	cs := startChaosStack(ctx, t, backend(t), cfg.workers)
	began := time.Now()
	c := cs.temporal.Client(t)
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
	// rollback, in a first wave of their own, published for the workers.
	digest, dp, err := devtest.PublishPlan(ctx, cs.dir, func(b *hclwrite.Body) {
		devtest.Fast(names...)(b)
		// A few seconds of bake per traffic step: long enough for the
		// mid-cutover kill to find a cutover on an idle machine too.
		for _, app := range b.Blocks() {
			if app.Type() == "app" && slices.Contains(names, app.Labels()[0]) {
				for _, cb := range app.Body().Blocks() {
					if cb.Type() == "cutover" {
						cb.Body().SetAttributeValue("step_bake", cty.StringVal("6s"))
					}
				}
			}
		}
		devtest.Set("rollback", cty.StringVal("destroy"), names...)(b)
		devtest.FirstWave("chaos", 3, names...)(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(filepath.Join(cs.dir, "inventory.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.data.Serve(cs.fake, dp.Specs, inv); err != nil {
		t.Fatal(err)
	}
	var specs []plan.AppSpec
	for i, s := range dp.Specs {
		if !slices.Contains(names, s.Name) {
			continue
		}
		switch i = slices.Index(names, s.Name); {
		case len(apps) >= 3 && i == len(apps)-2:
			role[s.Name] = roleRollback
		case len(apps) >= 2 && i == len(apps)-1:
			role[s.Name] = roleSLO
		default:
			role[s.Name] = roleDone
		}
		specs = append(specs, s)
	}
	t.Logf("wave: %v", role)
	wave := plan.Wave{Name: "chaos", Apps: names, Concurrency: 3}
	if err := retrying(ctx, func() error {
		_, err := as(c, devstack.Operator, devKeys(cs.dir)).StartWave(ctx, wave, digest)
		return err
	}); err != nil {
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
	for _, w := range cs.workers {
		if w.pid() == 0 {
			w.start()
		}
	}
	var ws workflows.WaveStatus
	if err := getRetrying(ctx, c, workflows.WaveWorkflowID(wave.Name), &ws); err != nil {
		t.Errorf("wave %s: %v", wave.Name, err)
	}
	took := time.Since(began)

	checkChaos(ctx, t, cs, c, specs, role, outcomes, drivers)
	starts := 0
	for _, w := range cs.workers {
		starts += w.starts
	}
	t.Logf("%s figures (%s, %d workers): %d worker kills survived (%d mid-terraform-apply, %d mid-cutover, %d mid-replication), %d Temporal restart(s), %d retry signals for parked steps, %d worker starts, %d apps, took %s (seed %d)",
		cfg.name, cs.temporal, len(cs.workers), fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.midReplication.Load(), fig.restarts.Load(),
		fig.retries.Load(), starts, len(specs), took.Round(time.Second), cfg.seed)
	fmt.Printf("%s: backend=%q workers=%d kills=%d mid-apply=%d mid-cutover=%d mid-replication=%d server-restarts=%d retries=%d apps=%d took=%s seed=%d\n",
		cfg.name, cs.temporal.String(), len(cs.workers), fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.midReplication.Load(), fig.restarts.Load(),
		fig.retries.Load(), len(specs), took.Round(time.Second), cfg.seed)
	if a, c := fig.killedMidApply.Load(), fig.killedMidCutover.Load(); len(cs.workers) > 1 && a != nil && a == c {
		t.Errorf("%s: the same worker (%s) was killed mid-apply and mid-cutover; want two different workers", cfg.name, a.name)
	}
	if int(fig.kills.Load()) < cfg.minKills || fig.midApply.Load() < 1 || fig.midCutover.Load() < 1 || fig.restarts.Load() != 1 {
		t.Errorf("%s too mild: %d kills (%d mid-apply, %d mid-cutover), %d Temporal restarts; want ≥%d (≥1, ≥1), 1",
			cfg.name, fig.kills.Load(), fig.midApply.Load(), fig.midCutover.Load(), fig.restarts.Load(), cfg.minKills)
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

// chaos kills workers until the apps are done: once while terraform
// applies (the worker running it), once while an app cuts over (the worker
// running its cutover activity, else another worker than the first kill's),
// and at random moments; it restarts Temporal once while apps are in
// flight. A killed worker comes back after a moment, as under a
// supervisor.
func chaos(ctx context.Context, t *testing.T, cs *chaosStack, c client.Client, apps []string, rng *rand.Rand, cfg chaosConfig,
	fig *chaosFigures, allDone <-chan struct{}, began time.Time) {
	jitter := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	nextRandom := time.Now().Add(jitter(5*time.Second, 12*time.Second))
	restartAt := time.Now().Add(jitter(cfg.restartAfter, cfg.restartAfter*7/4))
	random := 0
	lastStageCheck, lastParkCheck, lastReplCheck := time.Time{}, time.Time{}, time.Time{}
	kill := func(w *workerProc, where string) {
		w.kill()
		fig.kills.Add(1)
		t.Logf("%s: %s killed (%s) at +%s", cfg.name, w.name, where, time.Since(began).Round(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(jitter(200*time.Millisecond, 2*time.Second)):
		}
		w.start()
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
			healParks(ctx, t, cfg.name, c, devKeys(cs.dir), apps, fig)
		}
		switch {
		case fig.restarts.Load() == 0 && now.After(restartAt):
			t.Logf("%s: restarting the %s at +%s", cfg.name, cs.temporal, time.Since(began).Round(time.Second))
			t0 := time.Now()
			if err := cs.temporal.Restart(); err != nil {
				t.Errorf("%s: %v", cfg.name, err)
				return
			}
			fig.restarts.Add(1)
			t.Logf("%s: the %s serves again after %s", cfg.name, cs.temporal, time.Since(t0).Round(100*time.Millisecond))
		case fig.midApply.Load() == 0 && applyingWorker(cs) != nil:
			time.Sleep(jitter(100*time.Millisecond, 800*time.Millisecond))
			if w := applyingWorker(cs); w != nil {
				fig.midApply.Add(1)
				fig.killedMidApply.Store(w)
				kill(w, "mid-terraform-apply")
			}
		case fig.midReplication.Load() == 0 && now.Sub(lastReplCheck) > time.Second:
			lastReplCheck = now
			if app, act, w := replicating(ctx, c, cs, apps); w != nil {
				fig.midReplication.Add(1)
				kill(w, "mid-replication of "+app+" ("+act+")")
			}
		case fig.midCutover.Load() == 0 && now.Sub(lastStageCheck) > time.Second:
			lastStageCheck = now
			if app, w := cuttingOver(ctx, c, cs, apps, fig.killedMidApply.Load()); w != nil {
				fig.midCutover.Add(1)
				fig.killedMidCutover.Store(w)
				kill(w, "mid-cutover of "+app)
			}
		case random < cfg.randomKills && now.After(nextRandom):
			random++
			kill(cs.workers[rng.IntN(len(cs.workers))], "random")
			nextRandom = time.Now().Add(jitter(4*time.Second, 12*time.Second))
		}
	}
}

// applyingWorker is a worker running `terraform apply`, or nil.
func applyingWorker(cs *chaosStack) *workerProc {
	for _, w := range cs.workers {
		if w.pid() != 0 && terraformApplying(w.stateDir) {
			return w
		}
	}
	return nil
}

// cuttingOver finds an app in the Cutover stage and the worker to kill:
// the one running a cutting-over app's pending activity (its identity
// names its pid), else, when an app is between activities, any running
// worker; never avoid when there are several (the mid-cutover kill goes to
// another worker than the mid-apply one), and nil when there is nothing to
// kill yet. Every app in the stage is looked at: the first one's activity
// may run on the avoided worker for its whole cutover while another's runs
// elsewhere (CI once saw four cutovers pass without a kill that way).
func cuttingOver(ctx context.Context, c client.Client, cs *chaosStack, apps []string, avoid *workerProc) (string, *workerProc) {
	if len(cs.workers) == 1 {
		avoid = nil
	}
	between := ""
	for _, app := range inStage(ctx, c, apps, workflows.StageCutover) {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		desc, err := c.DescribeWorkflowExecution(qctx, workflows.AppWorkflowID(app), "")
		cancel()
		if err != nil {
			continue
		}
		onAvoided := false
		for _, pa := range desc.PendingActivities {
			for _, w := range cs.workers {
				if pid := w.pid(); pid != 0 && strings.HasSuffix(pa.LastWorkerIdentity, fmt.Sprintf(":%d", pid)) {
					if w == avoid {
						onAvoided = true // runs on the worker already killed: look for another
						continue
					}
					return app, w
				}
			}
		}
		if !onAvoided && between == "" {
			between = app
		}
	}
	if between == "" {
		return "", nil
	}
	for _, w := range cs.workers {
		if w != avoid && w.pid() != 0 {
			return between, w
		}
	}
	return "", nil
}

// replicationActivities are the activities of the replicate strategy that
// create or drive MigratingVms and their jobs.
var replicationActivities = []string{activities.StartReplicationName, activities.ReplicationStatusName,
	activities.TestCloneName, activities.CutoverReplicationName}

// replicating finds an app running a replication activity and the worker
// that runs it (its identity names its pid), or nothing.
func replicating(ctx context.Context, c client.Client, cs *chaosStack, apps []string) (app, act string, w *workerProc) {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, a := range apps {
		desc, err := c.DescribeWorkflowExecution(qctx, workflows.AppWorkflowID(a), "")
		if err != nil {
			continue
		}
		for _, pa := range desc.PendingActivities {
			if !slices.Contains(replicationActivities, pa.GetActivityType().GetName()) {
				continue
			}
			for _, w := range cs.workers {
				if pid := w.pid(); pid != 0 && strings.HasSuffix(pa.LastWorkerIdentity, fmt.Sprintf(":%d", pid)) {
					return a, pa.GetActivityType().GetName(), w
				}
			}
		}
	}
	return "", "", nil
}

// healParks does what the on-call would: an app parked on a failed step
// (its retries spent on attempts the kills cut short) gets a retry
// signal. Each one is logged with its reason and counted.
func healParks(ctx context.Context, t *testing.T, run string, c client.Client, k keys, apps []string, fig *chaosFigures) {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, a := range apps {
		st, err := (&driver{c: c}).status(qctx, a)
		if err != nil || st.Waiting == nil || st.Waiting.Gate != "retry" || st.LastError == nil {
			continue
		}
		t.Logf("%s: %s parked at %s (%s: %s); sending retry", run, a, st.LastError.Stage, st.LastError.Reason, st.LastError.Message)
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
func inStage(ctx context.Context, c client.Client, apps []string, stage string) []string {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var in []string
	for _, a := range apps {
		d := &driver{c: c}
		if st, err := d.status(qctx, a); err == nil && st.Stage == stage {
			in = append(in, a)
		}
	}
	return in
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
