package activities

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	vmmigration "cloud.google.com/go/vmmigration/apiv1"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"go.temporal.io/sdk/testsuite"

	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

const (
	repProject = "acme-migration"
	repZone    = "europe-west1-b"
	repSource  = "projects/acme-migration/locations/europe-west1/sources/vcenter-paris"
)

type repEnv struct {
	t    *testing.T
	fake *gcpfake.Server
	env  *testsuite.TestActivityEnvironment
	api  *vmmigration.Client
	gcp  gcp.Config
}

// replicaFake runs gcpfake with a fast M2VM: a first sync of 20 GiB in
// about 0.2 s, a cycle every 200 ms.
func replicaFake(t *testing.T) *repEnv {
	t.Helper()
	old := ReplicationPoll
	ReplicationPoll = 10 * time.Millisecond
	t.Cleanup(func() { ReplicationPoll = old })
	fake := gcpfake.StartT(t, gcpfake.Options{M2VM: gcpfake.M2VMOptions{BytesPerSecond: 100 << 30, Verify: 50 * time.Millisecond,
		IdleDuration: 200 * time.Millisecond, StepOverhead: 10 * time.Millisecond, Clone: 100 * time.Millisecond, Finalize: 50 * time.Millisecond}})
	fake.M2VM().AddSource(repProject, "europe-west1", "vcenter-paris",
		gcpfake.SourceVM{ID: "vm-301", Name: "pg-1", DisksGB: []int64{10, 50}},
		gcpfake.SourceVM{ID: "vm-302", Name: "pg-2", DisksGB: []int64{10, 50}},
		gcpfake.SourceVM{ID: "vm-401", Name: "cache-1", DisksGB: []int64{10}})
	// An isolated network for test clones, as the platform team makes one.
	req, _ := http.NewRequest("POST", fake.ComputeEndpoint()+"projects/"+repProject+"/global/networks",
		strings.NewReader(`{"name":"migration-test","autoCreateSubnetworks":true}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("create test network: %v %v", resp, err)
	}
	g := gcp.Config{Project: repProject, Region: "europe-west1", ComputeEndpoint: fake.ComputeEndpoint(), VMMigrationEndpoint: fake.M2VMEndpoint()}
	a := &Activities{Plans: testPlans, GCP: g}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	api, err := vmmigration.NewClient(context.Background(), g.VMMigrationOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return &repEnv{t: t, fake: fake, env: env, api: api, gcp: g}
}

// replicaSpec is an app of VMs on one ESXi host and datastore.
func replicaSpec(app string, perHost int, vms ...[3]string) plan.AppSpec {
	s := plan.AppSpec{Name: app, Project: repProject, Region: "europe-west1", Zone: repZone, Tier: "1",
		Data: plan.DataSpec{Strategy: plan.DataReplicate, Replicate: &plan.ReplicateSpec{Location: "europe-west1", HostProject: repProject,
			TargetProject: "projects/acme-migration/locations/global/targetProjects/acme-migration", TestClone: true, TestNetwork: "migration-test",
			Limits: plan.ReplicationLimits{PerProject: 200, PerHost: perHost}}}}
	for _, v := range vms { // ref, name, disks
		disks := 2
		if v[2] == "1" {
			disks = 1
		}
		s.VMs = append(s.VMs, plan.VMSpec{Ref: v[0], Name: v[1], GCEName: v[1], Zone: repZone, MachineType: "n2-standard-2", DiskType: "pd-balanced"})
		s.Data.Replicate.VMs = append(s.Data.Replicate.VMs, plan.ReplicaVM{Ref: v[0], Name: v[1], GCEName: v[1], Datacenter: "dc-paris",
			Source: repSource, Host: "esx-01.dc-paris", Datastores: []string{"ds-gold"}, Disks: disks})
	}
	return s
}

func (e *repEnv) run(name string, in, out any) error {
	e.t.Helper()
	val, err := e.env.ExecuteActivity(name, in)
	if err != nil {
		return err
	}
	return val.Get(out)
}

func (e *repEnv) must(name string, in, out any) {
	e.t.Helper()
	if err := e.run(name, in, out); err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
}

// waitStatus polls ReplicationStatus until ok says so.
func (e *repEnv) waitStatus(ref PlanRef, ok func(ReplicationStatusResult) bool) ReplicationStatusResult {
	e.t.Helper()
	var st ReplicationStatusResult
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		e.must(ReplicationStatusName, ReplicationInput{Plan: ref}, &st)
		if ok(st) {
			return st
		}
	}
	e.t.Fatalf("replication status never got there: %+v", st)
	return st
}

// leftovers lists test clones and jobs still running: what no path may
// leave behind.
func (e *repEnv) leftovers() []string {
	var out []string
	for _, r := range e.fake.Resources(repProject, "instances") {
		if strings.HasSuffix(r.Name, "-ferry-test") {
			out = append(out, "instance "+r.Name)
		}
	}
	for _, r := range e.fake.Resources(repProject, "disks") {
		if strings.Contains(r.Name, "-ferry-test-") {
			out = append(out, "disk "+r.Name)
		}
	}
	for _, m := range e.fake.M2VM().MigratingVMs() {
		for _, j := range append(m.CloneJobs, m.CutoverJobs...) {
			if strings.HasSuffix(j, " ACTIVE") || strings.HasSuffix(j, " PENDING") {
				out = append(out, "job "+j)
			}
		}
	}
	return out
}

func diskNames(f *gcpfake.Server) []string {
	var out []string
	for _, r := range f.Resources(repProject, "disks") {
		out = append(out, r.Name)
	}
	return out
}

func TestReplicationLifecycle(t *testing.T) {
	e := replicaFake(t)
	spec := replicaSpec("ledger-db", 2, [3]string{"vm-301", "pg-1", "2"}, [3]string{"vm-302", "pg-2", "2"})
	ref := testRef(spec)

	var sr StartReplicationResult
	e.must(StartReplicationName, ReplicationInput{Plan: ref}, &sr)
	if len(sr.VMs) != 2 || sr.VMs[0].State != "FIRST_SYNC" || sr.VMs[0].Adopted {
		t.Fatalf("start: %+v", sr)
	}
	// A retried (or killed and restarted) start adopts: no second create.
	creates := e.fake.M2VM().Calls()["CreateMigratingVm"]
	e.must(StartReplicationName, ReplicationInput{Plan: ref}, &sr)
	if !sr.VMs[0].Adopted || !sr.VMs[1].Adopted || e.fake.M2VM().Calls()["CreateMigratingVm"] != creates || len(e.fake.M2VM().MigratingVMs()) != 2 {
		t.Fatalf("retried start: %+v, creates %d -> %d", sr, creates, e.fake.M2VM().Calls()["CreateMigratingVm"])
	}

	st := e.waitStatus(ref, func(s ReplicationStatusResult) bool {
		return s.Ready && s.VMs[0].CyclesDone >= 3 && s.VMs[1].CyclesDone >= 3
	})
	v := st.VMs[0]
	if v.LastCycleDuration <= 0 || v.BytesReplicated < 60<<30 || v.Forecast <= 0 || !strings.HasPrefix(v.ForecastBasis, "measured") ||
		v.ServiceForecast <= 0 || v.ExpiresAt.IsZero() || st.FinalSyncForecast < v.Forecast || !strings.Contains(st.Summary, "final sync ≈") {
		t.Fatalf("status evidence: %+v", st)
	}
	t.Logf("status: %s; pg-1: %d cycles, last %s (%d bytes), forecast %s (%s), service forecast %s",
		st.Summary, v.CyclesDone, v.LastCycleDuration, v.LastCycleBytes, v.Forecast, v.ForecastBasis, v.ServiceForecast)

	// Migrations expire after 180 days: those within the window are
	// extended, the others left alone.
	var er ExtendReplicationResult
	e.must(ExtendReplicationName, ExtendReplicationInput{Plan: ref}, &er)
	if len(er.Extended) != 0 {
		t.Fatalf("extended fresh migrations: %v", er.Extended)
	}
	e.must(ExtendReplicationName, ExtendReplicationInput{Plan: ref, Within: 200 * 24 * time.Hour}, &er)
	if len(er.Extended) != 2 || !strings.HasPrefix(er.Extended[0], "pg-1 until ") {
		t.Fatalf("extend: %v", er.Extended)
	}

	var tc TestCloneResult
	e.must(TestCloneName, TestCloneInput{Plan: ref}, &tc)
	// The instances go with their (auto-deleting) disks.
	if !tc.Passed || len(tc.VMs) != 2 || tc.VMs[0].State != "SUCCEEDED" || len(tc.Removed) != 2 {
		t.Fatalf("test clone: %+v", tc)
	}
	if l := e.leftovers(); len(l) != 0 || len(e.fake.Resources(repProject, "disks")) != 0 {
		t.Fatalf("after the test clone: %v, disks %v", l, diskNames(e.fake))
	}
	mv, err := e.api.GetMigratingVm(context.Background(), &vmmigrationpb.GetMigratingVmRequest{Name: sr.VMs[0].MigratingVM})
	if err != nil || mv.GetComputeEngineDisksTargetDefaults().GetVmTargetDefaults() != nil {
		t.Fatalf("target not restored after the clone: %v %v", mv.GetComputeEngineDisksTargetDefaults(), err)
	}

	var cr CutoverReplicationResult
	e.must(CutoverReplicationName, ReplicationInput{Plan: ref}, &cr)
	if len(cr.VMs) != 2 || cr.VMs[0].State != "SUCCEEDED" || cr.VMs[0].FinalSyncBytes <= 0 || len(cr.VMs[0].Disks) != 2 ||
		!strings.HasSuffix(cr.VMs[0].Disks[0], "/zones/europe-west1-b/disks/pg-1-m2vm-0") {
		t.Fatalf("cutover: %+v", cr)
	}
	if got := strings.Join(diskNames(e.fake), ","); got != "pg-1-m2vm-0,pg-1-m2vm-1,pg-2-m2vm-0,pg-2-m2vm-1" {
		t.Fatalf("disks after cutover: %s", got)
	}
	// A retry after a lost completion adopts the finished jobs.
	jobs := e.fake.M2VM().Calls()["CreateCutoverJob"]
	e.must(CutoverReplicationName, ReplicationInput{Plan: ref}, &cr)
	if !cr.VMs[0].Adopted || e.fake.M2VM().Calls()["CreateCutoverJob"] != jobs {
		t.Fatalf("retried cutover created jobs: %d -> %d", jobs, e.fake.M2VM().Calls()["CreateCutoverJob"])
	}
	t.Logf("cutover: longest job %s, pg-1 final sync %d bytes in %s", cr.Duration, cr.VMs[0].FinalSyncBytes, cr.VMs[0].FinalSyncDuration)

	var fr FinalizeReplicationResult
	e.must(FinalizeReplicationName, ReplicationInput{Plan: ref}, &fr)
	if fr.VMs[0].State != "FINALIZING" {
		t.Fatalf("finalize: %+v", fr)
	}
	time.Sleep(100 * time.Millisecond)
	e.must(FinalizeReplicationName, ReplicationInput{Plan: ref}, &fr)
	for _, m := range e.fake.M2VM().MigratingVMs() {
		if m.State != "FINALIZED" {
			t.Fatalf("after finalize: %+v", m)
		}
	}
	var cl CleanupReplicationResult
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: ref}, &cl)
	if len(cl.Removed) != 0 || len(e.leftovers()) != 0 || len(diskNames(e.fake)) != 4 {
		t.Fatalf("cleanup after success: %+v, leftovers %v, disks %v", cl, e.leftovers(), diskNames(e.fake))
	}
}

// Two apps on one ESXi host with per_host = 1: the second waits, whatever
// wave it is in, and starts when the first's replication is abandoned.
func TestReplicationCapacityAcrossApps(t *testing.T) {
	e := replicaFake(t)
	a := testRef(replicaSpec("app-a", 1, [3]string{"vm-301", "pg-1", "2"}))
	b := testRef(replicaSpec("app-b", 1, [3]string{"vm-401", "cache-1", "1"}))
	var sr StartReplicationResult
	e.must(StartReplicationName, ReplicationInput{Plan: a}, &sr)
	err := e.run(StartReplicationName, ReplicationInput{Plan: b}, &sr)
	if reasonOf(err) != string(runbooks.ReasonReplicationCapacity) || !strings.Contains(err.Error(), "host esx-01-dc-paris: 1 of 1") {
		t.Fatalf("second app on a full host: %v", err)
	}
	states := map[string]string{}
	for _, m := range e.fake.M2VM().MigratingVMs() {
		states[m.SourceVMID] = m.State
	}
	if states["vm-301"] != "FIRST_SYNC" || states["vm-401"] != "READY" {
		t.Fatalf("states: %v", states)
	}
	var cl CleanupReplicationResult
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: a, Abandon: true}, &cl)
	e.must(StartReplicationName, ReplicationInput{Plan: b}, &sr)
	if sr.VMs[0].State != "FIRST_SYNC" || !sr.VMs[0].Adopted {
		t.Fatalf("second app after the first left: %+v", sr)
	}
	if n := len(e.fake.M2VM().MigratingVMs()); n != 1 {
		t.Fatalf("%d MigratingVms after abandoning app-a", n)
	}
}

// A killed attempt's jobs are adopted, and the rollback removes the
// replication on every path: mid-clone, mid-cutover and after the cutover.
func TestReplicationAdoptAndRollbackCleanup(t *testing.T) {
	e := replicaFake(t)
	spec := replicaSpec("ledger-db", 0, [3]string{"vm-301", "pg-1", "2"}, [3]string{"vm-302", "pg-2", "2"})
	ref := testRef(spec)
	ctx := context.Background()
	var sr StartReplicationResult
	e.must(StartReplicationName, ReplicationInput{Plan: ref}, &sr)
	e.waitStatus(ref, func(s ReplicationStatusResult) bool { return s.Ready })

	// A clone job left running by a killed TestClone (which had pointed
	// the target at the test network) is adopted.
	pg1 := sr.VMs[0].MigratingVM
	r := &replication{spec: spec, rs: spec.Data.Replicate, api: e.api}
	if err := r.setTarget(ctx, spec.Data.Replicate.VMs[0], true); err != nil {
		t.Fatal(err)
	}
	op, err := e.api.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: pg1, CloneJobId: "ferry-test-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	clones := e.fake.M2VM().Calls()["CreateCloneJob"]
	var tc TestCloneResult
	e.must(TestCloneName, TestCloneInput{Plan: ref}, &tc)
	if !tc.Passed || tc.VMs[0].Job != pg1+"/cloneJobs/ferry-test-1" || e.fake.M2VM().Calls()["CreateCloneJob"] != clones+1 {
		t.Fatalf("adopting clone: %+v (creates %d -> %d)", tc, clones, e.fake.M2VM().Calls()["CreateCloneJob"])
	}
	if l := e.leftovers(); len(l) != 0 {
		t.Fatalf("leftovers after the clone: %v", l)
	}

	// A clone job that finished, of an attempt killed before it removed
	// the clone: the next TestClone removes the leftover test instance
	// (with its disks, which are in the new job's way) and clones again;
	// the instance is removed twice, before and after the new clone.
	if err := r.setTarget(ctx, spec.Data.Replicate.VMs[0], true); err != nil {
		t.Fatal(err)
	}
	op, err = e.api.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: pg1, CloneJobId: "ferry-test-5"})
	if err != nil {
		t.Fatal(err)
	}
	left, err := op.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		j, err := e.api.GetCloneJob(ctx, &vmmigrationpb.GetCloneJobRequest{Name: left.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if j.GetState() == vmmigrationpb.CloneJob_SUCCEEDED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the left clone job stays %s", j.GetState())
		}
	}
	if l := e.leftovers(); len(l) == 0 {
		t.Fatal("the finished clone job left nothing to clean up: the test proves nothing")
	}
	tc = TestCloneResult{}
	e.must(TestCloneName, TestCloneInput{Plan: ref}, &tc)
	if !tc.Passed || strings.Count(strings.Join(tc.Removed, ","), "test instance pg-1-ferry-test") != 2 {
		t.Fatalf("clone after a killed attempt's finished clone: %+v", tc)
	}
	if l := e.leftovers(); len(l) != 0 {
		t.Fatalf("leftovers after the second clone: %v", l)
	}

	// Rollback while a clone runs: the clone is cancelled, the rest stays
	// for a retry.
	op, _ = e.api.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: pg1, CloneJobId: "ferry-test-9"})
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var cl CleanupReplicationResult
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: ref}, &cl)
	if l := e.leftovers(); len(l) != 0 || len(cl.Removed) == 0 {
		t.Fatalf("cleanup mid-clone: %+v, leftovers %v", cl, l)
	}

	// A cutover job left by a killed CutoverReplication is adopted.
	op2, err := e.api.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: pg1, CutoverJobId: "ferry-cutover-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := e.fake.M2VM().Calls()["CreateCutoverJob"]
	var cr CutoverReplicationResult
	e.must(CutoverReplicationName, ReplicationInput{Plan: ref}, &cr)
	if !cr.VMs[0].Adopted || cr.VMs[1].Adopted || e.fake.M2VM().Calls()["CreateCutoverJob"] != jobs+1 || cr.VMs[0].Job != pg1+"/cutoverJobs/ferry-cutover-1" {
		t.Fatalf("adopting cutover: %+v (creates %d -> %d)", cr, jobs, e.fake.M2VM().Calls()["CreateCutoverJob"])
	}

	// Rollback after the cutover, destroy policy: replication abandoned,
	// disks deleted; nothing of the migration is left.
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: ref, Abandon: true, DeleteDisks: true}, &cl)
	if l := e.leftovers(); len(l) != 0 || len(e.fake.M2VM().MigratingVMs()) != 0 || len(diskNames(e.fake)) != 0 {
		t.Fatalf("after rollback: %+v leftovers %v, migrating VMs %v, disks %v", cl, l, e.fake.M2VM().MigratingVMs(), diskNames(e.fake))
	}
	// Idempotent: a second run finds nothing.
	cl = CleanupReplicationResult{}
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: ref, Abandon: true, DeleteDisks: true}, &cl)
	if len(cl.Removed) != 0 {
		t.Fatalf("second cleanup removed %v", cl.Removed)
	}
}

// Rollback during the cutover job: it is cancelled and the replication
// removed; a failed clone leaves nothing either.
func TestReplicationFailurePaths(t *testing.T) {
	e := replicaFake(t)
	spec := replicaSpec("ledger-db", 0, [3]string{"vm-301", "pg-1", "2"})
	spec.Data.Replicate.TestNetwork = "no-such-network"
	ref := testRef(spec)
	var sr StartReplicationResult
	e.must(StartReplicationName, ReplicationInput{Plan: ref}, &sr)
	e.waitStatus(ref, func(s ReplicationStatusResult) bool { return s.Ready })

	var tc TestCloneResult
	e.must(TestCloneName, TestCloneInput{Plan: ref}, &tc)
	if tc.Passed || tc.VMs[0].State != "FAILED" || !strings.Contains(tc.VMs[0].Detail, "no-such-network") {
		t.Fatalf("clone into a missing network: %+v", tc)
	}
	if l := e.leftovers(); len(l) != 0 || len(diskNames(e.fake)) != 0 {
		t.Fatalf("failed clone left %v, disks %v", l, diskNames(e.fake))
	}

	ctx := context.Background()
	op, err := e.api.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: sr.VMs[0].MigratingVM, CutoverJobId: "ferry-cutover-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var cl CleanupReplicationResult
	e.must(CleanupReplicationName, CleanupReplicationInput{Plan: ref, Abandon: true, DeleteDisks: true}, &cl)
	if l := e.leftovers(); len(l) != 0 || len(e.fake.M2VM().MigratingVMs()) != 0 || len(diskNames(e.fake)) != 0 {
		t.Fatalf("rollback mid-cutover: %+v leftovers %v, disks %v", cl, l, diskNames(e.fake))
	}
	// The plan's app without data = "replicate" is refused, not run.
	plain := replicaSpec("plain", 0)
	plain.Data = plan.DataSpec{Strategy: plan.DataNone}
	if err := e.run(StartReplicationName, ReplicationInput{Plan: testRef(plain)}, &sr); reasonOf(err) != string(runbooks.ReasonPlanInvalid) {
		t.Fatalf("app without replication: %v", err)
	}
}

func TestReplicationNamesAreMethods(t *testing.T) {
	typ := reflect.TypeOf(&Activities{})
	for _, n := range []string{StartReplicationName, ReplicationStatusName, TestCloneName, CutoverReplicationName,
		FinalizeReplicationName, ExtendReplicationName, CleanupReplicationName, RunSyncCommandName, ProbeSyncLagName} {
		if _, ok := typ.MethodByName(n); !ok {
			t.Errorf("activity name %q has no method on *Activities", n)
		}
	}
}
