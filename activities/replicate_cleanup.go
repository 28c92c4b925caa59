package activities

import (
	"context"
	"errors"
	"fmt"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"github.com/googleapis/gax-go/v2/apierror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ferrymigrate/ferry/gcename"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// CleanupReplicationInput says how much of the app's replication to
// remove. With neither flag only test-clone leftovers go: run it on every
// path (success, failure, cancel) — it is idempotent.
type CleanupReplicationInput struct {
	Plan PlanRef `json:"plan"`
	// Abandon also cancels running cutover jobs and deletes the app's
	// MigratingVms that are not finalized (rollback, cancelled migration):
	// replication stops and frees its capacity.
	Abandon bool `json:"abandon,omitempty"`
	// DeleteDisks also deletes the cut-over disks that no instance uses
	// (rollback with the destroy policy, after terraform destroy).
	DeleteDisks bool `json:"deleteDisks,omitempty"`
}

// CleanupReplicationResult lists what was removed and what was kept (and
// why).
type CleanupReplicationResult struct {
	Removed []string `json:"removed,omitempty"`
	Kept    []string `json:"kept,omitempty"`
}

// CleanupReplication removes the app's replication leftovers: clone jobs
// still running, test instances and their disks, and, as asked, the
// replication itself and its unused disks.
func (a *Activities) CleanupReplication(ctx context.Context, in CleanupReplicationInput) (CleanupReplicationResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return CleanupReplicationResult{}, err
	}
	defer r.api.Close()
	var res CleanupReplicationResult
	removed, err := a.removeClones(ctx, r, !in.Abandon)
	res.Removed = append(res.Removed, removed...)
	if err != nil {
		return res, err
	}
	if in.Abandon {
		for _, vm := range r.rs.VMs {
			name := migratingVMName(vm)
			mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
			if status.Code(err) == codes.NotFound {
				continue
			}
			if err != nil {
				return res, cleanupError(err, "read "+name)
			}
			switch mv.GetState() {
			case vmmigrationpb.MigratingVm_FINALIZING, vmmigrationpb.MigratingVm_FINALIZED, vmmigrationpb.MigratingVm_FINALIZED_EXPIRED:
				res.Kept = append(res.Kept, name+" (finalized)")
				continue
			}
			for j, err := range r.api.ListCutoverJobs(ctx, &vmmigrationpb.ListCutoverJobsRequest{Parent: name}).All() {
				if err != nil {
					return res, cleanupError(err, "list cutover jobs of "+name)
				}
				if j.GetState() == vmmigrationpb.CutoverJob_ACTIVE || j.GetState() == vmmigrationpb.CutoverJob_PENDING {
					if op, err := r.api.CancelCutoverJob(ctx, &vmmigrationpb.CancelCutoverJobRequest{Name: j.GetName()}); err != nil {
						return res, cleanupError(err, "cancel "+j.GetName())
					} else if _, err := op.Wait(ctx); err != nil {
						return res, cleanupError(err, "cancel "+j.GetName())
					}
					res.Removed = append(res.Removed, "cutover job "+j.GetName()+" (cancelled)")
				}
			}
			op, err := r.api.DeleteMigratingVm(ctx, &vmmigrationpb.DeleteMigratingVmRequest{Name: name})
			if err == nil {
				err = op.Wait(ctx)
			}
			if err != nil && status.Code(err) != codes.NotFound {
				return res, cleanupError(err, "delete "+name)
			}
			res.Removed = append(res.Removed, "MigratingVm "+name)
		}
	}
	if in.DeleteDisks {
		g := a.gcpFor(r.spec)
		dc, err := compute.NewDisksRESTClient(ctx, g.ComputeOptions()...)
		if err != nil {
			return res, cleanupError(err, "compute client")
		}
		defer dc.Close()
		for _, vm := range r.rs.VMs {
			for i := 0; i < vm.Disks; i++ {
				disk := gcename.ReplicaDisk(vm.GCEName, i)
				d, err := dc.Get(ctx, &computepb.GetDiskRequest{Project: g.Project, Zone: r.zone(vm), Disk: disk})
				if notFound(err) {
					continue
				}
				if err != nil {
					return res, cleanupError(err, "read disk "+disk)
				}
				if len(d.GetUsers()) > 0 {
					res.Kept = append(res.Kept, fmt.Sprintf("disk %s (used by %s: destroy the instance first)", disk, lastPart(d.GetUsers()[0])))
					continue
				}
				if err := deleteOp(ctx, func() (*compute.Operation, error) {
					return dc.Delete(ctx, &computepb.DeleteDiskRequest{Project: g.Project, Zone: r.zone(vm), Disk: disk})
				}); err != nil {
					return res, cleanupError(err, "delete disk "+disk)
				}
				res.Removed = append(res.Removed, "disk "+disk)
			}
		}
	}
	activity.GetLogger(ctx).Info("replication cleanup", "app", r.spec.Name, "removed", len(res.Removed), "kept", len(res.Kept))
	return res, nil
}

