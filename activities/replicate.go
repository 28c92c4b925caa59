package activities

// Replication with Migrate to Virtual Machines (data = "replicate"): every
// VM of the app gets a MigratingVm with a disks-only target, replicated in
// cycles until the cutover job's final sync; terraform then creates the
// instances on the cut-over disks (gcename.ReplicaDisk).
//
// Idempotency: a MigratingVm's id comes from the VM's GCE name, so any
// workflow run, activity attempt or worker adopts the one that exists; the
// request_id of every create is a UUID derived from the workflow ID, the VM
// and the verb, so a create retried after a lost answer returns the first
// one's operation. Jobs are found before they are created (an active
// clone or cutover job is adopted, never duplicated).
//
// The activities return their evidence in results; none keeps state
// between calls: the API is the record.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	vmmigration "cloud.google.com/go/vmmigration/apiv1"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"github.com/googleapis/gax-go/v2"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// m2vmAPI is the part of the Migrate to Virtual Machines client ferry uses.
type m2vmAPI interface {
	ListSources(context.Context, *vmmigrationpb.ListSourcesRequest, ...gax.CallOption) *vmmigration.SourceIterator
	ListMigratingVms(context.Context, *vmmigrationpb.ListMigratingVmsRequest, ...gax.CallOption) *vmmigration.MigratingVmIterator
	GetMigratingVm(context.Context, *vmmigrationpb.GetMigratingVmRequest, ...gax.CallOption) (*vmmigrationpb.MigratingVm, error)
	CreateMigratingVm(context.Context, *vmmigrationpb.CreateMigratingVmRequest, ...gax.CallOption) (*vmmigration.CreateMigratingVmOperation, error)
	UpdateMigratingVm(context.Context, *vmmigrationpb.UpdateMigratingVmRequest, ...gax.CallOption) (*vmmigration.UpdateMigratingVmOperation, error)
	DeleteMigratingVm(context.Context, *vmmigrationpb.DeleteMigratingVmRequest, ...gax.CallOption) (*vmmigration.DeleteMigratingVmOperation, error)
	StartMigration(context.Context, *vmmigrationpb.StartMigrationRequest, ...gax.CallOption) (*vmmigration.StartMigrationOperation, error)
	PauseMigration(context.Context, *vmmigrationpb.PauseMigrationRequest, ...gax.CallOption) (*vmmigration.PauseMigrationOperation, error)
	ResumeMigration(context.Context, *vmmigrationpb.ResumeMigrationRequest, ...gax.CallOption) (*vmmigration.ResumeMigrationOperation, error)
	FinalizeMigration(context.Context, *vmmigrationpb.FinalizeMigrationRequest, ...gax.CallOption) (*vmmigration.FinalizeMigrationOperation, error)
	ExtendMigration(context.Context, *vmmigrationpb.ExtendMigrationRequest, ...gax.CallOption) (*vmmigration.ExtendMigrationOperation, error)
	ListReplicationCycles(context.Context, *vmmigrationpb.ListReplicationCyclesRequest, ...gax.CallOption) *vmmigration.ReplicationCycleIterator
	CreateCloneJob(context.Context, *vmmigrationpb.CreateCloneJobRequest, ...gax.CallOption) (*vmmigration.CreateCloneJobOperation, error)
	GetCloneJob(context.Context, *vmmigrationpb.GetCloneJobRequest, ...gax.CallOption) (*vmmigrationpb.CloneJob, error)
	ListCloneJobs(context.Context, *vmmigrationpb.ListCloneJobsRequest, ...gax.CallOption) *vmmigration.CloneJobIterator
	CancelCloneJob(context.Context, *vmmigrationpb.CancelCloneJobRequest, ...gax.CallOption) (*vmmigration.CancelCloneJobOperation, error)
	CreateCutoverJob(context.Context, *vmmigrationpb.CreateCutoverJobRequest, ...gax.CallOption) (*vmmigration.CreateCutoverJobOperation, error)
	GetCutoverJob(context.Context, *vmmigrationpb.GetCutoverJobRequest, ...gax.CallOption) (*vmmigrationpb.CutoverJob, error)
	ListCutoverJobs(context.Context, *vmmigrationpb.ListCutoverJobsRequest, ...gax.CallOption) *vmmigration.CutoverJobIterator
	CancelCutoverJob(context.Context, *vmmigrationpb.CancelCutoverJobRequest, ...gax.CallOption) (*vmmigration.CancelCutoverJobOperation, error)
	Close() error
}

var _ m2vmAPI = (*vmmigration.Client)(nil)

// ReplicationPoll is how often the replication activities read a job or a
// MigratingVm they wait for (each read heartbeats).
var ReplicationPoll = 10 * time.Second

