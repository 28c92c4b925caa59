package terraform

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/plan"
)

const stateBucket = "ferry-state"

// fakeEnv starts gcpfake with a state bucket and returns a runner config
// using the real terraform and google provider.
func fakeEnv(t *testing.T) (*gcpfake.Server, Config, gcp.Config) {
	t.Helper()
	bin, rc := testenv.Terraform(t)
	s := gcpfake.StartT(t, gcpfake.Options{OperationPolls: 1})
	s.CreateBucket(stateBucket)
	g := gcp.Config{Project: "acme-migration", Region: "europe-west1",
		ComputeEndpoint: s.ComputeEndpoint(), DNSEndpoint: s.DNSEndpoint(), StorageEndpoint: s.StorageEndpoint()}
	return s, Config{Binary: bin, CLIConfigFile: rc, WorkRoot: t.TempDir()}, g
}

func specFor(t *testing.T, app string) plan.AppSpec {
	t.Helper()
	for _, s := range exampleSpecs(t) {
		if s.Name == app {
			s.Backend = plan.Backend{Type: "gcs", Bucket: stateBucket, Prefix: "ferry"}
			return s
		}
	}
	t.Fatalf("no app %s", app)
	return plan.AppSpec{}
}

// plannedRunner is a runner of spec with its first plan made.
func plannedRunner(t *testing.T, cfg Config, g gcp.Config, spec plan.AppSpec) (*Runner, PlanSummary) {
	t.Helper()
	r, err := NewRunner(cfg, g, spec)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := r.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, sum
}

// elsewhere is cfg with a working directory of its own: another worker.
func elsewhere(t *testing.T, cfg Config) Config {
	cfg.WorkRoot = t.TempDir()
	return cfg
}

var kinds = []string{"instances", "disks", "firewalls", "instanceGroups", "healthChecks", "backendServices",
	"urlMaps", "targetHttpProxies", "forwardingRules", "networkEndpointGroups"}

func countResources(s *gcpfake.Server, project string) map[string]int {
	out := map[string]int{}
	for _, k := range kinds {
		if n := len(s.Resources(project, k)); n > 0 {
			out[k] = n
		}
	}
	return out
}

