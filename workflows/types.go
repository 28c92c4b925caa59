package workflows

import (
	"time"

	"github.com/ferrymigrate/ferry/activities"
)

// MigrateAppInput starts one app's migration. It names the app and the
// reviewed plan; the worker resolves the spec from its own plan store.
type MigrateAppInput struct {
	App        string `json:"app"`
	PlanDigest string `json:"planDigest"` // sha256:… of the published plan bundle
	// StartedBy is who started the migration, proven by Signature over
	// the start statement (identity.Statement kind "start"); they may not
	// approve its cutover (separation of duties).
	StartedBy string    `json:"startedBy"`
	IssuedAt  time.Time `json:"issuedAt,omitempty"`
	Signature string    `json:"signature,omitempty"`
	// Set only by a wave (the workflow checks its parent is that wave):
	// the app reports its cutover to the wave, and HoldCutover makes the
	// cutover wait for the wave's release-cutover.
	WaveWorkflowID string `json:"waveWorkflowID,omitempty"`
	HoldCutover    bool   `json:"holdCutover,omitempty"`
	// WaveToken authenticates the messages between the wave and this app.
	WaveToken string `json:"waveToken,omitempty"`
}

// Approval is the payload of the approve and reject signals and updates.
// Signature is the approver's SSH signature over the statement
// (identity.Statement) for this run, gate and gate opening (Seq).
type Approval struct {
	Stage     string    `json:"stage"` // plan, cutover, decommission (or dependencies)
	Approver  string    `json:"approver"`
	Comment   string    `json:"comment,omitempty"`
	Seq       int       `json:"seq,omitempty"`
	IssuedAt  time.Time `json:"issuedAt,omitempty"`
	Signature string    `json:"signature,omitempty"`
}

// Action is the payload of retry, skip and rollback, signed like approvals
// (retry and skip are bound to the park they answer through Seq).
type Action struct {
	By        string    `json:"by"`
	Reason    string    `json:"reason,omitempty"`
	Seq       int       `json:"seq,omitempty"`
	IssuedAt  time.Time `json:"issuedAt,omitempty"`
	Signature string    `json:"signature,omitempty"`
}

// ApprovalRecord is an approval or rejection that the workflow accepted.
type ApprovalRecord struct {
	Approval
	Decision string    `json:"decision"` // approved, rejected
	At       time.Time `json:"at"`
	// Verified: the signature checked out against a key the plan lists
	// (KeyFingerprint). Unverified approvals count only where the plan
	// sets allow_unverified.
	Verified       bool   `json:"verified"`
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
}