// ReplicationInput names the app whose VMs replicate.
type ReplicationInput struct {
	Plan PlanRef `json:"plan"`
}

// ReplicaVMState is one VM's MigratingVm as ferry reports it.
type ReplicaVMState struct {
	VM          string `json:"vm"`          // vCenter name
	MigratingVM string `json:"migratingVm"` // resource name
	State       string `json:"state"`       // the service's: PENDING, READY, FIRST_SYNC, ACTIVE, PAUSED, CUTTING_OVER, FINAL_SYNC, CUTOVER, FINALIZING, FINALIZED, ERROR, EXPIRED
	Adopted     bool   `json:"adopted,omitempty"`
	Waiting     string `json:"waiting,omitempty"` // why it is not started yet (a cap)
}

// StartReplicationResult says where each VM's replication stands.
type StartReplicationResult struct {
	VMs []ReplicaVMState `json:"vms"`
}

// replication is one app's replication context.
type replication struct {
	spec plan.AppSpec
	rs   *plan.ReplicateSpec
	api  m2vmAPI
	wf   string // workflow ID and run ID: request ids derive from them
}

func (a *Activities) replication(ctx context.Context, ref PlanRef) (*replication, error) {
	spec, err := a.spec(ctx, ref)
	if err != nil {
		return nil, err
	}
	rs := spec.Data.Replicate
	if spec.Data.Strategy != plan.DataReplicate || rs == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s does not replicate its disks (data = %q in the reviewed plan)", spec.Name, spec.Data.Strategy),
			string(runbooks.ReasonPlanInvalid), nil)
	}
	api, err := vmmigration.NewClient(ctx, a.GCP.VMMigrationOptions()...)
	if err != nil {
		return nil, temporal.NewApplicationError("Migrate to Virtual Machines client: "+err.Error(), string(runbooks.ReasonGCPAPI))
	}
	// Request ids are per run: a migration started again after a rollback
	// (same workflow id) must not be answered with the operations of the
	// abandoned run's requests.
	we := activity.GetInfo(ctx).WorkflowExecution
	return &replication{spec: spec, rs: rs, api: api, wf: we.ID + "/" + we.RunID}, nil
}

// migratingVMName is the resource name of vm's MigratingVm.
func migratingVMName(vm plan.ReplicaVM) string {
	return vm.Source + "/migratingVms/" + gcename.Name("ferry-"+vm.GCEName, nil)
}

