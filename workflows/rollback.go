package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
)

// rollback is the saga: traffic back to the datacenter first, then the
// source VMs powered back on, then what was provisioned destroyed or kept
// as the plan says. Like all of MigrateApp it runs on a context a Temporal
// cancel does not reach (cancel.go), and each of its steps parks on
// failure like any other.
func (m *migration) rollback(ctx workflow.Context, reason string) string {
	MetricRollback(ctx, m.st.Stage)
	m.st.RollbackReason = reason
	by := ""
	if m.rollbackReq != nil {
		by = m.rollbackReq.By
	} else {
		m.rollbackReq = &Action{By: "ferry", Reason: reason}
	}
	m.waiting = nil
	m.setStage(ctx, StageRollingBack, reason)
	m.notify(ctx, "rollback", "nothing yet: ferry is rolling back; watch for a parked step", "", reason+by+m.dataLoss())

	var saga []step
	if m.trafficTouched || m.leftovers {
		saga = append(saga, step{stage: StageRollingBack, name: "traffic-to-datacenter", run: func(ctx workflow.Context) error {
			var res activities.ShiftTrafficResult
			err := m.run(ctx, optsTrafficRollback, acts.TrafficToDatacenter, activities.TrafficToDatacenterInput{Plan: m.ref()}, &res)
			if err == nil {
				m.st.TrafficPercent = 0
			}
			return err
		}})
	}
	saga = m.dataRollback(saga, true)
	saga = m.clientNamesRollback(saga)
	if m.sourcesOff {
		saga = append(saga, step{stage: StageRollingBack, name: "power-on-sources", run: func(ctx workflow.Context) error {
			var res activities.SourcesResult
			err := m.run(ctx, optsVSphere, acts.PowerOnSources, activities.SourcesInput{Plan: m.ref(), WasOff: m.sourcesWereOff()}, &res)
			if err == nil {
				m.sourcesOff = false
			}
			return err
		}})
	}
	if m.provisioned && m.spec.Rollback.Policy != "keep" {
		saga = append(saga, step{stage: StageRollingBack, name: "terraform-destroy", run: func(ctx workflow.Context) error {
			var res activities.TerraformDestroyResult
			err := m.run(ctx, optsTerraformApply, acts.TerraformDestroy, activities.TerraformInput{Plan: m.ref()}, &res)
			if err == nil {
				m.provisioned = false
			}
			return err
		}})
	}
	saga = m.dataRollback(saga, false)
	for i := 0; i < len(saga); {
		err := saga[i].run(ctx)
		if err == nil {
			i++
			continue
		}
		// During the saga only retry and skip make sense.
		switch m.park(ctx, saga[i], err, true) {
		case "skip":
			m.st.Skipped = append(m.st.Skipped, saga[i].name)
			i++
		default:
			m.setStage(ctx, StageRollingBack, "retry of "+saga[i].name)
		}
	}
	return StageRolledBack
}

// run executes an activity with no rollback interruption (the saga itself).
func (m *migration) run(ctx workflow.Context, opts workflow.ActivityOptions, activity, in, out any) error {
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity, in).Get(ctx, out)
}

// sourcesWereOff lists the source VMs that were not powered on when the
// migration discovered them (cold standbys): a rollback leaves them off.
func (m *migration) sourcesWereOff() []string {
	var out []string
	if d := m.st.Evidence.Discovery; d != nil {
		for _, v := range d.VMs {
			if v.PowerState != "" && v.PowerState != "poweredOn" {
				out = append(out, v.Ref)
			}
		}
	}
	return out
}