// ActionRecord is a retry, skip or rollback that the workflow accepted.
type ActionRecord struct {
	Kind           string    `json:"kind"`
	By             string    `json:"by"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
	Verified       bool      `json:"verified"`
	KeyFingerprint string    `json:"keyFingerprint,omitempty"`
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
	Gate      string    `json:"gate"`          // plan, cutover, decommission, retry, change-window, ...
	Seq       int       `json:"seq,omitempty"` // this opening of the gate or park; signatures name it
	Approvers []string  `json:"approvers,omitempty"`
	Required  int       `json:"required,omitempty"` // approvals needed (quorum)
	Approved  []string  `json:"approved,omitempty"` // approvals so far at this opening
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
	// Data strategies (data.go): the replication's state and final-sync
	// forecast, the test clone, the cutover jobs, the cleanup, and the
	// sync's lag over time (the last measurements).
	Replication        *activities.ReplicationStatusResult  `json:"replication,omitempty"`
	TestClone          *activities.TestCloneResult          `json:"testClone,omitempty"`
	ReplicationCutover *activities.CutoverReplicationResult `json:"replicationCutover,omitempty"`
	Cleanup            *activities.CleanupReplicationResult `json:"cleanup,omitempty"`
	SyncLag            []activities.SyncLagResult           `json:"syncLag,omitempty"`
	// Extended lists the migrations extended while the app waited ("VM
	// until DATE").
	Extended []string `json:"extended,omitempty"`
	// ClientDNS: the client names' TTL wait, where they point, and when
	// they were restored and finalized (clientdns.go).
	ClientDNS *ClientDNSEvidence `json:"clientDNS,omitempty"`
	// OtherWaves: where the app's dependencies in other waves stood at
	// the last look of the cutover's hold (otherwaves.go).
	OtherWaves *activities.DependencyProgressResult `json:"otherWaves,omitempty"`
}

// Status is what the status query returns.
type Status struct {
	App        string `json:"app"`
	PlanDigest string `json:"planDigest,omitempty"`
	NewerPlan  string `json:"newerPlan,omitempty"` // a newer published plan changes this app
	// RunID is the run that signed approvals and actions name: the run as
	// it was started, which a Temporal reset keeps (signingRunID).
	RunID          string           `json:"runID,omitempty"`
	Wave           string           `json:"wave"`
	Owner          string           `json:"owner,omitempty"`
	Stage          string           `json:"stage"`
	StartedBy      string           `json:"startedBy"`
	Waiting        *Waiting         `json:"waiting,omitempty"`
	LastError      *StepError       `json:"lastError,omitempty"`
	History        []StageEvent     `json:"history"`
	StartVerified  bool             `json:"startVerified"`
	Approvals      []ApprovalRecord `json:"approvals"`
	Actions        []ActionRecord   `json:"actions,omitempty"`
	Audit          []AuditEntry     `json:"audit"`
	Evidence       Evidence         `json:"evidence"`
	TrafficPercent int              `json:"trafficPercent"` // share of traffic on GCP
	RollbackReason string           `json:"rollbackReason,omitempty"`
	Skipped        []string         `json:"skipped,omitempty"`
}

// MigrateAppResult is how a migration ended.
type MigrateAppResult struct {
	Outcome string `json:"outcome"` // Done, RolledBack, Rejected, Refused
	Status  Status `json:"status"`
}

// WaveInput starts a wave of a reviewed plan, signed like a migration start
// (kind "start-wave").
type WaveInput struct {
	Wave       string    `json:"wave"`
	PlanDigest string    `json:"planDigest"`
	StartedBy  string    `json:"startedBy"`
	IssuedAt   time.Time `json:"issuedAt,omitempty"`
	Signature  string    `json:"signature,omitempty"`
}

// WaveAppState is one app's progress as the wave sees it.
type WaveAppState struct {
	App     string   `json:"app"`
	State   AppState `json:"state"`
	Error   string   `json:"error,omitempty"`
	Started bool     `json:"started"`
}

// WaveStatus is what the wave's status query returns.
type WaveStatus struct {
	Wave        string         `json:"wave"`
	PlanDigest  string         `json:"planDigest,omitempty"`
	Refused     string         `json:"refused,omitempty"` // why the wave did not start
	Audit       []AuditEntry   `json:"audit,omitempty"`
	Concurrency int            `json:"concurrency"`
	Order       []string       `json:"order"`
	StartOrder  []string       `json:"startOrder"` // the order the migrations were started in
	Apps        []WaveAppState `json:"apps"`
	Running     int            `json:"running"`
	Finished    int            `json:"finished"`
}

// AppState is an app's state as its wave sees it.
type AppState string

// App states in a wave.
const (
	AppPending    AppState = "pending"
	AppRunning    AppState = "running"
	AppCutover    AppState = "cutover"
	AppDone       AppState = "done"
	AppRolledBack AppState = "rolled-back"
	AppRejected   AppState = "rejected"
	AppFailed     AppState = "failed"
)

// Finished reports whether the app's migration has ended.
func (s AppState) Finished() bool {
	return s == AppDone || s == AppRolledBack || s == AppRejected || s == AppFailed
}

// Signals between a wave and its apps. Their payload is a WaveMessage whose
// token only the wave and its children know.
const (
	SignalAppCutover     = "app-cutover"     // app -> wave
	SignalReleaseCutover = "release-cutover" // wave -> app
	SignalDependencyLost = "dependency-lost" // wave -> app: a dependency rolled back, was rejected or failed
)

// WaveMessage is the payload of app-cutover and release-cutover.
type WaveMessage struct {
	App   string `json:"app"`
	Token string `json:"token"`
	// Reason: why a dependency will not cut over (dependency-lost).
	Reason string `json:"reason,omitempty"`
}
