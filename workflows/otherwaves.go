package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/runbooks"
)

// stepHoldOtherWaves holds an app's cutover until its dependencies in
// earlier waves of the plan are cut over: the wave's hold covers only
// dependencies in the same wave.
const stepHoldOtherWaves = "dependencies-other-waves"

// otherWavesPoll is how often the hold asks visibility again.
const otherWavesPoll = 5 * time.Minute

// holdOtherWavesVersion: the hold came after the first release. Asked only
// for apps with dependencies, so no other history carries the marker.
func (m *migration) holdOtherWavesVersion(ctx workflow.Context) bool {
	if len(m.spec.DependsOn) == 0 {
		return false
	}
	return workflow.GetVersion(ctx, "hold-other-waves", workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// holdForOtherWaves asks where the app's dependencies in earlier waves
// stand, every five minutes, until every one is cut over. It never waits
// for nothing or forever: a dependency rolled back, rejected or refused
// parks the app at once (dependency-lost), one with no migration started
// too (dependency-not-started), and a hold longer than the plan's
// hold_timeout (dependency-hold-timeout); the owners then decide: retry
// (hold again), skip (cut over without them) or rollback.
func (m *migration) holdForOtherWaves(ctx workflow.Context) error {
	timeout := m.holdTimeout()
	deadline := workflow.Now(ctx).Add(timeout)
	for {
		var res activities.DependencyProgressResult
		if err := m.exec(ctx, optsResolve, acts.DependencyProgress, activities.DependencyProgressInput{Plan: m.ref()}, &res); err != nil {
			return err
		}
		m.st.Evidence.OtherWaves = &res
		if len(res.Lost) > 0 {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s's dependencies in earlier waves will not cut over: %s; retry holds again, skip cuts over without them, rollback stops here",
				m.spec.Name, strings.Join(res.Lost, ", ")), string(runbooks.ReasonDependencyLost), nil)
		}
		if len(res.NotStarted) > 0 {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s's dependencies in earlier waves have not started moving: %s; start them (or their wave), then retry to hold until they are cut over; skip cuts over without them",
				m.spec.Name, strings.Join(res.NotStarted, ", ")), string(runbooks.ReasonDependencyNotStarted), nil)
		}
		if len(res.Pending) == 0 {
			return nil
		}
		now := workflow.Now(ctx)
		if !now.Before(deadline) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the cutover of %s waited %s for its dependencies in earlier waves (%s) to cut over: check them with 'ferry status'; retry holds again, skip cuts over without them",
				m.spec.Name, timeout, strings.Join(res.Pending, ", ")), string(runbooks.ReasonDependencyHoldTimeout), nil)
		}
		next := now.Add(otherWavesPoll)
		if next.After(deadline) {
			next = deadline
		}
		if err := m.waitUntil(ctx, stepHoldOtherWaves, next,
			"cutover held until its dependencies in earlier waves are cut over: "+strings.Join(res.Pending, ", ")); err != nil {
			return err
		}
	}
}
