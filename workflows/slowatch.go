package workflows

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

// sloWatchVersion: the SLO evaluated through the bake (WatchSLO) replaced
// one gate after it (SLOGate) after the first release. Called only on the
// SLO gate path, so histories that never reached a gate carry no marker.
func sloWatchVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, "slo-watch", workflow.DefaultVersion, 1)
}

// optsSLOWatch bounds a watch of one bake: it heartbeats at every
// evaluation and every 10 s between them, so a lost worker is noticed
// within 20 s and the watch resumes elsewhere from its heartbeat.
func optsSLOWatch(bake, every time.Duration) workflow.ActivityOptions {
	if every <= 0 {
		every = plan.DefaultSLOEvery
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout: bake + every + 5*time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy:         retry(2*time.Second, 5),
	}
}

// watchSLO bakes a step while WatchSLO evaluates the SLO every interval;
// a breach rolls back at once, a rollback signal cancels the watch. A
// watch that ends early without a breach (it should not) leaves the rest
// of the bake to a durable timer: the bake is never shortened.
func (m *migration) watchSLO(ctx workflow.Context, st plan.Step) error {
	now := workflow.Now(ctx)
	until := now.Add(st.Bake)
	every := m.spec.Cutover.SLO.Watch.Every
	if every <= 0 {
		every = plan.DefaultSLOEvery
	}
	m.waiting = &Waiting{Gate: "bake", Since: now, Until: until,
		Hint: fmt.Sprintf("baking %d %% on GCP; the SLO is evaluated every %s and a breach rolls back at once", st.Percent, every)}
	m.publish(ctx)
	var res activities.SLOGateResult
	err := m.exec(ctx, optsSLOWatch(st.Bake, every), acts.WatchSLO,
		activities.WatchSLOInput{Plan: m.ref(), Percent: st.Percent, Until: until}, &res)
	m.waiting = nil
	m.publish(ctx)
	if err != nil {
		return err
	}
	m.st.Evidence.SLO = append(m.st.Evidence.SLO, res)
	if !res.Pass {
		if !m.stepStart.IsZero() {
			MetricStepDuration(ctx, strconv.Itoa(st.Percent), workflow.Now(ctx).Sub(m.stepStart))
		}
		return errRollback{reason: fmt.Sprintf("SLO gate failed at %d %% during the bake: %s (automatic rollback)", st.Percent, res.Reason)}
	}
	if err := m.waitUntil(ctx, "bake", until, fmt.Sprintf("baking %d %% on GCP", st.Percent)); err != nil {
		return err
	}
	if !m.stepStart.IsZero() {
		MetricStepDuration(ctx, strconv.Itoa(st.Percent), workflow.Now(ctx).Sub(m.stepStart))
	}
	return nil
}
