package workflows

import (
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/plan"
)

// MigrateAppInput starts one app's migration.
type MigrateAppInput struct {
	Spec plan.AppSpec `json:"spec"`
	// StartedBy is who started the migration; they may not approve its
	// cutover (separation of duties).
	StartedBy string `json:"startedBy"`
	// WaveWorkflowID is set when a wave started this migration; the app
	// then reports its cutover to the wave.
	WaveWorkflowID string `json:"waveWorkflowID,omitempty"`
	// HoldCutover makes the cutover wait for a release-cutover signal
	// (sent by the wave once this app's dependencies are cut over).
	HoldCutover bool `json:"holdCutover,omitempty"`
}

// Approval is the payload of the approve and reject signals and updates.
type Approval struct {
	Stage    string `json:"stage"` // plan, cutover, decommission (or ack-dependencies)
	Approver string `json:"approver"`
	Comment  string `json:"comment,omitempty"`
}

// Action is the payload of retry, skip and rollback.
type Action struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// ApprovalRecord is an approval or rejection that the workflow accepted.
type ApprovalRecord struct {
	Approval
	Decision string    `json:"decision"` // approved, rejected
	At       time.Time `json:"at"`
}

// AuditEntry records anything refused: unauthorized approvers, malformed
// payloads, approvals for a gate that is not open, rollback after
// decommission. Nothing sent to the workflow is silently dropped.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Signal string    `json:"signal"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason"`
}

// StageEvent is one entry of the stage history.
type StageEvent struct {
	Stage string    `json:"stage"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Waiting says what the workflow waits for.
type Waiting struct {
	Gate      string    `json:"gate"` // plan, cutover, decommission, retry, change-window, ...
	Approvers []string  `json:"approvers,omitempty"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until,omitempty"` // timers
	Hint      string    `json:"hint"`
}

// StepError is why a step parked.
type StepError struct {
	Stage   string    `json:"stage"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Runbook string    `json:"runbook"`
	At      time.Time `json:"at"`
}

// Evidence is what people see before they approve.
type Evidence struct {
	Discovery    *activities.DiscoverAppResult       `json:"discovery,omitempty"`
	Dependencies *activities.CheckDependenciesResult `json:"dependencies,omitempty"`
	Plan         *activities.PlanSummary             `json:"plan,omitempty"`
	Apply        *activities.TerraformApplyResult    `json:"apply,omitempty"`
	Hooks        []activities.HookEvidence           `json:"hooks,omitempty"`
	Health       *activities.HealthCheckResult       `json:"health,omitempty"`
	SLO          []activities.SLOGateResult          `json:"slo,omitempty"`
}

// Status is what the status query returns.
type Status struct {
	App            string           `json:"app"`
	Wave           string           `json:"wave"`
	Owner          string           `json:"owner,omitempty"`
	Stage          string           `json:"stage"`
	StartedBy      string           `json:"startedBy"`
	Waiting        *Waiting         `json:"waiting,omitempty"`
	LastError      *StepError       `json:"lastError,omitempty"`
	History        []StageEvent     `json:"history"`
	Approvals      []ApprovalRecord `json:"approvals"`
	Audit          []AuditEntry     `json:"audit"`
	Evidence       Evidence         `json:"evidence"`
	TrafficPercent int              `json:"trafficPercent"` // share of traffic on GCP
	RollbackReason string           `json:"rollbackReason,omitempty"`
	Skipped        []string         `json:"skipped,omitempty"`
}

// MigrateAppResult is how a migration ended.
type MigrateAppResult struct {
	Outcome string `json:"outcome"` // Done, RolledBack, Rejected
	Status  Status `json:"status"`
}

// WaveInput starts a wave.
type WaveInput struct {
	Wave      plan.Wave      `json:"wave"`
	Specs     []plan.AppSpec `json:"specs"`
	StartedBy string         `json:"startedBy"`
}

// WaveAppState is one app's progress as the wave sees it.
type WaveAppState struct {
	App     string `json:"app"`
	State   string `json:"state"` // pending, running, cutover, done, rolled-back, rejected, failed
	Error   string `json:"error,omitempty"`
	Started bool   `json:"started"`
}

// WaveStatus is what the wave's status query returns.
type WaveStatus struct {
	Wave        string         `json:"wave"`
	Concurrency int            `json:"concurrency"`
	Order       []string       `json:"order"`
	StartOrder  []string       `json:"startOrder"` // the order the migrations were started in
	Apps        []WaveAppState `json:"apps"`
	Running     int            `json:"running"`
	Finished    int            `json:"finished"`
}

// Signals between a wave and its apps.
const (
	SignalAppCutover     = "app-cutover"     // app -> wave: payload app name
	SignalReleaseCutover = "release-cutover" // wave -> app
)
