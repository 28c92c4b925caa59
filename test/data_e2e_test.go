package test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	vmmigration "cloud.google.com/go/vmmigration/apiv1"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/api/iterator"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/workflows"
)

// migratingVMs returns the state of every MigratingVm of the app's sources
// that replicates one of its VMs, by VM ref, through the vmmigration API.
func migratingVMs(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) map[string]string {
	t.Helper()
	c, err := vmmigration.NewClient(ctx, st.GCP.VMMigrationOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	refs := map[string]bool{}
	sources := map[string]bool{}
	for _, v := range s.Data.Replicate.VMs {
		refs[v.Ref] = true
		sources[v.Source] = true
	}
	out := map[string]string{}
	for src := range sources {
		it := c.ListMigratingVms(ctx, &vmmigrationpb.ListMigratingVmsRequest{Parent: src})
		for {
			mv, err := it.Next()
			if err == iterator.Done {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if refs[mv.GetSourceVmId()] {
				out[mv.GetSourceVmId()] = mv.GetState().String()
			}
		}
	}
	return out
}

// bootDisks returns each GCE instance's boot disk (last path segment) of
// the app, and the instances of the project that are not the app's own
// (test clones left behind).
func bootDisks(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) (boot map[string]string, clones []string) {
	t.Helper()
	ic, err := compute.NewInstancesRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	boot = map[string]string{}
	it := ic.AggregatedList(ctx, &computepb.AggregatedListInstancesRequest{Project: s.Project})
	for {
		pair, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range pair.Value.GetInstances() {
			if strings.HasSuffix(in.GetName(), "-ferry-test") {
				clones = append(clones, in.GetName())
			}
			if in.GetLabels()["app"] != s.Name {
				continue
			}
			for _, d := range in.GetDisks() {
				if d.GetBoot() {
					src := d.GetSource()
					boot[in.GetName()] = src[strings.LastIndex(src, "/")+1:]
				}
			}
		}
	}
	return boot, clones
}

// replicaDisks lists the project's disks made by cutover jobs.
func replicaDisks(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) []string {
	t.Helper()
	dc, err := compute.NewDisksRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	var out []string
	it := dc.AggregatedList(ctx, &computepb.AggregatedListDisksRequest{Project: s.Project})
	for {
		pair, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range pair.Value.GetDisks() {
			if strings.Contains(d.GetName(), "-m2vm-") {
				out = append(out, d.GetName())
			}
		}
	}
	return out
}

func result(ctx context.Context, t *testing.T, st *devtest.Stack, app string) workflows.MigrateAppResult {
	t.Helper()
	var res workflows.MigrateAppResult
	if err := st.C.GetWorkflow(ctx, workflows.AppWorkflowID(app), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDataStrategiesEndToEnd runs the dev plan's apps that move data on
// the dev stack with the real worker, gcpfake's Migrate to Virtual
// Machines API, the simulator and real terraform:
//   - catalog-db (replicate) replicates, shows cycles and the final-sync
//     forecast at the cutover gate, passes a test clone that leaves nothing
//     behind, cuts over (its instances boot from the replicated disks; the
//     sources are shut down) and is rolled back: sources on again, the
//     replication abandoned. Started again and cancelled at its cutover
//     gate, it parks for a person (a cancel is not a verified rollback)
//     and, rolled back by its approver, leaves no MigratingVm, disk or
//     clone behind.
//     Started a third time, it migrates to the end and its migrations are
//     finalized.
//   - payments-db (sync) is held at its lag gate until the stand-in
//     replica catches up, cuts over after the catch-up and, rolled back,
//     runs the reverse sync.
func TestDataStrategiesEndToEnd(t *testing.T) {
	st := e2eStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	rep, syn := spec(t, st, devstack.DevReplicateApp), spec(t, st, devstack.DevSyncApp)
	if rep.Data.Strategy != plan.DataReplicate || syn.Data.Strategy != plan.DataSync {
		t.Fatalf("dev plan strategies: %s=%s, %s=%s", rep.Name, rep.Data.Strategy, syn.Name, syn.Data.Strategy)
	}
	k := devKeys(st.StateDir)
	// Where both stand, in the log of a failed run.
	go func() {
		d := &driver{c: st.C}
		for ctx.Err() == nil {
			for _, app := range []string{rep.Name, syn.Name} {
				if s, err := d.status(ctx, app); err == nil {
					w := ""
					if s.Waiting != nil {
						w = s.Waiting.Gate + ": " + s.Waiting.Hint
					}
					e := ""
					if s.LastError != nil {
						e = s.LastError.Reason + ": " + s.LastError.Message
					}
					t.Logf("%s: %s %s %s", app, s.Stage, w, e)
				}
			}
			time.Sleep(15 * time.Second)
		}
	}()
	start(ctx, t, st, rep)
	start(ctx, t, st, syn)

	// The sync app, alongside.
	synErr := make(chan error, 1)
	go func() {
		d := &driver{c: st.C, keys: k}
		if _, err := d.run(ctx, syn.Name, workflows.StageApproveDecommission); err != nil {
			synErr <- err
			return
		}
		if _, err := rollbackAs(ctx, st.C, syn.Name, syn.Approvers["cutover"][0], k, "e2e: roll the sync app back"); err != nil {
			synErr <- err
			return
		}
		out, err := d.run(ctx, syn.Name, "")
		if err == nil && out != workflows.StageRolledBack {
			err = fmt.Errorf("%s ended %s", syn.Name, out)
		}
		synErr <- err
	}()

	d := &driver{c: st.C, keys: k}
	if _, err := d.run(ctx, rep.Name, workflows.StageApproveCutover); err != nil {
		t.Fatal(err)
	}
	var s workflows.Status
	for { // the stage is set before the gate opens
		var err error
		if s, err = d.status(ctx, rep.Name); err != nil {
			t.Fatal(err)
		}
		if s.Waiting != nil && s.Waiting.Gate == workflows.GateCutover {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := s.Evidence.Replication
	if r == nil || !r.Ready || len(r.VMs) != len(rep.VMs) || r.FinalSyncForecast <= 0 {
		t.Fatalf("%s at the cutover gate: replication evidence %+v", rep.Name, r)
	}
	for _, v := range r.VMs {
		if v.CyclesDone < 1 || v.BytesReplicated <= 0 {
			t.Errorf("%s: VM %s replication %+v: want a finished cycle with bytes", rep.Name, v.VM, v)
		}
	}
	if s.Waiting == nil || !strings.Contains(s.Waiting.Hint, "final sync ≈") {
		t.Errorf("%s cutover gate evidence %+v lacks the final-sync forecast", rep.Name, s.Waiting)
	}
	if tc := s.Evidence.TestClone; tc == nil || !tc.Passed || len(tc.VMs) != len(rep.VMs) {
		t.Errorf("%s test clone %+v", rep.Name, tc)
	}
	if boot, clones := bootDisks(ctx, t, st, rep); len(boot) != 0 || len(clones) != 0 {
		t.Errorf("%s before cutover: instances %v, clones left %v; want none", rep.Name, boot, clones)
	}
	for ref, state := range migratingVMs(ctx, t, st, rep) {
		if state != "ACTIVE" {
			t.Errorf("%s: MigratingVm of %s is %s at the cutover gate, want ACTIVE", rep.Name, ref, state)
		}
	}

	// Cutover: the final sync shuts the sources down, the instances boot
	// from the replicated disks, traffic moves in one step.
	if _, err := d.run(ctx, rep.Name, workflows.StageApproveDecommission); err != nil {
		t.Fatal(err)
	}
	checkCutOver := func(when string) {
		boot, _ := bootDisks(ctx, t, st, rep)
		if len(boot) != len(rep.VMs) {
			t.Errorf("%s %s: instances %v, want %d", rep.Name, when, boot, len(rep.VMs))
		}
		for _, v := range rep.VMs {
			if want := gcename.ReplicaDisk(v.GCEName, 0); boot[v.GCEName] != want {
				t.Errorf("%s %s: %s boots from %q, want the replicated disk %s", rep.Name, when, v.GCEName, boot[v.GCEName], want)
			}
		}
		for vm, p := range sources(ctx, t, st, rep) {
			if p != "poweredOff" {
				t.Errorf("%s %s: source %s is %s, want shut down by the cutover job", rep.Name, when, vm, p)
			}
		}
	}
	checkCutOver("after cutover")
	if s, _ := d.status(ctx, rep.Name); s.TrafficPercent != 100 || len(s.Evidence.SLO) != 1 {
		t.Errorf("%s after cutover: traffic %d %%, %d SLO gates; want one 100 %% step", rep.Name, s.TrafficPercent, len(s.Evidence.SLO))
	}

	// Rollback after cutover: sources on, replication abandoned.
	if _, err := rollbackAs(ctx, st.C, rep.Name, rep.Approvers["cutover"][0], k, "e2e: roll back after cutover"); err != nil {
		t.Fatal(err)
	}
	if out, err := d.run(ctx, rep.Name, ""); err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s rollback: %s %v", rep.Name, out, err)
	}
	for vm, p := range sources(ctx, t, st, rep) {
		if p != "poweredOn" {
			t.Errorf("%s rolled back: source %s is %s, want powered on", rep.Name, vm, p)
		}
	}
	if mv := migratingVMs(ctx, t, st, rep); len(mv) != 0 {
		t.Errorf("%s rolled back: MigratingVms left %v", rep.Name, mv)
	}
	if d := replicaDisks(ctx, t, st, rep); len(d) != 0 {
		t.Errorf("%s rolled back with destroy: replicated disks left %v", rep.Name, d)
	}
	if res := result(ctx, t, st, rep.Name); res.Status.Evidence.Cleanup == nil {
		t.Errorf("%s rolled back without the replication cleanup's evidence", rep.Name)
	}

	// Started again and cancelled at its cutover gate (temporal workflow
	// cancel): a cancel names no verified person, so it parks the
	// migration (cancel-requested) with nothing undone; the approver's
	// signed rollback then leaves no replication behind.
	start(ctx, t, st, rep)
	if _, err := d.run(ctx, rep.Name, workflows.StageApproveCutover); err != nil {
		t.Fatal(err)
	}
	if mv := migratingVMs(ctx, t, st, rep); len(mv) != len(rep.VMs) {
		t.Fatalf("%s at its cutover gate: MigratingVms %v, want one per VM", rep.Name, mv)
	}
	if err := st.C.CancelWorkflow(ctx, workflows.AppWorkflowID(rep.Name), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, rep.Name+" parked for the cancel", 200*time.Millisecond, func() (bool, string) {
		s, err := d.status(ctx, rep.Name)
		if err != nil {
			return false, err.Error()
		}
		return s.LastError != nil && s.LastError.Reason == string(runbooks.ReasonCancelRequested), fmt.Sprintf("stage %s, last error %+v", s.Stage, s.LastError)
	})
	if mv := migratingVMs(ctx, t, st, rep); len(mv) != len(rep.VMs) {
		t.Errorf("%s parked for the cancel: MigratingVms %v, want them all still replicating", rep.Name, mv)
	}
	if _, err := rollbackAs(ctx, st.C, rep.Name, rep.Approvers["cutover"][0], k, "e2e: cancelled, roll back"); err != nil {
		t.Fatal(err)
	}
	if out, err := d.run(ctx, rep.Name, ""); err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s cancelled, then rolled back: %s %v, want RolledBack", rep.Name, out, err)
	}
	if mv := migratingVMs(ctx, t, st, rep); len(mv) != 0 {
		t.Errorf("%s cancelled: MigratingVms left %v", rep.Name, mv)
	}
	if d := replicaDisks(ctx, t, st, rep); len(d) != 0 {
		t.Errorf("%s cancelled: replicated disks left %v", rep.Name, d)
	}
	if _, clones := bootDisks(ctx, t, st, rep); len(clones) != 0 {
		t.Errorf("%s cancelled: test clones left behind: %v", rep.Name, clones)
	}
	if res := result(ctx, t, st, rep.Name); !strings.Contains(res.Status.RollbackReason, "cancelled, roll back") || !slices.ContainsFunc(res.Status.Audit, func(a workflows.AuditEntry) bool { return a.Signal == "cancel" }) {
		t.Errorf("%s cancelled: rollback reason %q, audit %+v; want the approver's reason and the cancel audited", rep.Name, res.Status.RollbackReason, res.Status.Audit)
	}

	// Started again, it replicates afresh and migrates to the end.
	start(ctx, t, st, rep)
	if out, err := d.run(ctx, rep.Name, ""); err != nil || out != workflows.StageDone {
		s, _ := d.status(ctx, rep.Name)
		t.Fatalf("%s second run: %s %v; last error %+v", rep.Name, out, err, s.LastError)
	}
	checkCutOver("done")
	mv := migratingVMs(ctx, t, st, rep)
	if len(mv) != len(rep.VMs) {
		t.Errorf("%s done: MigratingVms %v, want one per VM", rep.Name, mv)
	}
	for ref, state := range mv {
		if state != "FINALIZED" && state != "FINALIZING" {
			t.Errorf("%s done: MigratingVm of %s is %s, want finalized", rep.Name, ref, state)
		}
	}
	if _, clones := bootDisks(ctx, t, st, rep); len(clones) != 0 {
		t.Errorf("test clones left behind: %v", clones)
	}

	if err := <-synErr; err != nil {
		t.Fatal(err)
	}
	res := result(ctx, t, st, syn.Name)
	lag := res.Status.Evidence.SyncLag
	if len(lag) < 2 || lag[0].Pass || !lag[len(lag)-1].Pass {
		t.Errorf("%s lag evidence %+v: want a measurement above max_lag that held the cutover, then one below", syn.Name, lag)
	}
	var ran []string
	for _, h := range res.Status.Evidence.Hooks {
		ran = append(ran, h.Output)
	}
	all := strings.Join(ran, "\n")
	for _, want := range []string{"streaming since", "final catch-up", "reverse sync"} {
		if !strings.Contains(all, want) {
			t.Errorf("%s: no %q in the sync commands' output:\n%s", syn.Name, want, all)
		}
	}
	for vm, p := range sources(ctx, t, st, syn) {
		if p != "poweredOn" {
			t.Errorf("%s rolled back: source %s is %s", syn.Name, vm, p)
		}
	}
}
