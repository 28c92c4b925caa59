package activities

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
	"github.com/ferrymigrate/ferry/traffic"
)

// TestCloneInput asks for a test clone of every VM of the app.
type TestCloneInput struct {
	Plan PlanRef `json:"plan"`
	// ProbeApp also requires the app's health check (the plan's cutover
	// health_check) to answer on each clone; off, a clone passes when its
	// instance runs on the cloned disks. Use it where the worker reaches
	// the test network.
	ProbeApp bool `json:"probeApp,omitempty"`
}

// CloneVMResult is one VM's test clone.
type CloneVMResult struct {
	VM       string        `json:"vm"`
	Job      string        `json:"job"`
	State    string        `json:"state"` // SUCCEEDED, FAILED, CANCELLED
	Duration time.Duration `json:"duration"`
	Instance string        `json:"instance,omitempty"`
	Healthy  bool          `json:"healthy"`
	Detail   string        `json:"detail"`
}

// TestCloneResult is the test clone's evidence for the cutover gate. The
// clones are deleted before it returns, whatever the outcome.
type TestCloneResult struct {
	Passed  bool            `json:"passed"`
	VMs     []CloneVMResult `json:"vms"`
	Removed []string        `json:"removed,omitempty"` // test instances and disks deleted
}

// TestClone clones every VM from its latest replication cycle into the
// plan's test network, checks the clones, then deletes them (the service
// leaves a succeeded clone's instance and disks to the caller). An active
// clone job of an earlier attempt is adopted; leftovers of one are
// deleted before a new clone starts. A clone that fails or is unhealthy
// is reported (Passed false), not returned as an error: the workflow shows
// it at the gate with the runbook test-clone-failed.
func (a *Activities) TestClone(ctx context.Context, in TestCloneInput) (res TestCloneResult, err error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return TestCloneResult{}, err
	}
	defer r.api.Close()
	if r.rs.TestNetwork == "" {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("app %s: the plan names no test network for test clones", r.spec.Name),
			string(runbooks.ReasonPlanInvalid), nil)
	}
	jobs := map[string]*vmmigrationpb.CloneJob{}
	defer func() {
		// Every path leaves no clone behind, even a cancelled activity.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		removed, cerr := a.removeClones(cctx, r, true)
		res.Removed = append(res.Removed, removed...)
		if cerr != nil && err == nil {
			err = cerr
		}
	}()
	for _, vm := range r.rs.VMs {
		name := migratingVMName(vm)
		mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		if err != nil {
			return res, m2vmError(err, "read MigratingVm "+name)
		}
		if mv.GetState() != vmmigrationpb.MigratingVm_ACTIVE {
			return res, temporal.NewApplicationError(fmt.Sprintf("app %s: VM %s replicates in state %s: a test clone needs the first sync done (ACTIVE)", r.spec.Name, vm.Name, mv.GetState()),
				string(runbooks.ReasonTestCloneFailed))
		}
		job, err := r.cloneJob(ctx, vm, mv, func() error {
			// A clone job of an earlier attempt finished, but the attempt
			// was killed before it removed the clone: its instance and
			// disks are in the way of the new job's.
			t, err := a.removeCloneTargets(ctx, r, vm)
			res.Removed = append(res.Removed, t...)
			return err
		})
		if err != nil {
			return res, err
		}
		jobs[vm.Ref] = job
	}
	err = pollJobs(ctx, r.rs.VMs, jobs,
		func(j *vmmigrationpb.CloneJob) bool {
			return j.GetState() == vmmigrationpb.CloneJob_ACTIVE || j.GetState() == vmmigrationpb.CloneJob_PENDING
		},
		func(j *vmmigrationpb.CloneJob) (*vmmigrationpb.CloneJob, error) {
			g, err := r.api.GetCloneJob(ctx, &vmmigrationpb.GetCloneJobRequest{Name: j.GetName()})
			return g, m2vmError(err, "read clone job "+j.GetName())
		},
		func() any { return jobStates(jobs) })
	if err != nil {
		return res, err
	}
	res.Passed = true
	for _, vm := range r.rs.VMs {
		j := jobs[vm.Ref]
		cr := CloneVMResult{VM: vm.Name, Job: j.GetName(), State: j.GetState().String(), Instance: gcename.CloneVM(vm.GCEName)}
		if j.GetEndTime() != nil {
			cr.Duration = j.GetEndTime().AsTime().Sub(j.GetCreateTime().AsTime())
		}
		if j.GetState() == vmmigrationpb.CloneJob_SUCCEEDED {
			cr.Healthy, cr.Detail = a.checkClone(ctx, r, vm, in.ProbeApp)
		} else {
			cr.Detail = fmt.Sprintf("clone job %s: %s", j.GetState(), j.GetError().GetMessage())
		}
		res.Passed = res.Passed && cr.Healthy
		res.VMs = append(res.VMs, cr)
	}
	activity.GetLogger(ctx).Info("test clone", "app", r.spec.Name, "passed", res.Passed)
	return res, nil
}

