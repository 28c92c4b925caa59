package test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/workflows"
)

// checkChaos asserts the end state of the chaos wave exactly: outcomes,
// GCE resources (once each, none left by rolled-back apps), approvals,
// traffic weights and the sources' power states.
func checkChaos(ctx context.Context, t *testing.T, cs *chaosStack, c client.Client, specs []plan.AppSpec, role map[string]string,
	outcomes map[string]string, drivers map[string]*driver) {
	t.Helper()
	want := map[string]string{roleDone: workflows.StageDone, roleRollback: workflows.StageRolledBack, roleSLO: workflows.StageRolledBack}
	done := map[string]bool{}
	for _, s := range specs {
		var res workflows.MigrateAppResult
		if err := getRetrying(ctx, c, workflows.AppWorkflowID(s.Name), &res); err != nil {
			t.Errorf("%s: result: %v", s.Name, err)
			continue
		}
		if res.Outcome != want[role[s.Name]] || outcomes[s.Name] != res.Outcome {
			t.Errorf("%s (%s) ended %s (driver saw %s), want %s; last error %+v, rollback reason %q",
				s.Name, role[s.Name], res.Outcome, outcomes[s.Name], want[role[s.Name]], res.Status.LastError, res.Status.RollbackReason)
		}
		if role[s.Name] == roleSLO && !strings.Contains(res.Status.RollbackReason, "SLO gate failed") {
			t.Errorf("%s rolled back for %q, want the SLO gate's automatic rollback", s.Name, res.Status.RollbackReason)
		}
		done[s.Name] = res.Outcome == workflows.StageDone
		// Every approval sent is in the record.
		for _, ap := range drivers[s.Name].sent {
			if !recorded(res.Status.Approvals, ap) {
				t.Errorf("%s: approval %+v sent but not recorded (%d recorded)", s.Name, ap, len(res.Status.Approvals))
			}
		}
		if len(drivers[s.Name].sent) == 0 {
			t.Errorf("%s: its driver sent no approval", s.Name)
		}
	}

	// Migrate to Virtual Machines: whatever the kills cut short, one
	// MigratingVm per source VM at most, and one cutover job per
	// MigratingVm at most (an attempt after a kill adopts, never doubles).
	perSource := map[string][]string{}
	for _, mv := range cs.fake.M2VM().MigratingVMs() {
		perSource[mv.SourceVMID] = append(perSource[mv.SourceVMID], mv.Name)
		if len(mv.CutoverJobs) > 1 {
			t.Errorf("MigratingVm %s has %d cutover jobs, want at most one: %v", mv.Name, len(mv.CutoverJobs), mv.CutoverJobs)
		}
	}
	for src, mvs := range perSource {
		if len(mvs) > 1 {
			t.Errorf("source VM %s has %d MigratingVms, want at most one: %v", src, len(mvs), mvs)
		}
	}

	// GCE: per app, its VMs once each for Done apps, nothing for rolled
	// back ones; every resource but the default network belongs to a Done
	// app.
	proj := cs.plan.Plan.GCP.Project
	owner := func(name string, lbl map[string]string) string {
		if a := lbl["app"]; a != "" {
			return a
		}
		best := ""
		for _, s := range specs {
			n := gcename.Name(s.Name, nil)
			if strings.Contains(name, n) && len(n) > len(gcename.Name(best, nil)) {
				best = s.Name
			}
		}
		return best
	}
	instances := map[string][]string{}
	total := 0
	for _, r := range cs.fake.Resources(proj, "") {
		// The default network, and the isolated network test clones boot
		// in, which the platform team creates (the stack, here).
		if (r.Name == "default" || r.Name == devstack.DevTestNetwork) && (r.Kind == "networks" || r.Kind == "subnetworks") {
			continue
		}
		total++
		o := owner(r.Name, labels(r))
		if !done[o] {
			t.Errorf("orphan in gcpfake: %s %s (owner %q, not a Done app)", r.Kind, r.Name, o)
		}
		if r.Kind == "instances" {
			instances[o] = append(instances[o], r.Name)
		}
	}
	for _, s := range specs {
		got := instances[s.Name]
		slices.Sort(got)
		if len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%s: duplicate instance names %v", s.Name, got)
		}
		wantN := 0
		if done[s.Name] {
			wantN = len(s.VMs)
		}
		if len(got) != wantN {
			t.Errorf("%s (%s): %d instances %v on GCE, want %d", s.Name, role[s.Name], len(got), got, wantN)
		}
		// Traffic: Done is 100 % GCP; rolled back with destroy has no URL map.
		w, err := cs.fake.URLMapWeights(proj, traffic.URLMapName(s.Name))
		switch {
		case done[s.Name] && (err != nil || w[traffic.GCPBackendName(s.Name)] != 100 || w[traffic.DCBackendName(s.Name)] != 0):
			t.Errorf("%s is Done, URL map weights %v (%v), want 100 %% GCP", s.Name, w, err)
		case !done[s.Name] && err == nil && w[traffic.DCBackendName(s.Name)] != 100:
			t.Errorf("%s rolled back, URL map weights %v, want no URL map or 100 %% datacenter", s.Name, w)
		}
	}
	t.Logf("gcpfake holds %d resources besides the default and test networks, all of Done apps", total)

	// Sources: off after decommission, as before after a rollback.
	cl, err := inventory.Connect(ctx, cs.sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close(ctx) }()
	inv, err := inventory.Discover(ctx, cl, inventory.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// A rolled-back app's sources are as they were before the migration:
	// the inventory discovered then says so (the sample portfolio keeps
	// the last VM of larger apps as a powered-off cold standby).
	before, err := inventory.Load(filepath.Join(cs.dir, "inventory.json"))
	if err != nil {
		t.Fatal(err)
	}
	initial := map[string]string{}
	for _, v := range before.VMs {
		initial[v.Ref] = v.PowerState
	}
	for _, s := range specs {
		for _, v := range inv.VMs {
			if !slices.ContainsFunc(s.VMs, func(p plan.VMSpec) bool { return p.Ref == v.Ref }) {
				continue
			}
			wantP := initial[v.Ref]
			if done[s.Name] {
				wantP = "poweredOff"
			}
			if v.PowerState != wantP {
				t.Errorf("source %s of %s (%s) is %s, want %s", v.Name, s.Name, role[s.Name], v.PowerState, wantP)
			}
		}
	}
}
