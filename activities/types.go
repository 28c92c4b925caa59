package activities

import (
	"time"

	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/readiness"
	"github.com/ferrymigrate/ferry/traffic"
)

// Inputs and results of every activity: one struct in, one struct out, so
// fields can be added without breaking running workflows. None may carry a
// secret.

// DiscoverAppInput asks for one app's VMs and their drift from the plan.
type DiscoverAppInput struct {
	Plan PlanRef `json:"plan"`
}

// Drift is one difference between the plan and vCenter.
type Drift struct {
	Kind   string `json:"kind"` // added, removed, resized, renamed
	VMRef  string `json:"vmRef"`
	VMName string `json:"vmName"`
	Detail string `json:"detail"`
}

// DiscoverAppResult is what vCenter holds for the app now.
type DiscoverAppResult struct {
	VMs   []inventory.VM `json:"vms"`
	Drift []Drift        `json:"drift,omitempty"`
	// Readiness of the VMs as discovered, with the findings the reviewed
	// plan accepts marked accepted (nil in results recorded before it).
	Readiness *readiness.AppReport `json:"readiness,omitempty"`
}

// CheckDependenciesInput asks who the app talks to and who talks to it.
type CheckDependenciesInput struct {
	Plan PlanRef `json:"plan"`
	// Migrated names apps already on GCP. Workflows do not set it; the
	// activity reads them from visibility (kept for older histories).
	Migrated []string `json:"migrated,omitempty"`
}

// CheckDependenciesResult is the app's place in the dependency graph.
type CheckDependenciesResult struct {
	DependsOn   []string `json:"dependsOn,omitempty"`
	Dependants  []string `json:"dependants,omitempty"`
	BlastRadius []string `json:"blastRadius,omitempty"` // transitive dependants
	LeftBehind  []string `json:"leftBehind,omitempty"`  // dependencies that stay in the DC
	Warnings    []string `json:"warnings,omitempty"`
	// Migrated are the apps counted as already on GCP: the input's and
	// those whose migration visibility shows Done.
	Migrated []string `json:"migrated,omitempty"`
}

// TerraformInput names the app whose root module is rendered and run.
type TerraformInput struct {
	Plan PlanRef `json:"plan"`
}

// PlanSummary is terraform's plan, from `show -json`.
type PlanSummary struct {
	Add          int      `json:"add"`
	Change       int      `json:"change"`
	Destroy      int      `json:"destroy"`
	Resources    []string `json:"resources"` // addresses with their action, e.g. "create google_compute_instance.web_1"
	MachineTypes []string `json:"machineTypes,omitempty"`
	MonthlyUSD   float64  `json:"monthlyUSD"`
	// InState: resources of the app that already exist (an earlier run
	// left them); a rollback of this run removes them too.
	InState int `json:"inState,omitempty"`
	// Hash identifies the planned changes; apply refuses a plan whose hash
	// differs from the approved one.
	Hash string `json:"hash"`
}

// TerraformPlanResult is the evidence for the approve-plan gate.
type TerraformPlanResult struct {
	Summary PlanSummary `json:"summary"`
}

// TerraformApplyInput applies the app's module if its plan still matches
// the approved one.
type TerraformApplyInput struct {
	Plan             PlanRef `json:"plan"`
	ApprovedPlanHash string  `json:"approvedPlanHash"`
}

// TerraformApplyResult lists what now exists.
type TerraformApplyResult struct {
	Outputs    map[string]string `json:"outputs,omitempty"`
	InstanceIP map[string]string `json:"instanceIP,omitempty"` // GCE name -> internal IP
	Changed    bool              `json:"changed"`
}

// TerraformDestroyResult reports a destroy.
type TerraformDestroyResult struct {
	Destroyed int `json:"destroyed"`
}

// RunHookInput runs one hook from the plan. Commands come only from the
// plan file, never from a signal.
type RunHookInput struct {
	Plan PlanRef `json:"plan"`
	Hook string  `json:"hook"` // the hook's name in the plan
}

// HookEvidence is a hook's captured, truncated and redacted output.
type HookEvidence struct {
	Name      string        `json:"name"`
	At        string        `json:"at"`
	ExitCode  int           `json:"exitCode"`
	Duration  time.Duration `json:"duration"`
	Output    string        `json:"output"`
	Truncated bool          `json:"truncated,omitempty"`
}

// RunHookResult is the evidence a hook leaves for the next gate.
type RunHookResult struct {
	Evidence HookEvidence `json:"evidence"`
}

// HealthCheckInput probes the app's GCP instances.
type HealthCheckInput struct {
	Plan PlanRef `json:"plan"`
}

// HealthCheckResult is per-instance health.
type HealthCheckResult struct {
	Healthy   int      `json:"healthy"`
	Unhealthy int      `json:"unhealthy"`
	Details   []string `json:"details,omitempty"`
}

// ShiftTrafficInput sets the share of traffic that goes to GCP.
type ShiftTrafficInput struct {
	Plan    PlanRef `json:"plan"`
	Percent int     `json:"percent"` // 0..100 to GCP
}

// ShiftTrafficResult reports the weights now in effect.
type ShiftTrafficResult struct {
	GCPPercent int       `json:"gcpPercent"`
	At         time.Time `json:"at"`
}

// SLOGateInput measures the app after a traffic step.
type SLOGateInput struct {
	Plan    PlanRef `json:"plan"`
	Percent int     `json:"percent"`
}

// SLOGateResult is the gate's verdict with its measurements.
type SLOGateResult struct {
	Pass         bool          `json:"pass"`
	Reason       string        `json:"reason,omitempty"`
	Requests     int           `json:"requests"`
	ErrorRatio   float64       `json:"errorRatio"`
	P95          time.Duration `json:"p95"`
	Prometheus   *float64      `json:"prometheus,omitempty"`
	MeasuredFrom []string      `json:"measuredFrom,omitempty"`
	// WatchSLO: the evaluations through the bake (the first and the
	// latest, traffic.MaxSLOSamples at most) and how many there were.
	Samples     []traffic.SLOSample `json:"samples,omitempty"`
	Evaluations int                 `json:"evaluations,omitempty"`
}

// TrafficToDatacenterInput sends all traffic back to the datacenter in one
// API call: the first step of every rollback.
type TrafficToDatacenterInput struct {
	Plan PlanRef `json:"plan"`
}

// SourcesInput names the app's source VMs (by ref and name, checked before
// every action).
type SourcesInput struct {
	Plan PlanRef   `json:"plan"`
	Date time.Time `json:"date,omitempty"` // decommission date for the tag
	// WasOff (PowerOnSources) names the VMs (refs) that were powered off
	// when the migration discovered them: a rollback leaves them off.
	WasOff []string `json:"wasOff,omitempty"`
}

// SourcesResult lists what was done to which VM.
type SourcesResult struct {
	Actions []string `json:"actions"` // e.g. "vm-42 web-1: guest shutdown"
}

// NotifyInput is one notification.
type NotifyInput struct {
	Event string `json:"event"` // gate-waiting, gate-reminder, parked, rollback, cutover-done, decommission-done
	App   string `json:"app"`
	Owner string `json:"owner,omitempty"`
	Stage string `json:"stage"`
	// Needed says what a person must do, e.g. "approve cutover (approvers: ana, bo)".
	Needed     string `json:"needed"`
	WorkflowID string `json:"workflowID"`
	Runbook    string `json:"runbook,omitempty"` // reason; the sink links it
	AppRunbook string `json:"appRunbook,omitempty"`
	Detail     string `json:"detail,omitempty"`
}
