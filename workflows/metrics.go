package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/metrics"
)

// Workflow-side metrics. workflow.GetMetricsHandler is replay-aware: a
// worker replaying history (after a restart, or a sticky cache miss)
// records nothing, so each number counts what happened once, whichever
// worker ran it. Durations must come from workflow.Now, never time.Now.

// MetricStage counts a migration entering stage. The app is not a label:
// hundreds of apps times every stage is a cardinality Prometheus should
// not carry; per-app detail is in visibility (ferry status).
func MetricStage(ctx workflow.Context, stage string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelStage: stage}).
		Counter(metrics.StageEntered).Inc(1)
}

// MetricGateWait records how long gate (plan, cutover, decommission,
// dependencies) waited for its approval.
func MetricGateWait(ctx workflow.Context, gate string, d time.Duration) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelGate: gate}).
		Timer(metrics.GateWait).Record(d)
}

// MetricPark counts a step parking its migration for reason (the runbook
// reason code, e.g. "terraform-apply-failed"; never error text).
func MetricPark(ctx workflow.Context, reason string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelReason: reason}).
		Counter(metrics.Parks).Inc(1)
}

// MetricRollback counts a rollback started from stage.
func MetricRollback(ctx workflow.Context, stage string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelStage: stage}).
		Counter(metrics.Rollbacks).Inc(1)
}

// MetricStepDuration records one cutover step (step: its label, e.g. "10",
// "50", "100" for the traffic percentage).
func MetricStepDuration(ctx workflow.Context, step string, d time.Duration) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{metrics.LabelStep: step}).
		Timer(metrics.CutoverStep).Record(d)
}
