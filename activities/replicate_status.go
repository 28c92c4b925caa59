package activities

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ReplicaStatus is one VM's replication as evidence for the cutover gate.
type ReplicaStatus struct {
	VM          string `json:"vm"`
	MigratingVM string `json:"migratingVm"`
	State       string `json:"state"`
	// CyclesDone counts finished replication cycles (the first sync is 1).
	CyclesDone        int           `json:"cyclesDone"`
	LastCycleDuration time.Duration `json:"lastCycleDuration,omitempty"`
	LastCycleBytes    int64         `json:"lastCycleBytes,omitempty"`
	LastSyncAt        time.Time     `json:"lastSyncAt,omitzero"` // data on GCP is as of this time
	// Current is the running cycle, if any.
	CurrentCycle    int32 `json:"currentCycle,omitempty"`
	CurrentProgress int32 `json:"currentProgress,omitempty"` // percent
	CurrentBytes    int64 `json:"currentBytes,omitempty"`
	CurrentTotal    int64 `json:"currentTotal,omitempty"`
	// BytesReplicated is the sum over finished cycles.
	BytesReplicated int64 `json:"bytesReplicated"`
	// Forecast is the cutover job's expected length if it started now,
	// from the measured cycles (ForecastBasis says which).
	Forecast        time.Duration `json:"forecast,omitempty"`
	ServiceForecast time.Duration `json:"serviceForecast,omitempty"` // M2VM's cutover_forecast
	ForecastBasis   string        `json:"forecastBasis,omitempty"`
	ExpiresAt       time.Time     `json:"expiresAt,omitzero"`
	Error           string        `json:"error,omitempty"`
}

// ReplicationStatusResult is the app's replication: the cutover gate's
// evidence.
type ReplicationStatusResult struct {
	VMs []ReplicaStatus `json:"vms"`
	// Ready: every VM is ACTIVE (first sync done), so a test clone or the
	// cutover may start.
	Ready bool `json:"ready"`
	// FinalSyncForecast is the longest VM forecast: the cutover jobs of
	// the VMs run at once.
	FinalSyncForecast time.Duration `json:"finalSyncForecast"`
	Summary           string        `json:"summary"` // e.g. "2 VMs ACTIVE, 5 cycles, last cycle 3m10s; final sync ≈ 6m"
}

// ReplicationStatus reads every VM's MigratingVm and replication cycles.
// A VM without a MigratingVm is reported with state NOT_STARTED.
func (a *Activities) ReplicationStatus(ctx context.Context, in ReplicationInput) (ReplicationStatusResult, error) {
	r, err := a.replication(ctx, in.Plan)
	if err != nil {
		return ReplicationStatusResult{}, err
	}
	defer r.api.Close()
	res := ReplicationStatusResult{Ready: true}
	cycles, minCycles := 0, -1
	var last time.Duration
	for _, vm := range r.rs.VMs {
		name := migratingVMName(vm)
		st := ReplicaStatus{VM: vm.Name, MigratingVM: name}
		mv, err := r.api.GetMigratingVm(ctx, &vmmigrationpb.GetMigratingVmRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			st.State, res.Ready = "NOT_STARTED", false
			res.VMs = append(res.VMs, st)
			continue
		}
		if err != nil {
			return res, m2vmError(err, "read MigratingVm "+name)
		}
		cs, err := listAll(r.api.ListReplicationCycles(ctx, &vmmigrationpb.ListReplicationCyclesRequest{Parent: name, PageSize: 100}).All(), "list replication cycles of "+name)
		if err != nil {
			return res, err
		}
		st = replicaStatus(st, mv, cs, time.Now())
		if mv.GetState() != vmmigrationpb.MigratingVm_ACTIVE {
			res.Ready = false
		}
		res.FinalSyncForecast = max(res.FinalSyncForecast, st.Forecast)
		if minCycles < 0 || st.CyclesDone < minCycles {
			minCycles = st.CyclesDone
		}
		cycles += st.CyclesDone
		last = max(last, st.LastCycleDuration)
		res.VMs = append(res.VMs, st)
	}
	res.Summary = fmt.Sprintf("%d VM(s), %d cycles done (fewest on one VM: %d), longest last cycle %s", len(res.VMs), cycles, max(minCycles, 0), last.Round(time.Second))
	if res.FinalSyncForecast > 0 {
		res.Summary += fmt.Sprintf("; final sync ≈ %s", res.FinalSyncForecast.Round(time.Second))
	}
	if !res.Ready {
		res.Summary += "; not ready for cutover (every VM must be ACTIVE)"
	}
	return res, nil
}