func TestRunnerLifecycle(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	spec := specFor(t, "billing-api")
	r, sum := plannedRunner(t, cfg, g, spec)
	if sum.Add < 3 || sum.Change != 0 || sum.Destroy != 0 || len(sum.MachineTypes) != 3 || sum.MonthlyUSDDelta <= 0 {
		t.Fatalf("first plan: %+v", sum)
	}
	// The same inputs plan to the same hash: apply may run on another worker.
	r2, _ := NewRunner(elsewhere(t, cfg), g, spec)
	if again, _, err := r2.Plan(ctx); err != nil || again.Hash != sum.Hash {
		t.Fatalf("re-plan elsewhere: hash %s vs %s (%v)", again.Hash, sum.Hash, err)
	}

	var mu sync.Mutex
	var events []Progress
	r2.Progress = func(p Progress) { mu.Lock(); events = append(events, p); mu.Unlock() }
	res, err := r2.Apply(ctx, sum.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || len(res.InstanceIP) != 3 || res.Outputs["url_map"] != "billing-api-lb" {
		t.Fatalf("apply result: %+v", res)
	}
	if len(events) == 0 {
		t.Error("apply reported no progress")
	}
	if got := countResources(fake, spec.Project); got["instances"] != 3 || got["disks"] < 5 || got["urlMaps"] != 1 || got["networkEndpointGroups"] != 1 {
		t.Fatalf("resources after apply: %v", got)
	}

	// A second plan shows nothing to do, and applying again changes nothing.
	if s2, _, err := r.Plan(ctx); err != nil || s2.HasChanges() {
		t.Fatalf("second plan: %+v %v", s2, err)
	}
	if res, err := r.Apply(ctx, sum.Hash); err != nil || res.Changed {
		t.Fatalf("re-apply: %+v %v", res, err)
	}

	// A changed plan is refused with the old approval.
	changed := spec
	changed.VMs = append([]plan.VMSpec{}, spec.VMs...)
	changed.VMs[0].MachineType = "n2-standard-8"
	rc, _ := NewRunner(cfg, g, changed)
	_, err = rc.Apply(ctx, sum.Hash)
	var drift *PlanDriftError
	if !errors.As(err, &drift) || drift.Summary.Change != 1 {
		t.Fatalf("want PlanDriftError with one change, got %v", err)
	}

	n, err := r.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != sum.Add {
		t.Errorf("destroyed %d, created %d", n, sum.Add)
	}
	if got := countResources(fake, spec.Project); got["instances"]+got["firewalls"]+got["urlMaps"]+got["disks"] > 0 {
		t.Fatalf("left behind after destroy: %v", got)
	}
}

func TestRunnerConcurrentApps(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	ctx := context.Background()
	apps := []string{"ledger", "reports"}
	var wg sync.WaitGroup
	errs := make([]error, len(apps))
	for i, app := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := NewRunner(cfg, g, specFor(t, app))
			if err == nil {
				var sum PlanSummary
				if sum, _, err = r.Plan(ctx); err == nil {
					_, err = r.Apply(ctx, sum.Hash)
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", apps[i], err)
		}
	}
	got := countResources(fake, "acme-migration")
	if got["instances"] != 2 || got["backendServices"] != 3 { // ledger: gcp+dc, reports (dns): gcp
		t.Fatalf("resources: %v", got)
	}
}

// An apply cancelled mid-way (terraform is interrupted and saves what it
// made) converges when run again: no duplicates, then no changes.
func TestRunnerInterruptedApplyConverges(t *testing.T) {
	fake, cfg, g := fakeEnv(t)
	spec := specFor(t, "billing-api")
	r, sum := plannedRunner(t, cfg, g, spec)
	ctx, cancel := context.WithCancel(context.Background())
	r.Progress = func(p Progress) {
		if p.Phase == "complete" && p.Done >= 2 {
			cancel()
		}
	}
	_, err := r.Apply(ctx, sum.Hash)
	cancel()
	if err == nil {
		t.Fatal("the cancelled apply reported success")
	}
	partial := countResources(fake, spec.Project)
	t.Logf("after interruption: %v (%v)", partial, err)

	r.Progress = nil
	res, err := r.Apply(context.Background(), sum.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Errorf("the second apply did not report resuming an interrupted one: %+v", res)
	}
	if got := countResources(fake, spec.Project); got["instances"] != 3 || got["urlMaps"] != 1 {
		t.Fatalf("after resume: %v", got)
	}
	if s, _, err := r.Plan(context.Background()); err != nil || s.HasChanges() {
		t.Fatalf("plan after resume: %+v %v", s, err)
	}
}

// While one run applies, another run of the same app (another worker)
// fails on the state lock and names who holds it.
func TestRunnerStateLock(t *testing.T) {
	_, cfg, g := fakeEnv(t)
	spec := specFor(t, "ledger")
	a, _ := NewRunner(cfg, g, spec)
	sum, _, err := a.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var once sync.Once
	a.Progress = func(p Progress) {
		if p.Phase == "start" {
			once.Do(func() { close(started) })
		}
	}
	done := make(chan error, 1)
	go func() { _, err := a.Apply(context.Background(), sum.Hash); done <- err }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("apply ended before the lock test: %v", err)
	}
	b, _ := NewRunner(elsewhere(t, cfg), g, spec)
	b.LockTimeout = time.Second
	_, _, err = b.Plan(context.Background())
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Who == "" || locked.ID == "" {
		t.Fatalf("want a LockedError naming the holder, got %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the lock holder's apply failed: %v", err)
	}
}

func TestLockErrorNamesHolder(t *testing.T) {
	d := []Diagnostic{{Severity: "error", Summary: "Error acquiring the state lock", Detail: "Error message: writing \"gs://b/ferry/app/default.tflock\" failed: googleapi: Error 412\nLock Info:\n  ID:        1700000000000000\n  Path:      gs://b/ferry/app/default.tflock\n  Operation: OperationTypeApply\n  Who:       worker@host-7\n  Version:   1.11.4\n  Created:   2026-11-21 21:00:00 +0000 UTC\n  Info:\n"}}
	l := lockError("billing-api", d)
	if l == nil || l.Who != "worker@host-7" || l.ID != "1700000000000000" || l.Operation != "OperationTypeApply" {
		t.Fatalf("lock info: %+v", l)
	}
	if !strings.Contains(l.Error(), "worker@host-7") || !strings.Contains(l.Error(), "force-unlock 1700000000000000") {
		t.Fatalf("message: %s", l.Error())
	}
}