// pollJobs re-reads (get) the job of every VM that is still running until
// none is, heartbeating what beat returns after each round and sleeping
// ReplicationPoll between rounds.
func pollJobs[J any](ctx context.Context, vms []plan.ReplicaVM, jobs map[string]J, running func(J) bool, get func(J) (J, error), beat func() any) error {
	for {
		done := true
		for _, vm := range vms {
			if j := jobs[vm.Ref]; running(j) {
				done = false
				g, err := get(j)
				if err != nil {
					return err
				}
				jobs[vm.Ref] = g
			}
		}
		activity.RecordHeartbeat(ctx, beat())
		if done {
			return nil
		}
		if err := sleep(ctx, ReplicationPoll); err != nil {
			return err
		}
	}
}

// listAll reads every page of a vmmigration listing; what names the
// listing in the error.
func listAll[T any](all iter.Seq2[T, error], what string) ([]T, error) {
	var out []T
	for x, err := range all {
		if err != nil {
			return nil, m2vmError(err, what)
		}
		out = append(out, x)
	}
	return out, nil
}

func jobStates(jobs map[string]*vmmigrationpb.CloneJob) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(jobs)) {
		out = append(out, lastPart(jobs[k].GetName())+" "+jobs[k].GetState().String())
	}
	return out
}

// cloneJob adopts vm's active clone job, or clears the leftovers of an
// earlier one, points the target at the test network and starts a new one.
func (r *replication) cloneJob(ctx context.Context, vm plan.ReplicaVM, mv *vmmigrationpb.MigratingVm, clearStale func() error) (*vmmigrationpb.CloneJob, error) {
	var all []*vmmigrationpb.CloneJob
	for j, err := range r.api.ListCloneJobs(ctx, &vmmigrationpb.ListCloneJobsRequest{Parent: mv.GetName()}).All() {
		if err != nil {
			return nil, m2vmError(err, "list clone jobs of "+mv.GetName())
		}
		if j.GetState() == vmmigrationpb.CloneJob_ACTIVE || j.GetState() == vmmigrationpb.CloneJob_PENDING {
			return j, nil // a killed attempt's: adopted
		}
		all = append(all, j)
	}
	if len(all) > 0 {
		if err := clearStale(); err != nil {
			return nil, err
		}
	}
	if err := r.setTarget(ctx, vm, true); err != nil {
		return nil, err
	}
	n := len(all) + 1
	op, err := r.api.CreateCloneJob(ctx, &vmmigrationpb.CreateCloneJobRequest{Parent: mv.GetName(),
		CloneJobId: fmt.Sprintf("ferry-test-%d", n), RequestId: r.requestID(vm, fmt.Sprintf("clone-%d", n)), CloneJob: &vmmigrationpb.CloneJob{}})
	if err != nil {
		return nil, m2vmError(err, "create clone job of "+mv.GetName())
	}
	return op.Wait(ctx)
}

// setTarget points vm's target defaults at the test clone or back at the
// cutover's disks (a no-op when they already are).
func (r *replication) setTarget(ctx context.Context, vm plan.ReplicaVM, clone bool) error {
	name := migratingVMName(vm)
	op, err := r.api.UpdateMigratingVm(ctx, &vmmigrationpb.UpdateMigratingVmRequest{
		MigratingVm: &vmmigrationpb.MigratingVm{Name: name, TargetVmDefaults: r.target(vm, clone)},
		UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"compute_engine_disks_target_defaults"}}})
	if err != nil {
		return m2vmError(err, "set the target of "+name)
	}
	_, err = op.Wait(ctx)
	return m2vmError(err, "set the target of "+name)
}

