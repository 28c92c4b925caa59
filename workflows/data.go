package workflows

// How the app's data reaches GCP (plan data = "replicate" | "sync"), as
// steps of the migration.
//
// replicate (Migrate to Virtual Machines): replication starts right after
// the plan gate and runs through the reviews; a test clone proves the
// copies boot before the cutover gate; inside the cutover the cutover job's
// final sync shuts the sources down, terraform then creates the instances
// on the cut-over disks, and traffic moves in one step (the datacenter side
// is off). Decommission finalizes the migrations. Rollback is ferry's saga
// plus the replication's cleanup.
//
// sync (the app's own replication): the sync starts once the instances
// exist; the lag gate holds the cutover gate and the first traffic shift
// until the copy is less than max_lag behind; the catch-up runs inside the
// cutover before the first shift, the reverse sync in a rollback after
// traffic moved.
//
// Added after the first release: the steps exist only behind the version
// marker "data-strategy", taken only for apps whose plan moves data, so
// no earlier history meets it.

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/runbooks"
)

// Step names of the data strategies.
const (
	stepReplicationStart    = "replication-start"
	stepReplicationSync     = "replication-first-sync"
	stepTestClone           = "test-clone"
	stepReplicationStatus   = "replication-status"
	stepReplicationCutover  = "replication-cutover"
	stepReplicationFinalize = "replication-finalize"
	stepReplicationCleanup  = "replication-cleanup"
	stepSyncStart           = "sync-start"
	stepSyncLag             = "sync-lag"
	stepSyncCatchUp         = "sync-catch-up"
	stepSyncReverse         = "sync-reverse"
)

// Wait names shown in Waiting.Gate while the data strategies wait on time.
const (
	waitReplicationCapacity = "replication-capacity"
	waitReplication         = "replication"
	waitSyncLag             = "sync-lag"
)

// Polling of the replication from the workflow: every poll is an
// activity, so it backs off to keep histories short on multi-hour first
// syncs.
const (
	replicationPollMin = 15 * time.Second
	replicationPollMax = 5 * time.Minute
	capacityPoll       = 5 * time.Minute
	maxLagSamples      = 100
)

// dataStrategy is the app's data strategy this run follows: "none" for
// plans that move no data and for runs that started before the strategies
// existed.
func (m *migration) dataStrategy(ctx workflow.Context) string {
	s := m.spec.Data.Strategy
	if s == "" || s == plan.DataNone {
		return plan.DataNone
	}
	if workflow.GetVersion(ctx, "data-strategy", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return plan.DataNone
	}
	return s
}

// replicateSteps are a replicate app's steps: the plain migration's, with
// the provisioning moved into the cutover (the instances boot from the
// disks the cutover job produces).
func (m *migration) replicateSteps(add func(stage, name string, fn func(workflow.Context) error)) {
	rs := m.spec.Data.Replicate
	add(StageProvision, stepReplicationStart, m.startReplication)
	add(StageProvision, stepReplicationSync, m.firstSync)
	if rs != nil && rs.TestClone {
		add(StageSyncVerify, stepTestClone, m.testClone)
	}
	add(StageSyncVerify, stepReplicationStatus, m.replicationStatus)
	m.cutoverGate(add)
	for _, h := range m.hooks(plan.HookPreCutover) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
	add(StageCutover, stepReplicationCutover, m.cutoverReplication)
	for _, h := range m.hooks(plan.HookPreProvision) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
	add(StageCutover, "terraform-apply", m.terraformApply)
	for _, h := range m.hooks(plan.HookPostProvision) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
	for _, h := range m.hooks(plan.HookSmokeTest) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
	add(StageCutover, "health-check", m.healthCheck)
	// The sources are shut down: there is no datacenter side to split
	// traffic with, so the cutover is one step, baked like the plan's last.
	st := plan.Step{Percent: 100, Bake: plan.DefaultStepBake}
	if s := m.spec.Cutover.Steps; len(s) > 0 {
		st.Bake = s[len(s)-1].Bake
	}
	m.trafficSteps(add, []plan.Step{st})
}

// syncSteps are a sync app's steps: the plain migration's with the sync
// started after provisioning, the lag gate before the cutover gate and
// again before the first shift, and the catch-up inside the cutover.
func (m *migration) syncSteps(add func(stage, name string, fn func(workflow.Context) error)) {
	m.provisionSteps(add)
	add(StageProvision, stepSyncStart, m.syncCommand(activities.SyncStart))
	m.verifySteps(add)
	add(StageSyncVerify, stepSyncLag, m.syncLag)
	m.cutoverGate(add)
	add(StageCutover, stepSyncLag, m.syncLag)
	for _, h := range m.hooks(plan.HookPreCutover) {
		add(StageCutover, "hook:"+h.Name, m.hook(h))
	}
	add(StageCutover, stepSyncCatchUp, m.syncCommand(activities.SyncCatchUp))
	m.trafficSteps(add, m.cutoverSteps())
}

