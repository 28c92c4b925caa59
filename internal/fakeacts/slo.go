package fakeacts

import (
	"context"
	"time"

	"github.com/ferrymigrate/ferry/activities"
)

// registerWatchSLO adds the double of WatchSLO: it answers at once with
// Fakes.SLO's verdict (one evaluation), or waits for Fakes.Watch when the
// test drives the watch itself.
func (f *Fakes) registerWatchSLO(reg func(name string, fn any)) {
	reg(activities.WatchSLOName, func(ctx context.Context, in activities.WatchSLOInput) (activities.SLOGateResult, error) {
		f.record(activities.WatchSLOName)
		if f.Watch != nil {
			return f.Watch(ctx, in)
		}
		res := activities.SLOGateResult{Pass: true, Requests: 20}
		if f.SLO != nil {
			res = f.SLO(in.Percent)
		}
		res.Evaluations = max(res.Evaluations, 1)
		return res, nil
	})
}

// WatchUntilBreach is a Fakes.Watch that watches in real time: it passes
// at in.Until unless breach (polled every 5 ms) reports a breach first, and
// it ends when the workflow cancels it.
func WatchUntilBreach(breach func(percent int) string) func(context.Context, activities.WatchSLOInput) (activities.SLOGateResult, error) {
	return func(ctx context.Context, in activities.WatchSLOInput) (activities.SLOGateResult, error) {
		n := 0
		for {
			n++
			if r := breach(in.Percent); r != "" {
				return activities.SLOGateResult{Pass: false, Reason: r, Evaluations: n}, nil
			}
			if !time.Now().Before(in.Until) {
				return activities.SLOGateResult{Pass: true, Evaluations: n}, nil
			}
			select {
			case <-ctx.Done():
				return activities.SLOGateResult{}, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}