// checkClone reads the clone's instance (and probes the app when asked).
func (a *Activities) checkClone(ctx context.Context, r *replication, vm plan.ReplicaVM, probe bool) (bool, string) {
	spec := r.spec
	spec.VMs = []plan.VMSpec{{Ref: vm.Ref, Name: vm.Name, GCEName: gcename.CloneVM(vm.GCEName), Zone: r.zone(vm)}}
	insts, err := a.instances(ctx, spec)
	if err != nil {
		return false, err.Error()
	}
	in := insts[0]
	if in.Status != "RUNNING" {
		return false, fmt.Sprintf("%s: GCE status %s, want RUNNING", in.Name, in.Status)
	}
	if !probe {
		return true, fmt.Sprintf("%s: RUNNING on the cloned disks in network %s", in.Name, r.rs.TestNetwork)
	}
	h := traffic.NewProbe(a.Traffic).CheckInstances(ctx, r.spec.Cutover.HealthCheck, insts)[0]
	return h.Healthy, h.Detail
}

// CutoverVMResult is one VM's cutover job.
type CutoverVMResult struct {
	VM                string        `json:"vm"`
	Job               string        `json:"job"`
	State             string        `json:"state"`
	Adopted           bool          `json:"adopted,omitempty"`
	Duration          time.Duration `json:"duration"`
	FinalSyncBytes    int64         `json:"finalSyncBytes"`
	FinalSyncDuration time.Duration `json:"finalSyncDuration"`
	Disks             []string      `json:"disks"` // selfLinks, source disk order: what terraform attaches
}

// CutoverReplicationResult is the cutover jobs' evidence.
type CutoverReplicationResult struct {
	VMs      []CutoverVMResult `json:"vms"`
	Duration time.Duration     `json:"duration"` // the longest job
}

// CutoverReplication runs every VM's cutover job (M2VM shuts the source
// down, runs the final sync and creates the disks terraform attaches) and
// waits for them, heartbeating their progress. A job already running or
// done (a killed attempt's) is adopted. Run it inside the cutover, before
// terraform creates the instances and before the first traffic shift. A
// failed or cancelled job fails without retry as cutover-job-failed; the
// source VMs are then off: the rollback powers them on.
func (a *Activities) CutoverReplication(ctx context.Context, in ReplicationInput) (CutoverReplicationResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return CutoverReplicationResult{}, err
	}
	defer r.api.Close()
	var res CutoverReplicationResult
	jobs := map[string]*vmmigrationpb.CutoverJob{}
	adopted := map[string]bool{}
	for _, vm := range r.rs.VMs {
		j, ad, err := r.cutoverJob(ctx, vm)
		if err != nil {
			return res, err
		}
		jobs[vm.Ref], adopted[vm.Ref] = j, ad
	}
	err = pollJobs(ctx, r.rs.VMs, jobs,
		func(j *vmmigrationpb.CutoverJob) bool {
			return j.GetState() == vmmigrationpb.CutoverJob_ACTIVE || j.GetState() == vmmigrationpb.CutoverJob_PENDING || j.GetState() == vmmigrationpb.CutoverJob_CANCELLING
		},
		func(j *vmmigrationpb.CutoverJob) (*vmmigrationpb.CutoverJob, error) {
			g, err := r.api.GetCutoverJob(ctx, &vmmigrationpb.GetCutoverJobRequest{Name: j.GetName()})
			return g, m2vmError(err, "read cutover job "+j.GetName())
		},
		func() any {
			var progress []string
			for _, vm := range r.rs.VMs {
				progress = append(progress, fmt.Sprintf("%s %s %d%%", vm.Name, jobs[vm.Ref].GetState(), jobs[vm.Ref].GetProgressPercent()))
			}
			return progress
		})
	if err != nil {
		return res, err
	}
	var failed []string
	for _, vm := range r.rs.VMs {
		j := jobs[vm.Ref]
		cr := CutoverVMResult{VM: vm.Name, Job: j.GetName(), State: j.GetState().String(), Adopted: adopted[vm.Ref]}
		if j.GetEndTime() != nil {
			cr.Duration = j.GetEndTime().AsTime().Sub(j.GetCreateTime().AsTime())
		}
		for _, s := range j.GetSteps() {
			if f := s.GetFinalSync(); f != nil {
				cr.FinalSyncBytes = copied(f).total
				if s.GetEndTime() != nil {
					cr.FinalSyncDuration = s.GetEndTime().AsTime().Sub(s.GetStartTime().AsTime())
				}
			}
		}
		for _, d := range j.GetComputeEngineDisksTargetDetails().GetDisks() {
			cr.Disks = append(cr.Disks, d.GetDiskUri())
		}
		if j.GetState() != vmmigrationpb.CutoverJob_SUCCEEDED {
			failed = append(failed, fmt.Sprintf("%s: %s %s", vm.Name, j.GetState(), j.GetError().GetMessage()))
		}
		res.Duration = max(res.Duration, cr.Duration)
		res.VMs = append(res.VMs, cr)
	}
	if len(failed) > 0 {
		return res, temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("app %s: cutover job failed: %s (the sources are shut down; roll back to power them on; runbook: %s)",
				r.spec.Name, strings.Join(failed, "; "), runbooks.Link(runbooks.ReasonCutoverJobFailed)),
			string(runbooks.ReasonCutoverJobFailed), temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{res}})
	}
	activity.GetLogger(ctx).Info("cutover jobs done", "app", r.spec.Name, "longest", res.Duration)
	return res, nil
}