// optsReplication: StartReplication's capacity wait is the workflow's
// (visible, on a timer), not the retry policy's.
var optsReplication = func() workflow.ActivityOptions {
	o := optsVSphere
	r := *retry(5*time.Second, 5)
	r.NonRetryableErrorTypes = append(append([]string(nil), r.NonRetryableErrorTypes...),
		string(runbooks.ReasonReplicationCapacity), string(runbooks.ReasonReplicationFailed),
		string(runbooks.ReasonTestCloneFailed), string(runbooks.ReasonCutoverJobFailed))
	o.RetryPolicy = &r
	return o
}()

// optsReplicationJob bounds a clone or cutover job (the final sync of a
// large disk takes hours); the activity heartbeats every poll.
var optsReplicationJob = func() workflow.ActivityOptions {
	o := optsReplication
	o.StartToCloseTimeout = 12 * time.Hour
	o.HeartbeatTimeout = 2 * time.Minute
	return o
}()

// startReplication creates (or adopts) the MigratingVms and starts them;
// while the estate-wide caps hold some back it waits, visibly, and asks
// again.
func (m *migration) startReplication(ctx workflow.Context) error {
	m.replicating = true // from the first attempt on, something may exist
	for {
		var res activities.StartReplicationResult
		err := m.exec(ctx, optsReplication, acts.StartReplication, activities.ReplicationInput{Plan: m.ref()}, &res)
		if err == nil {
			return nil
		}
		reason, msg := reasonOf(err)
		if reason != string(runbooks.ReasonReplicationCapacity) {
			return err
		}
		if werr := m.waitUntil(ctx, waitReplicationCapacity, workflow.Now(ctx).Add(capacityPoll),
			"replication waits for room under the estate-wide caps: "+truncate(msg, 300)); werr != nil {
			return werr
		}
	}
}

// firstSync waits until every VM finished its first sync (ACTIVE), then
// extends migrations that would expire while the app waits for its
// cutover.
func (m *migration) firstSync(ctx workflow.Context) error {
	poll := replicationPollMin
	for {
		var res activities.ReplicationStatusResult
		if err := m.exec(ctx, optsReplication, acts.ReplicationStatus, activities.ReplicationInput{Plan: m.ref()}, &res); err != nil {
			return err
		}
		m.st.Evidence.Replication = &res
		if res.Ready {
			break
		}
		if err := m.waitUntil(ctx, waitReplication, workflow.Now(ctx).Add(poll), "first replication cycle: "+res.Summary); err != nil {
			return err
		}
		poll = min(2*poll, replicationPollMax)
	}
	var ext activities.ExtendReplicationResult
	if err := m.exec(ctx, optsReplication, acts.ExtendReplication, activities.ExtendReplicationInput{Plan: m.ref()}, &ext); err != nil {
		return err
	}
	m.keepReplicationAlive(ctx)
	return nil
}

// replicationKeepAlive is how often a replicating app that waits (for its
// test clone, its gate, its window, its wave) extends the migrations that
// would expire within 30 days: weekly, well inside M2VM's extension step.
const replicationKeepAlive = 7 * 24 * time.Hour

// keepReplicationAlive extends the app's migrations every week from the
// first sync until the cutover job (or a rollback's cleanup), in the
// background: a cutover gate that waits for months must not find the
// replication expired. A failed extension tells the owner and tries again
// the next week; it parks nothing. Added after the first release, behind
// a version marker.
func (m *migration) keepReplicationAlive(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "replication-keepalive", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		stop := func() bool { return m.cutOver || !m.replicating || m.finished }
		for {
			done, err := workflow.AwaitWithTimeout(ctx, replicationKeepAlive, stop)
			if done || err != nil || stop() {
				return
			}
			var ext activities.ExtendReplicationResult
			actx := workflow.WithActivityOptions(ctx, optsReplication)
			if err := workflow.ExecuteActivity(actx, acts.ExtendReplication, activities.ExtendReplicationInput{Plan: m.ref()}).Get(ctx, &ext); err != nil {
				reason, msg := reasonOf(err)
				m.notify(ctx, "replication-expiry", "check the app's migrations in Migrate to Virtual Machines: they could not be extended and stop replicating when they expire; ferry tries again in a week",
					reason, msg)
				continue
			}
			if len(ext.Extended) > 0 {
				m.st.Evidence.Extended = append(m.st.Evidence.Extended, ext.Extended...)
				m.publish(ctx)
			}
		}
	})
}