// removeClones cancels running clone jobs and deletes every VM's test
// instance and test disks; with restore it points the targets back at the
// cutover's disks.
func (a *Activities) removeClones(ctx context.Context, r *replication, restore bool) ([]string, error) {
	var removed []string
	for _, vm := range r.rs.VMs {
		name := migratingVMName(vm)
		c, err := r.cancelClones(ctx, name)
		removed = append(removed, c...)
		if err != nil {
			return removed, err
		}
		t, err := a.removeCloneTargets(ctx, r, vm)
		removed = append(removed, t...)
		if err != nil {
			return removed, err
		}
		if restore {
			mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
			if err == nil && mv.GetComputeEngineDisksTargetDefaults().GetVmTargetDefaults() != nil {
				if err := r.setTarget(ctx, vm, false); err != nil {
					return removed, err
				}
			}
		}
	}
	return removed, nil
}

// removeCloneTargets deletes vm's test instance and test disks, those a
// clone job made (absent ones are fine).
func (a *Activities) removeCloneTargets(ctx context.Context, r *replication, vm plan.ReplicaVM) ([]string, error) {
	var removed []string
	g := a.gcpFor(r.spec)
	ic, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		return nil, cleanupError(err, "compute client")
	}
	defer ic.Close()
	dc, err := compute.NewDisksRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		return nil, cleanupError(err, "compute client")
	}
	defer dc.Close()
	zone := r.zone(vm)
	inst := gcename.CloneVM(vm.GCEName)
	err = deleteOp(ctx, func() (*compute.Operation, error) {
		return ic.Delete(ctx, &computepb.DeleteInstanceRequest{Project: g.Project, Zone: zone, Instance: inst})
	})
	switch {
	case err == nil:
		removed = append(removed, "test instance "+inst)
	case !notFound(err):
		return removed, cleanupError(err, "delete test instance "+inst)
	}
	for i := 0; i < vm.Disks; i++ {
		disk := gcename.CloneDisk(vm.GCEName, i)
		err := deleteOp(ctx, func() (*compute.Operation, error) {
			return dc.Delete(ctx, &computepb.DeleteDiskRequest{Project: g.Project, Zone: zone, Disk: disk})
		})
		switch {
		case err == nil:
			removed = append(removed, "test disk "+disk)
		case !notFound(err):
			return removed, cleanupError(err, "delete test disk "+disk)
		}
	}
	return removed, nil
}

// cancelClones cancels the MigratingVm's running clone jobs (the service
// then deletes what they made).
func (r *replication) cancelClones(ctx context.Context, mvName string) ([]string, error) {
	var out []string
	for j, err := range r.api.ListCloneJobs(ctx, &vmmigrationpb.ListCloneJobsRequest{Parent: mvName}).All() {
		if status.Code(err) == codes.NotFound {
			return out, nil
		}
		if err != nil {
			return out, cleanupError(err, "list clone jobs of "+mvName)
		}
		if j.GetState() != vmmigrationpb.CloneJob_ACTIVE && j.GetState() != vmmigrationpb.CloneJob_PENDING {
			continue
		}
		op, err := r.api.CancelCloneJob(ctx, &vmmigrationpb.CancelCloneJobRequest{Name: j.GetName()})
		if err == nil {
			_, err = op.Wait(ctx)
		}
		if err != nil && status.Code(err) != codes.FailedPrecondition { // finished meanwhile
			return out, cleanupError(err, "cancel "+j.GetName())
		}
		out = append(out, "clone job "+j.GetName()+" (cancelled)")
	}
	return out, nil
}

func deleteOp(ctx context.Context, f func() (*compute.Operation, error)) error {
	op, err := f()
	if err != nil {
		return err
	}
	return op.Wait(ctx)
}

func notFound(err error) bool {
	if err == nil {
		return false
	}
	if ae, ok := apierror.FromError(err); ok && ae.HTTPCode() == 404 {
		return true
	}
	return status.Code(err) == codes.NotFound
}

// cleanupError: cleanup is retried until it succeeds (every failure of it
// leaves something behind), as replication-cleanup-failed.
func cleanupError(err error, what string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return temporal.NewApplicationError(fmt.Sprintf("replication cleanup: %s: %v (runbook: %s)", what, err, runbooks.Link(runbooks.ReasonReplicationCleanup)),
		string(runbooks.ReasonReplicationCleanup))
}