// cutoverJob adopts vm's running or finished cutover job, or starts one.
func (r *replication) cutoverJob(ctx context.Context, vm plan.ReplicaVM) (*vmmigrationpb.CutoverJob, bool, error) {
	name := migratingVMName(vm)
	mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
	if err != nil {
		return nil, false, m2vmError(err, "read MigratingVm "+name)
	}
	all, err := listAll(r.api.ListCutoverJobs(ctx, &vmmigrationpb.ListCutoverJobsRequest{Parent: name}).All(), "list cutover jobs of "+name)
	if err != nil {
		return nil, false, err
	}
	for _, j := range all {
		switch j.GetState() {
		case vmmigrationpb.CutoverJob_PENDING, vmmigrationpb.CutoverJob_ACTIVE, vmmigrationpb.CutoverJob_CANCELLING:
			return j, true, nil
		case vmmigrationpb.CutoverJob_SUCCEEDED:
			if mv.GetState() == vmmigrationpb.MigratingVm_CUTOVER || mv.GetState() == vmmigrationpb.MigratingVm_FINALIZING || mv.GetState() == vmmigrationpb.MigratingVm_FINALIZED {
				return j, true, nil
			}
		}
	}
	if mv.GetState() != vmmigrationpb.MigratingVm_ACTIVE {
		return nil, false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %s: VM %s replicates in state %s; a cutover job needs ACTIVE (first sync done, not paused)", r.spec.Name, vm.Name, mv.GetState()),
			string(runbooks.ReasonCutoverJobFailed), nil)
	}
	// A clone must not run during the cutover, and its target must not be
	// the cutover's.
	if _, err := r.cancelClones(ctx, name); err != nil {
		return nil, false, err
	}
	if err := r.setTarget(ctx, vm, false); err != nil {
		return nil, false, err
	}
	n := len(all) + 1
	op, err := r.api.CreateCutoverJob(ctx, &vmmigrationpb.CreateCutoverJobRequest{Parent: name,
		CutoverJobId: fmt.Sprintf("ferry-cutover-%d", n), RequestId: r.requestID(vm, fmt.Sprintf("cutover-%d", n)), CutoverJob: &vmmigrationpb.CutoverJob{}})
	if status.Code(err) == codes.AlreadyExists {
		// A disk with the target's name: typically kept by an earlier
		// run's rollback (rollback = "keep"), or made by hand.
		return nil, false, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"Migrate to Virtual Machines: the cutover job of %s cannot create its disks: %s; a disk of that name is left from an earlier run (rollback = \"keep\" keeps them) or was made by hand: delete it if no instance uses it, then retry (runbook: %s)",
			name, status.Convert(err).Message(), runbooks.Link(runbooks.ReasonCutoverJobFailed)), string(runbooks.ReasonCutoverJobFailed), nil)
	}
	if err != nil {
		return nil, false, m2vmError(err, "create cutover job of "+name)
	}
	j, err := op.Wait(ctx)
	return j, false, m2vmError(err, "create cutover job of "+name)
}