// requestID is a UUID (RFC 4122 form, version 5 bits) derived from the
// workflow run, the VM and what the request does: a retried request carries
// the same id and the service answers it with the first one's operation.
func (r *replication) requestID(vm plan.ReplicaVM, verb string) string {
	h := sha256.Sum256([]byte(r.wf + "\x00" + vm.Ref + "\x00" + verb))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (r *replication) vmSpec(ref string) plan.VMSpec {
	for _, v := range r.spec.VMs {
		if v.Ref == ref {
			return v
		}
	}
	return plan.VMSpec{}
}

func (r *replication) zone(vm plan.ReplicaVM) string {
	if z := r.vmSpec(vm.Ref).Zone; z != "" {
		return z
	}
	return r.spec.Zone
}

var diskTypes = map[string]vmmigrationpb.ComputeEngineDiskType{
	"pd-standard": vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_STANDARD,
	"pd-balanced": vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_BALANCED,
	"pd-ssd":      vmmigrationpb.ComputeEngineDiskType_COMPUTE_ENGINE_DISK_TYPE_SSD,
}

// target is vm's disks-only target (the cutover's), or with clone set the
// test clone's: a VM in the test network on disks with test names.
func (r *replication) target(vm plan.ReplicaVM, clone bool) *vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults {
	vs := r.vmSpec(vm.Ref)
	d := &vmmigrationpb.ComputeEngineDisksTargetDefaults{
		TargetProject: r.rs.TargetProject,
		Location:      &vmmigrationpb.ComputeEngineDisksTargetDefaults_Zone{Zone: r.zone(vm)},
		VmTarget:      &vmmigrationpb.ComputeEngineDisksTargetDefaults_DisksTargetDefaults{DisksTargetDefaults: &vmmigrationpb.DisksMigrationDisksTargetDefaults{}},
	}
	labels := map[string]string{"ferry-app": gcename.Name(r.spec.Name, nil)}
	for i := 0; i < vm.Disks; i++ {
		name := gcename.ReplicaDisk(vm.GCEName, i)
		if clone {
			name = gcename.CloneDisk(vm.GCEName, i)
		}
		d.Disks = append(d.Disks, &vmmigrationpb.PersistentDiskDefaults{SourceDiskNumber: int32(i), DiskName: name,
			DiskType: diskTypes[vs.DiskType], AdditionalLabels: labels})
	}
	if clone {
		d.VmTarget = &vmmigrationpb.ComputeEngineDisksTargetDefaults_VmTargetDefaults{VmTargetDefaults: &vmmigrationpb.DisksMigrationVmTargetDefaults{
			VmName: gcename.CloneVM(vm.GCEName), MachineType: vs.MachineType,
			NetworkInterfaces: []*vmmigrationpb.NetworkInterface{{Network: r.rs.TestNetwork, Subnetwork: r.rs.TestSubnetwork}},
			Labels:            map[string]string{"ferry-app": labels["ferry-app"], "ferry-role": "test-clone"},
		}}
	}
	return &vmmigrationpb.MigratingVm_ComputeEngineDisksTargetDefaults{ComputeEngineDisksTargetDefaults: d}
}

// labels mark where the VM runs in the datacenter, so that any worker can
// count replications per host and datastore from the API alone.
func (r *replication) labels(vm plan.ReplicaVM) map[string]string {
	l := map[string]string{"ferry-app": gcename.Name(r.spec.Name, nil), "ferry-vm": gcename.Name(vm.Ref, nil)}
	if vm.Host != "" {
		l["ferry-host"] = gcename.Name(vm.Host, nil)
	}
	for _, ds := range vm.Datastores {
		l[gcename.Name("ferry-ds-"+ds, nil)] = "1"
	}
	return l
}

// StartReplication creates (or adopts) every VM's MigratingVm, waits
// until the service verified each source VM, and starts replication where
// the estate-wide caps allow. VMs held by a cap are reported in the result
// and the activity fails with the retryable reason replication-capacity,
// so that the workflow's retry policy starts them when others finish; the
// started ones are adopted on the next attempt.
func (a *Activities) StartReplication(ctx context.Context, in ReplicationInput) (StartReplicationResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return StartReplicationResult{}, err
	}
	defer r.api.Close()
	var res StartReplicationResult
	var waiting []string
	for _, vm := range r.rs.VMs {
		st, err := r.startOne(ctx, vm)
		res.VMs = append(res.VMs, st)
		activity.RecordHeartbeat(ctx, res)
		if err != nil {
			return res, err
		}
		if st.Waiting != "" {
			waiting = append(waiting, st.VM+": "+st.Waiting)
		}
	}
	if len(waiting) > 0 {
		return res, temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("app %s: replication of %d VM(s) waits for capacity: %s (it starts when other replications finish; runbook: %s)",
				r.spec.Name, len(waiting), strings.Join(waiting, "; "), runbooks.Link(runbooks.ReasonReplicationCapacity)),
			string(runbooks.ReasonReplicationCapacity), temporal.ApplicationErrorOptions{Details: []any{res}})
	}
	activity.GetLogger(ctx).Info("replication started", "app", r.spec.Name, "vms", len(res.VMs))
	return res, nil
}

func (r *replication) startOne(ctx context.Context, vm plan.ReplicaVM) (ReplicaVMState, error) {
	name := migratingVMName(vm)
	st := ReplicaVMState{VM: vm.Name, MigratingVM: name}
	mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
		st.Adopted = true
	case codes.NotFound:
		mv, err = r.create(ctx, vm)
		if err != nil {
			return st, err
		}
	default:
		return st, m2vmError(err, "read MigratingVm "+name)
	}
	if mv.GetSourceVmId() != vm.Ref {
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("MigratingVm %s replicates source VM %q, not %s (%s): it is not this app's; rename or delete it", name, mv.GetSourceVmId(), vm.Ref, vm.Name),
			string(runbooks.ReasonReplicationFailed), nil)
	}
	for mv.GetState() == vmmigrationpb.MigratingVm_PENDING {
		if err := sleep(ctx, ReplicationPoll); err != nil {
			return st, err
		}
		activity.RecordHeartbeat(ctx, st)
		if mv, err = r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name}); err != nil {
			return st, m2vmError(err, "read MigratingVm "+name)
		}
	}
	st.State = mv.GetState().String()
	switch mv.GetState() {
	case vmmigrationpb.MigratingVm_READY, vmmigrationpb.MigratingVm_PAUSED:
		return r.startIfCapacity(ctx, vm, mv, st)
	case vmmigrationpb.MigratingVm_EXPIRED:
		if _, err := r.api.ExtendMigration(ctx, &vmmigrationpb.ExtendMigrationRequest{MigratingVm: name}); err != nil {
			return st, m2vmError(err, "extend "+name)
		}
		return r.startOne(ctx, vm)
	case vmmigrationpb.MigratingVm_ERROR:
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("MigratingVm %s (VM %s) failed: %s; fix the source (connector, VM, disks), then delete the MigratingVm and retry",
				name, vm.Name, mv.GetError().GetMessage()), string(runbooks.ReasonReplicationFailed), nil)
	case vmmigrationpb.MigratingVm_FINALIZING, vmmigrationpb.MigratingVm_FINALIZED, vmmigrationpb.MigratingVm_FINALIZED_EXPIRED:
		return st, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("MigratingVm %s (VM %s) is already %s: a finished migration cannot replicate again; delete it to start over", name, vm.Name, mv.GetState()),
			string(runbooks.ReasonReplicationFailed), nil)
	}
	return st, nil // replicating or further along: adopted as it is
}

