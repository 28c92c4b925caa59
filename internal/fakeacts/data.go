package fakeacts

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
)

// DataFakes are the doubles of the data strategies' activities
// (replication and sync). The zero value replicates at once, passes the
// test clone and reports no lag.
type DataFakes struct {
	// CapacityWaits: the first n StartReplication calls fail with
	// replication-capacity.
	CapacityWaits int
	// NotReadyPolls: the first n ReplicationStatus calls report the first
	// sync still running.
	NotReadyPolls int
	// CloneFails makes the test clone report an unhealthy clone.
	CloneFails bool
	// Lags are the lags ProbeSyncLag reports in turn (the last repeats);
	// MaxLag is the threshold it compares them with (default 30s).
	Lags   []time.Duration
	MaxLag time.Duration
	// LagEvery is how often the lag is measured again (default 1m).
	LagEvery time.Duration

	nStart, nStatus, nLag int
	Cleanups              []activities.CleanupReplicationInput
	SyncSteps             []string
}

func (f *Fakes) registerData(reg func(string, any)) {
	d := &f.Data
	reg(activities.StartReplicationName, func(ctx context.Context, in activities.ReplicationInput) (activities.StartReplicationResult, error) {
		f.record(activities.StartReplicationName)
		f.mu.Lock()
		d.nStart++
		wait := d.nStart <= d.CapacityWaits
		f.mu.Unlock()
		if wait {
			return activities.StartReplicationResult{}, temporal.NewApplicationError("app waits for capacity: host esx-1: 4 of 4 replications running", string(runbooks.ReasonReplicationCapacity))
		}
		return activities.StartReplicationResult{VMs: []activities.ReplicaVMState{{VM: "vm", State: "FIRST_SYNC"}}}, nil
	})
	reg(activities.ReplicationStatusName, func(ctx context.Context, in activities.ReplicationInput) (activities.ReplicationStatusResult, error) {
		f.record(activities.ReplicationStatusName)
		f.mu.Lock()
		d.nStatus++
		ready := d.nStatus > d.NotReadyPolls
		f.mu.Unlock()
		if !ready {
			return activities.ReplicationStatusResult{Summary: "1 VM FIRST_SYNC 40 %"}, nil
		}
		return activities.ReplicationStatusResult{Ready: true, FinalSyncForecast: 6 * time.Minute, Summary: "1 VM ACTIVE, 3 cycles"}, nil
	})
	reg(activities.ExtendReplicationName, func(ctx context.Context, in activities.ExtendReplicationInput) (activities.ExtendReplicationResult, error) {
		f.record(activities.ExtendReplicationName)
		return activities.ExtendReplicationResult{}, nil
	})
	reg(activities.TestCloneName, func(ctx context.Context, in activities.TestCloneInput) (activities.TestCloneResult, error) {
		f.record(activities.TestCloneName)
		if d.CloneFails {
			return activities.TestCloneResult{VMs: []activities.CloneVMResult{{VM: "vm", State: "SUCCEEDED", Detail: "no answer on :80"}}}, nil
		}
		return activities.TestCloneResult{Passed: true, VMs: []activities.CloneVMResult{{VM: "vm", State: "SUCCEEDED", Healthy: true}}}, nil
	})
	reg(activities.CutoverReplicationName, func(ctx context.Context, in activities.ReplicationInput) (activities.CutoverReplicationResult, error) {
		f.record(activities.CutoverReplicationName)
		return activities.CutoverReplicationResult{}, nil
	})
	reg(activities.FinalizeReplicationName, func(ctx context.Context, in activities.ReplicationInput) (activities.FinalizeReplicationResult, error) {
		f.record(activities.FinalizeReplicationName)
		return activities.FinalizeReplicationResult{}, nil
	})
	reg(activities.CleanupReplicationName, func(ctx context.Context, in activities.CleanupReplicationInput) (activities.CleanupReplicationResult, error) {
		f.record(activities.CleanupReplicationName)
		f.mu.Lock()
		d.Cleanups = append(d.Cleanups, in)
		f.mu.Unlock()
		return activities.CleanupReplicationResult{}, nil
	})
	reg(activities.RunSyncCommandName, func(ctx context.Context, in activities.SyncCommandInput) (activities.SyncCommandResult, error) {
		f.record(activities.RunSyncCommandName + ":" + in.Step)
		return activities.SyncCommandResult{Ran: true, Evidence: activities.HookEvidence{Name: "sync-" + in.Step}}, nil
	})
	reg(activities.ProbeSyncLagName, func(ctx context.Context, in activities.SyncLagInput) (activities.SyncLagResult, error) {
		f.record(activities.ProbeSyncLagName)
		f.mu.Lock()
		lag := time.Duration(0)
		if len(d.Lags) > 0 {
			lag = d.Lags[min(d.nLag, len(d.Lags)-1)]
		}
		d.nLag++
		f.mu.Unlock()
		maxLag := d.MaxLag
		if maxLag == 0 {
			maxLag = 30 * time.Second
		}
		every := d.LagEvery
		if every == 0 {
			every = time.Minute
		}
		return activities.SyncLagResult{Lag: lag, MaxLag: maxLag, Pass: lag <= maxLag, Every: every}, nil
	})
}