// testClone runs the test clone; a failed or unhealthy clone parks with
// its evidence (the clones are already deleted).
func (m *migration) testClone(ctx workflow.Context) error {
	var res activities.TestCloneResult
	if err := m.exec(ctx, optsReplicationJob, acts.TestClone, activities.TestCloneInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	m.st.Evidence.TestClone = &res
	if res.Passed {
		return nil
	}
	var bad []string
	for _, vm := range res.VMs {
		if !vm.Healthy {
			bad = append(bad, fmt.Sprintf("%s: %s %s", vm.VM, vm.State, vm.Detail))
		}
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("test clone of %s failed: %s; the clones are deleted", m.spec.Name, strings.Join(bad, "; ")),
		string(runbooks.ReasonTestCloneFailed), nil)
}

// replicationStatus refreshes the replication evidence (cycles, the final
// sync's forecast) for the cutover gate.
func (m *migration) replicationStatus(ctx workflow.Context) error {
	var res activities.ReplicationStatusResult
	if err := m.exec(ctx, optsReplication, acts.ReplicationStatus, activities.ReplicationInput{Plan: m.ref()}, &res); err != nil {
		return err
	}
	m.st.Evidence.Replication = &res
	return nil
}

// cutoverReplication runs the cutover jobs: the final sync, after which
// M2VM has shut the source VMs down (a rollback powers them on again).
func (m *migration) cutoverReplication(ctx workflow.Context) error {
	m.sourcesOff = true
	m.cutOver = true
	var res activities.CutoverReplicationResult
	err := m.exec(ctx, optsReplicationJob, acts.CutoverReplication, activities.ReplicationInput{Plan: m.ref()}, &res)
	if err == nil {
		m.st.Evidence.ReplicationCutover = &res
	}
	return err
}

// finalizeReplication ends the migrations at decommission.
func (m *migration) finalizeReplication(ctx workflow.Context) error {
	var res activities.FinalizeReplicationResult
	return m.exec(ctx, optsReplicationJob, acts.FinalizeReplication, activities.ReplicationInput{Plan: m.ref()}, &res)
}

// cleanupReplication removes what replication left behind: on success only
// test-clone leftovers; abandon (rollback) also the replication itself
// and, with the destroy policy, its unused disks.
func (m *migration) cleanupReplication(abandon bool) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		in := activities.CleanupReplicationInput{Plan: m.ref(), Abandon: abandon,
			DeleteDisks: abandon && m.spec.Rollback.Policy != "keep"}
		var res activities.CleanupReplicationResult
		err := m.run(ctx, optsReplication, acts.CleanupReplication, in, &res)
		if err == nil {
			m.st.Evidence.Cleanup = &res
			if abandon {
				m.replicating = false
			}
		}
		return err
	}
}

// syncCommand runs the start or catch-up command of the plan's sync block.
func (m *migration) syncCommand(which string) func(workflow.Context) error {
	return func(ctx workflow.Context) error {
		if which == activities.SyncCatchUp {
			m.cutOver = true // writes may move from here on
		}
		opts := optsHook
		if s := m.spec.Data.Sync; s != nil && s.Timeout > 0 {
			opts.StartToCloseTimeout = s.Timeout + time.Minute
		}
		var res activities.SyncCommandResult
		if err := m.exec(ctx, opts, acts.RunSyncCommand, activities.SyncCommandInput{Plan: m.ref(), Step: which}, &res); err != nil {
			return err
		}
		if res.Ran {
			m.st.Evidence.Hooks = append(m.st.Evidence.Hooks, res.Evidence)
		}
		return nil
	}
}