func (r *replication) create(ctx context.Context, vm plan.ReplicaVM) (*vmmigrationpb.MigratingVm, error) {
	name := migratingVMName(vm)
	op, err := r.api.CreateMigratingVm(ctx, &vmmigrationpb.CreateMigratingVmRequest{
		Parent: vm.Source, MigratingVmId: lastPart(name), RequestId: r.requestID(vm, "create"),
		MigratingVm: &vmmigrationpb.MigratingVm{SourceVmId: vm.Ref, DisplayName: vm.Name,
			Description:      fmt.Sprintf("ferry: app %s, VM %s", r.spec.Name, vm.Name),
			Labels:           r.labels(vm),
			TargetVmDefaults: r.target(vm, false)},
	})
	if status.Code(err) == codes.AlreadyExists {
		mv, gerr := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		return mv, m2vmError(gerr, "read MigratingVm "+name)
	}
	if err != nil {
		return nil, m2vmError(err, fmt.Sprintf("create MigratingVm for VM %s in %s", vm.Name, vm.Source))
	}
	mv, err := op.Wait(ctx)
	return mv, m2vmError(err, "create MigratingVm "+name)
}

// startIfCapacity starts (or resumes) a READY (PAUSED) replication when
// every cap has room; a start that raced past a cap is paused again.
func (r *replication) startIfCapacity(ctx context.Context, vm plan.ReplicaVM, mv *vmmigrationpb.MigratingVm, st ReplicaVMState) (ReplicaVMState, error) {
	name := mv.GetName()
	est, err := r.census(ctx)
	if err != nil {
		return st, err
	}
	if why := est.full(r.rs.Limits, vm, name); why != "" {
		st.Waiting = why
		return st, nil
	}
	if mv.GetState() == vmmigrationpb.MigratingVm_PAUSED {
		_, err = r.api.ResumeMigration(ctx, &vmmigrationpb.ResumeMigrationRequest{MigratingVm: name})
	} else {
		_, err = r.api.StartMigration(ctx, &vmmigrationpb.StartMigrationRequest{MigratingVm: name})
	}
	if status.Code(err) == codes.ResourceExhausted {
		st.Waiting = "the project's quota of active replications is used up (" + status.Convert(err).Message() + ")"
		return st, nil
	}
	if err != nil {
		return st, m2vmError(err, "start replication of "+name)
	}
	// Another worker may have started one in the same instant: recount,
	// and the youngest over a cap steps back (pauses) until there is room.
	est, err = r.census(ctx)
	if err != nil {
		return st, err
	}
	if why := est.over(r.rs.Limits, vm, name); why != "" {
		if _, err := r.api.PauseMigration(ctx, &vmmigrationpb.PauseMigrationRequest{MigratingVm: name}); err != nil {
			return st, m2vmError(err, "pause "+name)
		}
		st.State, st.Waiting = vmmigrationpb.MigratingVm_PAUSED.String(), why
		return st, nil
	}
	st.State = vmmigrationpb.MigratingVm_FIRST_SYNC.String()
	return st, nil
}

// m2vmError classifies an API error: what retrying cannot fix is not
// retried; the rest is, as gcp-api-error.
func m2vmError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := fmt.Sprintf("Migrate to Virtual Machines: %s: %s", what, status.Convert(err).Message())
	switch status.Code(err) {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated, codes.FailedPrecondition:
		return temporal.NewNonRetryableApplicationError(msg, string(runbooks.ReasonReplicationFailed), nil)
	}
	return temporal.NewApplicationError(msg, string(runbooks.ReasonGCPAPI))
}

func lastPart(name string) string { return name[strings.LastIndex(name, "/")+1:] }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Names of the replication activities (the methods), for test doubles
// registered by name.
const (
	StartReplicationName    = "StartReplication"
	ReplicationStatusName   = "ReplicationStatus"
	TestCloneName           = "TestClone"
	CutoverReplicationName  = "CutoverReplication"
	FinalizeReplicationName = "FinalizeReplication"
	ExtendReplicationName   = "ExtendReplication"
	CleanupReplicationName  = "CleanupReplication"
)
