// Package metrics names ferry's own metrics and records the activity-side
// ones. Workflow-side helpers live in workflows/metrics.go (they need a
// workflow.Context); both go through the Temporal SDK's metrics handler,
// which the worker exports to Prometheus (worker/metrics.go), so ferry's
// numbers sit next to the SDK's on the same /metrics page.
package metrics

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
)

// Metric names as recorded through the SDK's handler. On /metrics the
// Prometheus exporter adds "_total" to counters and "_seconds" to timers:
// ferry_stage_entered_total, ferry_gate_wait_seconds, ferry_parks_total,
// ferry_rollbacks_total, ferry_cutover_step_seconds, ferry_terraform_seconds.
const (
	StageEntered    = "ferry_stage_entered"    // counter {app, stage}: a migration entered a stage
	GateWait        = "ferry_gate_wait"        // timer {gate}: from a gate opening to its approval
	Parks           = "ferry_parks"            // counter {reason}: a step failed and parked its migration
	Rollbacks       = "ferry_rollbacks"        // counter {stage}: rollbacks started, by the stage they left
	CutoverStep     = "ferry_cutover_step"     // timer {step}: one cutover step (traffic shift + SLO gate)
	TerraformTime   = "ferry_terraform"        // timer {op}: one terraform command (init, plan, apply, destroy)
	TerraformErrors = "ferry_terraform_failed" // counter {op}: terraform commands that failed
)

// Label keys.
const (
	LabelApp    = "app"
	LabelStage  = "stage"
	LabelGate   = "gate"
	LabelReason = "reason"
	LabelStep   = "step"
	LabelOp     = "op"
)

// TerraformDuration records how long one terraform command took in an
// activity (op: init, plan, apply, destroy, import...). Outside an
// activity it does nothing.
func TerraformDuration(ctx context.Context, op string, d time.Duration) {
	h := handler(ctx)
	h.WithTags(map[string]string{LabelOp: op}).Timer(TerraformTime).Record(d)
}

// TerraformFailed counts a failed terraform command in an activity.
func TerraformFailed(ctx context.Context, op string) {
	handler(ctx).WithTags(map[string]string{LabelOp: op}).Counter(TerraformErrors).Inc(1)
}

// handler is the activity's metrics handler, or a no-op outside one
// (activity.GetMetricsHandler panics on a plain context).
func handler(ctx context.Context) (h client.MetricsHandler) {
	if !activity.IsActivity(ctx) {
		return client.MetricsNopHandler
	}
	return activity.GetMetricsHandler(ctx)
}
