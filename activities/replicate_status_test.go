package activities

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/vmmigration/apiv1/vmmigrationpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func cycle(n int32, start time.Time, bytes int64, copyFor, overhead time.Duration) *vmmigrationpb.ReplicationCycle {
	ts := timestamppb.New
	return &vmmigrationpb.ReplicationCycle{CycleNumber: n, State: vmmigrationpb.ReplicationCycle_SUCCEEDED,
		StartTime: ts(start), EndTime: ts(start.Add(copyFor + overhead)), ProgressPercent: 100,
		Steps: []*vmmigrationpb.CycleStep{
			{StartTime: ts(start), EndTime: ts(start.Add(overhead / 2)), Step: &vmmigrationpb.CycleStep_InitializingReplication{}},
			{StartTime: ts(start.Add(overhead / 2)), EndTime: ts(start.Add(overhead/2 + copyFor)),
				Step: &vmmigrationpb.CycleStep_Replicating{Replicating: &vmmigrationpb.ReplicatingStep{TotalBytes: bytes, ReplicatedBytes: bytes}}},
		}}
}

// A VM that rewrites 2 GiB an hour, copied at 100 MiB/s with 40 s of
// steps per cycle: 30 minutes after the last cycle started, the final
// sync copies 1 GiB (about 10 s) plus the job's steps (about 80 s).
func TestFinalSyncForecast(t *testing.T) {
	t0 := time.Date(2027, 1, 11, 8, 0, 0, 0, time.UTC)
	const gib = 1 << 30
	cs := []*vmmigrationpb.ReplicationCycle{cycle(1, t0, 100*gib, 1024*time.Second, 40*time.Second)}
	for i := 1; i <= 3; i++ {
		cs = append(cs, cycle(int32(i+1), t0.Add(time.Duration(i)*time.Hour), 2*gib, 20480*time.Millisecond, 40*time.Second))
	}
	mv := &vmmigrationpb.MigratingVm{State: vmmigrationpb.MigratingVm_ACTIVE,
		CutoverForecast: &vmmigrationpb.CutoverForecast{EstimatedCutoverJobDuration: durationpb.New(2 * time.Minute)}}
	st := replicaStatus(ReplicaStatus{}, mv, cs, t0.Add(3*time.Hour+30*time.Minute))
	if st.CyclesDone != 4 || st.LastCycleBytes != 2*gib || st.LastCycleDuration != 60480*time.Millisecond || st.BytesReplicated != 106*gib {
		t.Fatalf("status: %+v", st)
	}
	if st.Forecast < 89*time.Second || st.Forecast > 91*time.Second || !strings.HasPrefix(st.ForecastBasis, "measured: 3 incremental") {
		t.Fatalf("forecast %s (%s), want ≈ 90 s", st.Forecast, st.ForecastBasis)
	}
	// Only the first sync measured: the service's estimate.
	st = replicaStatus(ReplicaStatus{}, mv, cs[:1], t0.Add(time.Hour))
	if st.Forecast != 2*time.Minute || !strings.Contains(st.ForecastBasis, "service") {
		t.Fatalf("fallback: %s (%s)", st.Forecast, st.ForecastBasis)
	}
}