// FinalizeReplicationResult lists each VM's state after the request.
type FinalizeReplicationResult struct {
	VMs []ReplicaVMState `json:"vms"`
}

// FinalizeReplication finalizes every cut-over VM (decommission): M2VM
// frees the replication; the disks stay. Finalized VMs are left as they
// are; a VM not cut over fails without retry.
func (a *Activities) FinalizeReplication(ctx context.Context, in ReplicationInput) (FinalizeReplicationResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return FinalizeReplicationResult{}, err
	}
	defer r.api.Close()
	var res FinalizeReplicationResult
	for _, vm := range r.rs.VMs {
		name := migratingVMName(vm)
		mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		if err != nil {
			return res, m2vmError(err, "read MigratingVm "+name)
		}
		st := ReplicaVMState{VM: vm.Name, MigratingVM: name, State: mv.GetState().String()}
		switch mv.GetState() {
		case vmmigrationpb.MigratingVm_FINALIZING, vmmigrationpb.MigratingVm_FINALIZED:
			st.Adopted = true
		case vmmigrationpb.MigratingVm_CUTOVER:
			op, err := r.api.FinalizeMigration(ctx, &vmmigrationpb.FinalizeMigrationRequest{MigratingVm: name})
			if err == nil {
				_, err = op.Wait(ctx)
			}
			if err != nil {
				return res, m2vmError(err, "finalize "+name)
			}
			st.State = vmmigrationpb.MigratingVm_FINALIZING.String()
		default:
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("app %s: VM %s is %s, not cut over: nothing to finalize", r.spec.Name, vm.Name, mv.GetState()),
				string(runbooks.ReasonReplicationFailed), nil)
		}
		res.VMs = append(res.VMs, st)
	}
	return res, nil
}

// ExtendReplicationInput extends migrations that expire soon.
type ExtendReplicationInput struct {
	Plan PlanRef `json:"plan"`
	// Within: extend those expiring within this long (default 30 days).
	Within time.Duration `json:"within,omitempty"`
}

// ExtendReplicationResult lists the migrations extended, with their new
// expiry.
type ExtendReplicationResult struct {
	Extended []string `json:"extended,omitempty"` // "VM until 2027-…"
}

// ExtendReplication extends every replicating VM whose migration expires
// within in.Within; M2VM stops replicating an expired one.
func (a *Activities) ExtendReplication(ctx context.Context, in ExtendReplicationInput) (ExtendReplicationResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return ExtendReplicationResult{}, err
	}
	defer r.api.Close()
	within := in.Within
	if within <= 0 {
		within = 30 * 24 * time.Hour
	}
	var res ExtendReplicationResult
	for _, vm := range r.rs.VMs {
		name := migratingVMName(vm)
		mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return res, m2vmError(err, "read MigratingVm "+name)
		}
		exp := mv.GetExpiration()
		if exp.GetExpireTime() == nil || time.Until(exp.GetExpireTime().AsTime()) > within || !counted(mv.GetState()) && mv.GetState() != vmmigrationpb.MigratingVm_EXPIRED {
			continue
		}
		if !exp.GetExtendable() {
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("app %s: the migration of VM %s expires %s and cannot be extended again: cut over before then", r.spec.Name, vm.Name, exp.GetExpireTime().AsTime().Format(time.RFC3339)),
				string(runbooks.ReasonReplicationFailed), nil)
		}
		op, err := r.api.ExtendMigration(ctx, &vmmigrationpb.ExtendMigrationRequest{MigratingVm: name})
		if err == nil {
			_, err = op.Wait(ctx)
		}
		if err != nil {
			return res, m2vmError(err, "extend "+name)
		}
		mv, err = r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		if err != nil {
			return res, m2vmError(err, "read MigratingVm "+name)
		}
		res.Extended = append(res.Extended, vm.Name+" until "+mv.GetExpiration().GetExpireTime().AsTime().Format(time.DateOnly))
	}
	return res, nil
}