// replicaStatus derives the evidence and the forecast from the
// MigratingVm and its cycles; now is when the cutover would start.
func replicaStatus(st ReplicaStatus, mv *vmmigrationpb.MigratingVm, cs []*vmmigrationpb.ReplicationCycle, now time.Time) ReplicaStatus {
	st.State = mv.GetState().String()
	st.Error = mv.GetError().GetMessage()
	if e := mv.GetExpiration().GetExpireTime(); e != nil {
		st.ExpiresAt = e.AsTime()
	}
	if f := mv.GetCutoverForecast().GetEstimatedCutoverJobDuration(); f != nil {
		st.ServiceForecast = f.AsDuration()
	}
	if t := mv.GetLastSync().GetLastSyncTime(); t != nil {
		st.LastSyncAt = t.AsTime()
	}
	var done []*vmmigrationpb.ReplicationCycle
	var lastStart time.Time
	for _, c := range cs {
		switch c.GetState() {
		case vmmigrationpb.ReplicationCycle_SUCCEEDED:
			done = append(done, c)
			st.BytesReplicated += copied(c).total
			lastStart = c.GetStartTime().AsTime()
		case vmmigrationpb.ReplicationCycle_RUNNING, vmmigrationpb.ReplicationCycle_PAUSED:
			cp := copied(c)
			//lint:ignore SA1019 the API still fills progress_percent and has no other single figure for a running cycle
			st.CurrentCycle, st.CurrentProgress, st.CurrentBytes, st.CurrentTotal = c.GetCycleNumber(), c.GetProgressPercent(), cp.done, cp.total
		}
	}
	st.CyclesDone = len(done)
	if len(done) > 0 {
		l := done[len(done)-1]
		st.LastCycleDuration = l.GetEndTime().AsTime().Sub(l.GetStartTime().AsTime())
		st.LastCycleBytes = copied(l).total
	}
	st.Forecast, st.ForecastBasis = forecast(done, lastStart, now, st)
	return st
}

type copyStep struct {
	total, done int64
	d           time.Duration // copying time
}

func copied(c *vmmigrationpb.ReplicationCycle) copyStep {
	for _, s := range c.GetSteps() {
		if rs := s.GetReplicating(); rs != nil {
			cs := copyStep{total: rs.GetTotalBytes(), done: rs.GetReplicatedBytes()}
			if s.GetEndTime() != nil && s.GetStartTime() != nil {
				cs.d = s.GetEndTime().AsTime().Sub(s.GetStartTime().AsTime())
			}
			return cs
		}
	}
	return copyStep{}
}

// forecast estimates a cutover job from the incremental cycles (the first
// sync copies everything and says nothing of the change rate): the guest
// rewrites bytes at the rate the incremental cycles measured, the final
// sync copies what changed since the last cycle started at their measured
// throughput, and the job's other steps (shutting down, preparing disks)
// take about the non-copying time of a cycle twice over. Without an
// incremental cycle it falls back to the service's own estimate.
func forecast(done []*vmmigrationpb.ReplicationCycle, lastStart, now time.Time, st ReplicaStatus) (time.Duration, string) {
	var bytes int64
	var gaps, copying, overhead time.Duration
	n := 0
	for i := 1; i < len(done); i++ {
		c := copied(done[i])
		gap := done[i].GetStartTime().AsTime().Sub(done[i-1].GetStartTime().AsTime())
		total := done[i].GetEndTime().AsTime().Sub(done[i].GetStartTime().AsTime())
		if gap <= 0 || c.d <= 0 {
			continue
		}
		bytes += c.total
		gaps += gap
		copying += c.d
		overhead += total - c.d
		n++
	}
	if n == 0 {
		if st.ServiceForecast > 0 {
			return st.ServiceForecast, "the service's estimate (no incremental cycle measured yet)"
		}
		return 0, "unknown until a cycle after the first sync has run"
	}
	changeRate := float64(bytes) / gaps.Seconds()    // bytes rewritten per second
	throughput := float64(bytes) / copying.Seconds() // bytes copied per second
	pending := changeRate * max(now.Sub(lastStart), 0).Seconds()
	d := time.Duration(pending/throughput*float64(time.Second)) + 2*overhead/time.Duration(n)
	if st.CurrentTotal > 0 && st.CurrentProgress < 100 {
		// A running cycle finishes first.
		d += time.Duration(float64(st.CurrentTotal-st.CurrentBytes)/throughput*float64(time.Second)) + overhead/time.Duration(2*n)
	}
	return d, fmt.Sprintf("measured: %d incremental cycle(s), %.1f MiB/s copy, %.2f MiB/s change", n, throughput/(1<<20), changeRate/(1<<20))
}
