package gcpfake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	vmmigration "cloud.google.com/go/vmmigration/apiv1"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

const (
	m2Project = "acme-migration"
	m2Zone    = "europe-west1-b"
)

func m2Fake(t *testing.T, opts Options) (*Server, *vmmigration.Client, string) {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c, err := vmmigration.NewClient(context.Background(), option.WithEndpoint(s.M2VMEndpoint()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	src := s.M2VM().AddSource(m2Project, "europe-west1", "vcenter-paris",
		SourceVM{ID: "vm-1", Name: "db-1", DisksGB: []int64{20, 100}},
		SourceVM{ID: "vm-2", Name: "db-2", DisksGB: []int64{20}},
		SourceVM{ID: "vm-3", Name: "db-3", DisksGB: []int64{20}})
	return s, c, src
}

func disksTarget(zone, vmName string, names ...string) *vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults {
	d := &vmmigrationpb.ComputeEngineDisksTargetDefaults{
		TargetProject: "projects/" + m2Project + "/locations/global/targetProjects/" + m2Project,
		VmTarget:      &vmmigrationpb.ComputeEngineDisksTargetDefaults_DisksTargetDefaults{DisksTargetDefaults: &vmmigrationpb.DisksMigrationDisksTargetDefaults{}},
	}
	if zone != "" {
		d.Location = &vmmigrationpb.ComputeEngineDisksTargetDefaults_Zone{Zone: zone}
	}
	if vmName != "" {
		d.VmTarget = &vmmigrationpb.ComputeEngineDisksTargetDefaults_VmTargetDefaults{VmTargetDefaults: &vmmigrationpb.DisksMigrationVmTargetDefaults{
			VmName: vmName, MachineType: "n2-standard-2",
			NetworkInterfaces: []*vmmigrationpb.NetworkInterface{{Network: "default"}}}}
	}
	for i, n := range names {
		d.Disks = append(d.Disks, &vmmigrationpb.PersistentDiskDefaults{SourceDiskNumber: int32(i), DiskName: n,
			DiskType: vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_BALANCED})
	}
	return &vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults{ComputeEngineDisksTargetDefaults: d}
}

func createMVM(t *testing.T, c *vmmigration.Client, src, id, vmID, reqID string, target *vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults) (*vmmigrationpb.MigratingVm, error) {
	t.Helper()
	ctx := context.Background()
	op, err := c.CreateMigratingVm(ctx, &vmmigrationpb.CreateMigratingVmRequest{Parent: src, MigratingVmId: id, RequestId: reqID,
		MigratingVm: &vmmigrationpb.MigratingVm{SourceVmId: vmID, TargetVmDefaults: target}})
	if err != nil {
		return nil, err
	}
	return op.Wait(ctx)
}

func get(t *testing.T, c *vmmigration.Client, name string) *vmmigrationpb.MigratingVm {
	t.Helper()
	v, err := c.GetMigratingVm(context.Background(), &vmmigrationpb.GetMigratingVmRequest{Name: name, View: vmmigrationpb.MigratingVmView_MIGRATING_VM_VIEW_FULL})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantCode(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(err.Error(), contains) {
		t.Fatalf("want %s containing %q, got %v", code, contains, err)
	}
}

func TestM2VMLifecycle(t *testing.T) {
	ctx := context.Background()
	shut := make(chan string, 4)
	s, c, src := m2Fake(t, Options{M2VM: M2VMOptions{OnSourceShutdown: func(source, vmID string) { shut <- lastSegment(source) + " " + vmID }}})
	m := s.M2VM()
	mv, err := createMVM(t, c, src, "db-1", "vm-1", "6f1b4a3e-0c1d-4a8e-9a55-3f4d2b1c0a01", disksTarget(m2Zone, "", "db-1-boot", "db-1-data-1"))
	if err != nil {
		t.Fatal(err)
	}
	if mv.State != vmmigrationpb.MigratingVm_PENDING {
		t.Fatalf("new migrating VM in %s", mv.State)
	}
	// Not READY yet: the service refuses to start it.
	_, err = c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: mv.Name})
	wantCode(t, err, codes.FailedPrecondition, "must be READY")
	m.Advance(31 * time.Second)
	if st := get(t, c, mv.Name).State; st != vmmigrationpb.MigratingVm_READY {
		t.Fatalf("after verification: %s", st)
	}
	// Cutover of a VM that is not ACTIVE is refused.
	_, err = c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "early"})
	wantCode(t, err, codes.FailedPrecondition, "must be ACTIVE")

	sop, err := c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: mv.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	got := get(t, c, mv.Name)
	if got.State != vmmigrationpb.MigratingVm_FIRST_SYNC || got.CurrentSyncInfo == nil || got.CurrentSyncInfo.CycleNumber != 1 {
		t.Fatalf("started: %s %v", got.State, got.CurrentSyncInfo)
	}
	// 120 GiB at 50 MiB/s is 2458 s plus 40 s of steps.
	m.Advance(20 * time.Minute)
	got = get(t, c, mv.Name)
	//lint:ignore SA1019 the fake fills the field as the API does
	if p := got.CurrentSyncInfo.GetProgressPercent(); p < 40 || p > 60 {
		t.Fatalf("first sync halfway: %d%%", p)
	}
	m.Advance(25 * time.Minute)
	got = get(t, c, mv.Name)
	if got.State != vmmigrationpb.MigratingVm_ACTIVE || got.LastReplicationCycle.GetCycleNumber() != 1 || got.CutoverForecast == nil {
		t.Fatalf("after first sync: %s last=%v forecast=%v", got.State, got.LastReplicationCycle, got.CutoverForecast)
	}
	m.Advance(3 * time.Hour)
	var cycles []*vmmigrationpb.ReplicationCycle
	it := c.ListReplicationCycles(ctx, &vmmigrationpb.ListReplicationCyclesRequest{Parent: mv.Name, PageSize: 2})
	for {
		cy, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cycles = append(cycles, cy)
	}
	if len(cycles) < 3 {
		t.Fatalf("%d cycles after 3h45m", len(cycles))
	}
	first, second := cycles[0], cycles[1]
	fb := first.Steps[1].GetReplicating().GetTotalBytes()
	sb := second.Steps[1].GetReplicating().GetTotalBytes()
	if fb != 120<<30 || sb <= 0 || sb >= fb/10 || len(first.Steps) != 3 || first.EndTime == nil {
		t.Fatalf("cycles: first %d bytes %d steps, second %d bytes", fb, len(first.Steps), sb)
	}

	// A test clone into a VM: the target defaults name it.
	uop, err := c.UpdateMigratingVm(ctx, &vmmigrationpb.UpdateMigratingVmRequest{
		MigratingVm: &vmmigrationpb.MigratingVm{Name: mv.Name, TargetVmDefaults: disksTarget(m2Zone, "db-1-test", "db-1-boot", "db-1-data-1")},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"compute_engine_disks_target_defaults"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cop, err := c.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: mv.Name, CloneJobId: "test-1"})
	if err != nil {
		t.Fatal(err)
	}
	cj, err := cop.Wait(ctx)
	if err != nil || cj.State != vmmigrationpb.CloneJob_ACTIVE {
		t.Fatalf("clone: %v %v", cj, err)
	}
	_, err = c.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: mv.Name, CloneJobId: "test-2"})
	wantCode(t, err, codes.FailedPrecondition, "already running")
	_, err = c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "cut-1"})
	wantCode(t, err, codes.FailedPrecondition, "clone job")
	m.Advance(4 * time.Minute)
	cj, err = c.GetCloneJob(ctx, &vmmigrationpb.GetCloneJobRequest{Name: cj.Name})
	if err != nil || cj.State != vmmigrationpb.CloneJob_SUCCEEDED || len(cj.GetComputeEngineDisksTargetDetails().GetDisks()) != 2 {
		t.Fatalf("clone done: %v %v", cj, err)
	}
	if n := len(s.Resources(m2Project, "instances")); n != 1 {
		t.Fatalf("%d instances after the clone", n)
	}
	// The clone's products are the caller's: while they exist the
	// cutover's disks cannot be created.
	_, err = c.UpdateMigratingVm(ctx, &vmmigrationpb.UpdateMigratingVmRequest{
		MigratingVm: &vmmigrationpb.MigratingVm{Name: mv.Name, TargetVmDefaults: disksTarget(m2Zone, "", "db-1-boot", "db-1-data-1")},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"compute_engine_disks_target_defaults"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "cut-1"})
	wantCode(t, err, codes.FailedPrecondition, "already exists")
	if code, _, body := do(t, "DELETE", s.ComputeEndpoint()+"projects/"+m2Project+"/zones/"+m2Zone+"/instances/db-1-test", ""); code != 200 {
		t.Fatalf("delete test instance: %d %v", code, body)
	}
	if n := len(s.Resources(m2Project, "disks")); n != 0 {
		t.Fatalf("%d disks left after deleting the test instance (its disks auto-delete)", n)
	}

	kop, err := c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "cut-1", RequestId: "6f1b4a3e-0c1d-4a8e-9a55-3f4d2b1c0a02"})
	if err != nil {
		t.Fatal(err)
	}
	kj, err := kop.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := get(t, c, mv.Name).State; st != vmmigrationpb.MigratingVm_CUTTING_OVER && st != vmmigrationpb.MigratingVm_FINAL_SYNC {
		t.Fatalf("cutting over: %s", st)
	}
	// A retried create (same request id) returns the same job.
	again, err := c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "cut-1", RequestId: "6f1b4a3e-0c1d-4a8e-9a55-3f4d2b1c0a02"})
	if err != nil || again.Name() != kop.Name() {
		t.Fatalf("retried create: %v %v", again, err)
	}
	_, err = c.FinalizeMigration(ctx, &vmmigrationpb.FinalizeMigrationRequest{MigratingVm: mv.Name})
	wantCode(t, err, codes.FailedPrecondition, "must be CUTOVER")
	m.Advance(time.Hour)
	kj, err = c.GetCutoverJob(ctx, &vmmigrationpb.GetCutoverJobRequest{Name: kj.Name})
	if err != nil || kj.State != vmmigrationpb.CutoverJob_SUCCEEDED || kj.ProgressPercent != 100 {
		t.Fatalf("cutover: %v %v", kj, err)
	}
	var final *vmmigrationpb.ReplicationCycle
	for _, st := range kj.Steps {
		if f := st.GetFinalSync(); f != nil {
			final = f
		}
	}
	if final == nil || final.Steps[1].GetReplicating().GetTotalBytes() <= 0 {
		t.Fatalf("cutover steps: %v", kj.Steps)
	}
	if st := get(t, c, mv.Name).State; st != vmmigrationpb.MigratingVm_CUTOVER {
		t.Fatalf("after cutover: %s", st)
	}
	// The cutover shut the source down (a dev stack powers the vcsim VM off).
	if got := <-shut; got != "vcenter-paris vm-1" || len(shut) != 0 {
		t.Fatalf("source shutdowns: %q (+%d)", got, len(shut))
	}
	disks := s.Resources(m2Project, "disks")
	if len(disks) != 2 || disks[0].Name != "db-1-boot" || disks[0].Body["sizeGb"] != "20" || !strings.HasSuffix(disks[1].Body["type"].(string), "/pd-balanced") {
		t.Fatalf("disks after cutover: %+v", disks)
	}
	fop, err := c.FinalizeMigration(ctx, &vmmigrationpb.FinalizeMigrationRequest{MigratingVm: mv.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	m.Advance(time.Minute)
	if st := get(t, c, mv.Name).State; st != vmmigrationpb.MigratingVm_FINALIZED {
		t.Fatalf("after finalize: %s", st)
	}
	if n := len(s.Resources(m2Project, "disks")); n != 2 {
		t.Fatalf("finalize touched the migrated disks: %d left", n)
	}
}

func TestM2VMRefusals(t *testing.T) {
	ctx := context.Background()
	s, c, src := m2Fake(t, Options{M2VM: M2VMOptions{ActiveLimit: 2}})
	m := s.M2VM()

	_, err := createMVM(t, c, "projects/"+m2Project+"/locations/europe-west1/sources/nope", "x", "vm-1", "", disksTarget(m2Zone, "", "x"))
	wantCode(t, err, codes.NotFound, "sources/nope")
	_, err = createMVM(t, c, src, "x", "vm-1", "", disksTarget("", "", "x"))
	wantCode(t, err, codes.InvalidArgument, "zone is required")
	tgt := disksTarget(m2Zone, "", "x")
	tgt.ComputeEngineDisksTargetDefaults.TargetProject = "projects/other/locations/global/targetProjects/other"
	_, err = createMVM(t, c, src, "x", "vm-1", "", tgt)
	wantCode(t, err, codes.InvalidArgument, "not a target project")
	_, err = createMVM(t, c, src, "x", "vm-1", "not-a-uuid", disksTarget(m2Zone, "", "x"))
	wantCode(t, err, codes.InvalidArgument, "UUID")
	_, err = createMVM(t, c, src, "x", "vm-2", "", disksTarget(m2Zone, "", "a", "b"))
	wantCode(t, err, codes.InvalidArgument, "no disk 1")

	// request_id: a retried create returns the first one's result, a
	// new request for the same id is refused.
	req := "0d6c2a4b-52a4-4b3e-8d0a-5d1c9b2e7f10"
	a, err := createMVM(t, c, src, "db-2", "vm-2", req, disksTarget(m2Zone, "", "db-2-boot"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := createMVM(t, c, src, "db-2", "vm-2", req, disksTarget(m2Zone, "", "db-2-boot"))
	if err != nil || b.Name != a.Name {
		t.Fatalf("retried create: %v %v", b, err)
	}
	_, err = createMVM(t, c, src, "db-2", "vm-2", "", disksTarget(m2Zone, "", "db-2-boot"))
	wantCode(t, err, codes.AlreadyExists, "db-2")

	// An unknown source VM fails verification.
	bad, err := createMVM(t, c, src, "ghost", "vm-99", "", disksTarget(m2Zone, "", "ghost"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"db-1", "db-3"} {
		if _, err := createMVM(t, c, src, id, "vm-"+id[3:], "", disksTarget(m2Zone, "", id+"-boot")); err != nil {
			t.Fatal(err)
		}
	}
	m.Advance(time.Minute)
	if g := get(t, c, bad.Name); g.State != vmmigrationpb.MigratingVm_ERROR || !strings.Contains(g.Error.GetMessage(), "vm-99") {
		t.Fatalf("unknown source VM: %s %v", g.State, g.Error)
	}
	// The per-project cap counts started, unfinalized replications.
	for _, id := range []string{"db-1", "db-2"} {
		if _, err := c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: src + "/migratingVms/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: src + "/migratingVms/db-3"})
	wantCode(t, err, codes.ResourceExhausted, "Active migrating VMs per project")
	st, _ := status.FromError(err)
	var qf *errdetails.QuotaFailure
	for _, d := range st.Details() {
		if q, ok := d.(*errdetails.QuotaFailure); ok {
			qf = q
		}
	}
	if qf == nil || len(qf.Violations) != 1 {
		t.Fatalf("quota error without QuotaFailure details: %v", st.Details())
	}
	// Deleting a replication frees a slot.
	dop, err := c.DeleteMigratingVm(ctx, &vmmigrationpb.DeleteMigratingVmRequest{Name: src + "/migratingVms/db-2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: src + "/migratingVms/db-3"}); err != nil {
		t.Fatal(err)
	}
	// Pause stops cycles; cutover of a paused VM is refused; resume goes on.
	m.Advance(time.Hour)
	name := src + "/migratingVms/db-3"
	if _, err := c.PauseMigration(ctx, &vmmigrationpb.PauseMigrationRequest{MigratingVm: name}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: name, CutoverJobId: "c"})
	wantCode(t, err, codes.FailedPrecondition, "PAUSED")
	n := len(m.MigratingVMs())
	m.Advance(10 * time.Hour)
	before := get(t, c, name).LastReplicationCycle.GetCycleNumber()
	if _, err := c.ResumeMigration(ctx, &vmmigrationpb.ResumeMigrationRequest{MigratingVm: name}); err != nil {
		t.Fatal(err)
	}
	m.Advance(10 * time.Minute)
	if after := get(t, c, name).LastReplicationCycle.GetCycleNumber(); after != before+1 || n != 3 {
		t.Fatalf("resume: cycle %d -> %d (%d VMs)", before, after, n)
	}
	// Extension pushes expiry; three at most.
	for i := 0; i < 3; i++ {
		if _, err := c.ExtendMigration(ctx, &vmmigrationpb.ExtendMigrationRequest{MigratingVm: name}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.ExtendMigration(ctx, &vmmigrationpb.ExtendMigrationRequest{MigratingVm: name})
	wantCode(t, err, codes.FailedPrecondition, "not extendable")
}

func TestM2VMFaults(t *testing.T) {
	s, c, _ := m2Fake(t, Options{})
	if err := s.Faults().Add(Fault{PathRegexp: "VmMigration/ListSources$", Status: 503, Times: 1}); err != nil {
		t.Fatal(err)
	}
	// The vmmigration client sets no retry policy: ferry's activities
	// (Temporal) retry what fails.
	req := &vmmigrationpb.ListSourcesRequest{Parent: "projects/" + m2Project + "/locations/europe-west1"}
	_, err := c.ListSources(context.Background(), req).Next()
	wantCode(t, err, codes.Unavailable, "injected")
	src, err := c.ListSources(context.Background(), req).Next()
	if err != nil || !strings.HasSuffix(src.Name, "vcenter-paris") || s.M2VM().Calls()["ListSources"] != 2 {
		t.Fatalf("list after a 503: %v %v calls=%v", src, err, s.M2VM().Calls())
	}
}

// An instance on a disk that does not exist (a replicated disk before its
// cutover job ran) is refused as the real API refuses it.
func TestInstanceOnMissingDisk(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := `{"name":"db-1","machineType":"zones/` + m2Zone + `/machineTypes/n2-standard-2","disks":[{"boot":true,"source":"https://www.googleapis.com/compute/v1/projects/` + m2Project + `/zones/` + m2Zone + `/disks/db-1-m2vm-0"}],"networkInterfaces":[{}]}`
	code, _, resp := do(t, "POST", s.ComputeEndpoint()+"projects/"+m2Project+"/zones/"+m2Zone+"/instances", body)
	if code != 404 || !strings.Contains(fmt.Sprint(resp), "db-1-m2vm-0") {
		t.Fatalf("instance on a missing disk: %d %v", code, resp)
	}
}

// A fake restarted on its state directory still holds its replications,
// jobs and operations, and catches up on what happened while it was down.
func TestM2VMStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := Options{StateDir: dir, M2VM: M2VMOptions{Verify: time.Millisecond, BytesPerSecond: 1 << 40, StepOverhead: time.Millisecond, IdleDuration: time.Hour}}
	s, c, src := m2Fake(t, opts)
	reqID := "9b1d3c2e-4f5a-4b6c-8d7e-0f1a2b3c4d5e"
	mv, err := createMVM(t, c, src, "db-1", "vm-1", reqID, disksTarget(m2Zone, "", "db-1-boot", "db-1-data-1"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := c.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: mv.Name}); err != nil {
		t.Fatal(err)
	}
	s.M2VM().Advance(time.Minute)
	if _, err := c.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: mv.Name, CutoverJobId: "cut-1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, c2, _ := m2Fake(t, opts)
	s2.M2VM().Advance(time.Minute)
	if got := get(t, c2, mv.Name); got.State != vmmigrationpb.MigratingVm_CUTOVER || got.LastReplicationCycle.GetCycleNumber() != 2 {
		t.Fatalf("after restart: %s, last cycle %d", got.State, got.LastReplicationCycle.GetCycleNumber())
	}
	if n := len(s2.Resources(m2Project, "disks")); n != 2 {
		t.Fatalf("%d disks after the cutover across a restart", n)
	}
	// The request id still answers with the first operation.
	again, err := createMVM(t, c2, src, "db-1", "vm-1", reqID, disksTarget(m2Zone, "", "db-1-boot", "db-1-data-1"))
	if err != nil || again.Name != mv.Name {
		t.Fatalf("retried create after restart: %v %v", again, err)
	}
}