// syncLag measures the sync's lag until it is at most max_lag, waiting
// (visibly, reason sync-lag-above-max) between measurements. Each
// measurement is evidence: the lag over time.
func (m *migration) syncLag(ctx workflow.Context) error {
	told := false
	for {
		var res activities.SyncLagResult
		if err := m.exec(ctx, optsHealth, acts.ProbeSyncLag, activities.SyncLagInput{Plan: m.ref()}, &res); err != nil {
			return err
		}
		m.st.Evidence.SyncLag = append(m.st.Evidence.SyncLag, res)
		if n := len(m.st.Evidence.SyncLag); n > maxLagSamples {
			m.st.Evidence.SyncLag = append([]activities.SyncLagResult(nil), m.st.Evidence.SyncLag[n-maxLagSamples:]...)
		}
		if res.Pass {
			m.publish(ctx)
			return nil
		}
		hint := fmt.Sprintf("the data sync is %s behind, more than max_lag %s; measured again every %s (runbook %s)",
			res.Lag, res.MaxLag, res.Every, m.runbookLink(string(runbooks.ReasonSyncLag)))
		if !told {
			told = true
			m.notify(ctx, "waiting", "nothing: the cutover goes on when the sync catches up; rollback if it never does", string(runbooks.ReasonSyncLag), hint)
		}
		every := res.Every
		if every <= 0 {
			every = plan.DefaultLagEvery
		}
		if err := m.waitUntil(ctx, waitSyncLag, workflow.Now(ctx).Add(every), hint); err != nil {
			return err
		}
	}
}

// dataRollback adds the data strategy's steps to the rollback saga: the
// reverse sync right after traffic is back (writes made on GCP go home),
// and the replication's cleanup after the GCP resources are gone.
func (m *migration) dataRollback(saga []step, afterTraffic bool) []step {
	switch {
	case afterTraffic && m.cutOver && m.spec.Data.Strategy == plan.DataSync:
		if s := m.spec.Data.Sync; s != nil && len(s.Reverse) > 0 {
			saga = append(saga, step{stage: StageRollingBack, name: stepSyncReverse, run: func(ctx workflow.Context) error {
				var res activities.SyncCommandResult
				opts := optsHook
				if s.Timeout > 0 {
					opts.StartToCloseTimeout = s.Timeout + time.Minute
				}
				err := m.run(ctx, opts, acts.RunSyncCommand, activities.SyncCommandInput{Plan: m.ref(), Step: activities.SyncReverse}, &res)
				if err == nil && res.Ran {
					m.st.Evidence.Hooks = append(m.st.Evidence.Hooks, res.Evidence)
				}
				return err
			}})
		}
	case !afterTraffic && m.replicating:
		saga = append(saga, step{stage: StageRollingBack, name: stepReplicationCleanup, run: m.cleanupReplication(true)})
	}
	return saga
}

// dataLoss is what a rollback cannot bring back, said plainly in its
// notification.
func (m *migration) dataLoss() string {
	if !m.cutOver {
		return ""
	}
	switch m.spec.Data.Strategy {
	case plan.DataReplicate:
		return " Writes made on GCP since the cutover are NOT copied back to the datacenter (Migrate to Virtual Machines has no reverse replication): the bake period is where that risk is accepted."
	case plan.DataSync:
		if s := m.spec.Data.Sync; s == nil || len(s.Reverse) == 0 {
			return " Writes made on GCP since the cutover are NOT copied back: the plan's sync block has no reverse_command."
		}
		return " Writes made on GCP since the cutover are copied back by the sync block's reverse_command."
	}
	return ""
}

// replicationEvidence is the cutover gate's line about the replication:
// the final sync's forecast against the change window.
func (m *migration) replicationEvidence(now time.Time) string {
	r := m.st.Evidence.Replication
	if r == nil {
		return ""
	}
	s := "replication: " + r.Summary
	if r.FinalSyncForecast > 0 {
		s += fmt.Sprintf("; final sync ≈ %s", r.FinalSyncForecast.Round(time.Second))
	}
	if open, next := m.spec.Cutover.WindowOpen(now); open && !next.IsZero() {
		s += fmt.Sprintf("; window closes in %s", next.Sub(now).Round(time.Minute))
		if r.FinalSyncForecast > next.Sub(now) {
			s += " — the final sync would outlast it"
		}
	} else if !open && !next.IsZero() {
		s += fmt.Sprintf("; next window opens %s", next.Format(time.RFC3339))
	}
	if c := m.st.Evidence.TestClone; c != nil {
		s += fmt.Sprintf("; test clone passed on %d VM(s)", len(c.VMs))
	}
	return s
}

// syncEvidence is the cutover gate's line about the sync's lag.
func (m *migration) syncEvidence() string {
	if n := len(m.st.Evidence.SyncLag); n > 0 {
		l := m.st.Evidence.SyncLag[n-1]
		return fmt.Sprintf("sync lag %s (max %s) at %s", l.Lag, l.MaxLag, l.At.Format(time.RFC3339))
	}
	return ""
}
