// Package workflows holds ferry's deterministic Temporal workflow code: the
// per-app migration (MigrateApp) and the wave that runs many of them. Side
// effects live in package activities; names shared with the CLI, the UI and
// the dashboard are the constants below.
package workflows

import (
	"sort"

	"go.temporal.io/sdk/temporal"
)

// TaskQueue is the one task queue every ferry worker polls.
const TaskQueue = "ferry"

// Workflow type names, registered explicitly so renames stay compatible.
const (
	MigrateAppWorkflowName = "MigrateApp"
	WaveWorkflowName       = "Wave"
)

// AppWorkflowID is the ID of an app's migration: one live migration per app.
func AppWorkflowID(app string) string { return "ferry-app-" + app }

// WaveWorkflowID is the ID of a wave workflow.
func WaveWorkflowID(wave string) string { return "ferry-wave-" + wave }

// Signal names. The same actions exist as Updates (UpdateX) so the CLI hears
// at once whether it was accepted.
const (
	SignalApprove  = "approve"
	SignalReject   = "reject"
	SignalRetry    = "retry"
	SignalSkip     = "skip"
	SignalRollback = "rollback"

	UpdateApprove  = "approve-update"
	UpdateReject   = "reject-update"
	UpdateRetry    = "retry-update"
	UpdateSkip     = "skip-update"
	UpdateRollback = "rollback-update"
)

// Query names.
const (
	QueryStatus = "status"
)

// Stage names, in order. Blocked, RollingBack, RolledBack, Rejected and Done
// are states outside the normal sequence.
const (
	StageDiscover            = "Discover"
	StageMapDependencies     = "MapDependencies"
	StagePlan                = "Plan"
	StageApprovePlan         = "ApprovePlan"
	StageProvision           = "Provision"
	StageSyncVerify          = "SyncVerify"
	StageApproveCutover      = "ApproveCutover"
	StageCutover             = "Cutover"
	StageBake                = "Bake"
	StageApproveDecommission = "ApproveDecommission"
	StageDecommission        = "Decommission"
	StageDone                = "Done"
	StageBlocked             = "Blocked"
	StageRollingBack         = "RollingBack"
	StageRolledBack          = "RolledBack"
	StageRejected            = "Rejected"
	StageRefused             = "Refused"    // the start was not verified: nothing ran
	StageNotStarted          = "NotStarted" // used by status for apps without a workflow
)

// Gate (approval stage) names used in approve/reject payloads.
const (
	GatePlan         = "plan"
	GateCutover      = "cutover"
	GateDecommission = "decommission"
)

// Search attributes ferry upserts on every stage change. They must be
// registered on the namespace (ferry dev does it; see README for a cluster).
var (
	SAApp          = temporal.NewSearchAttributeKeyKeyword("FerryApp")
	SAWave         = temporal.NewSearchAttributeKeyKeyword("FerryWave")
	SAStage        = temporal.NewSearchAttributeKeyKeyword("FerryStage")
	SAOwner        = temporal.NewSearchAttributeKeyKeyword("FerryOwner")
	SATier         = temporal.NewSearchAttributeKeyKeyword("FerryTier")
	SAWaitingOn    = temporal.NewSearchAttributeKeyKeyword("FerryWaitingOn")
	SAWaitingSince = temporal.NewSearchAttributeKeyTime("FerryWaitingSince")
	SALastError    = temporal.NewSearchAttributeKeyString("FerryLastError")
	SAVMs          = temporal.NewSearchAttributeKeyInt64("FerryVMs")
	SAVCPU         = temporal.NewSearchAttributeKeyInt64("FerryVCPU")
	SADiskGB       = temporal.NewSearchAttributeKeyInt64("FerryDiskGB")
	SACutoverAt    = temporal.NewSearchAttributeKeyTime("FerryCutoverAt")
	SADoneAt       = temporal.NewSearchAttributeKeyTime("FerryDoneAt")
)

// SearchAttributeTypes lists (within the dev server's SQL visibility limits:
// at most 3 Datetime, 3 Int, 3 Text, 10 Keyword; the start time is the
// workflow's own StartTime) every ferry search attribute with the type name
// `temporal operator search-attribute create` and `server start-dev
// --search-attribute` expect.
var SearchAttributeTypes = map[string]string{
	"FerryApp":          "Keyword",
	"FerryWave":         "Keyword",
	"FerryStage":        "Keyword",
	"FerryOwner":        "Keyword",
	"FerryTier":         "Keyword",
	"FerryWaitingOn":    "Keyword",
	"FerryWaitingSince": "Datetime",
	"FerryLastError":    "Text",
	"FerryVMs":          "Int",
	"FerryVCPU":         "Int",
	"FerryDiskGB":       "Int",
	"FerryCutoverAt":    "Datetime",
	"FerryDoneAt":       "Datetime",
}

// SearchAttributeFlags are the `temporal server start-dev` arguments that
// register ferry's search attributes, in a stable order.
func SearchAttributeFlags() []string {
	names := make([]string, 0, len(SearchAttributeTypes))
	for n := range SearchAttributeTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	var args []string
	for _, n := range names {
		args = append(args, "--search-attribute", n+"="+SearchAttributeTypes[n])
	}
	return args
}
