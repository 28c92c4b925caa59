// Package runbooks holds a markdown runbook for every failure reason and
// every gate ferry can park on, embedded in the binary, and the typed
// reasons that map to them.
package runbooks

// Reason is a typed failure or wait reason. Activities return errors whose
// Temporal application error type is the Reason string, so the workflow can
// park with the right runbook.
type Reason string

// Failure reasons.
const (
	ReasonVCenterUnreachable  Reason = "vcenter-unreachable"
	ReasonVCenterAuth         Reason = "vcenter-auth"
	ReasonVCenterPermission   Reason = "vcenter-permission"
	ReasonVCenterFault        Reason = "vcenter-fault"
	ReasonInventoryDrift      Reason = "inventory-drift"
	ReasonVMIdentityMismatch  Reason = "vm-identity-mismatch"
	ReasonDependencyLeft      Reason = "dependency-left-behind"
	ReasonPlanInvalid         Reason = "plan-invalid"
	ReasonTerraformPlan       Reason = "terraform-plan-failed"
	ReasonTerraformApply      Reason = "terraform-apply-failed"
	ReasonTerraformDestroy    Reason = "terraform-destroy-failed"
	ReasonTerraformLocked     Reason = "terraform-state-locked"
	ReasonTerraformPlanDrift  Reason = "terraform-plan-changed"
	ReasonGCPAPI              Reason = "gcp-api-error"
	ReasonHookFailed          Reason = "hook-failed"
	ReasonHookTimeout         Reason = "hook-timeout"
	ReasonHealthCheck         Reason = "health-check-failed"
	ReasonTrafficShift        Reason = "traffic-shift-failed"
	ReasonSLOGate             Reason = "slo-gate-failed"
	ReasonDecommission        Reason = "decommission-failed"
	ReasonRollbackFailed      Reason = "rollback-failed"
	ReasonUnauthorizedApprove Reason = "unauthorized-approver"
	// ReasonFlowsInvalid: a connection record file cannot be read or parsed
	// (activities.ReasonFlowsInvalid is the same value).
	ReasonFlowsInvalid Reason = "flows-invalid"
	// ReasonPlanDigestUnknown: the worker's plan store does not hold the
	// reviewed plan the workflow was started from.
	ReasonPlanDigestUnknown Reason = "plan-digest-unknown"
	// ReasonStartRefused: the start was not signed by someone the plan
	// allows to start this app (the workflow ends, nothing ran).
	ReasonStartRefused Reason = "start-refused"
	// ReasonTerraformForeign: an object with the app's resource name exists
	// but is not labelled (or described) as this app's: never adopted.
	ReasonTerraformForeign Reason = "terraform-foreign-object"
	// ReasonVMNotReady: a VM of the app is not ready for Compute Engine
	// (readiness) and the reviewed plan does not accept the finding: the
	// migration cannot pass the plan gate.
	ReasonVMNotReady Reason = "vm-not-ready"
	// ReasonReplicationCapacity: a replication waits for room under the
	// estate-wide caps (per project, vCenter, ESXi host, datastore);
	// retried until it starts.
	ReasonReplicationCapacity Reason = "replication-capacity"
	// ReasonReplicationFailed: Migrate to Virtual Machines refused or
	// failed a VM's replication (source VM not found, ERROR, finalized,
	// expired beyond extension, a MigratingVm that is not this app's).
	ReasonReplicationFailed Reason = "replication-failed"
	// ReasonTestCloneFailed: the test clone could not run, failed, or a
	// clone was unhealthy.
	ReasonTestCloneFailed Reason = "test-clone-failed"
	// ReasonCutoverJobFailed: a cutover job (final sync) failed or was
	// cancelled; the source VMs are shut down.
	ReasonCutoverJobFailed Reason = "cutover-job-failed"
	// ReasonReplicationCleanup: a clone job, test instance, test disk or
	// MigratingVm could not be removed; retried until it is.
	ReasonReplicationCleanup Reason = "replication-cleanup-failed"
	// ReasonDependencyLost: a dependency this wave app's cutover is held
	// for rolled back, was rejected or failed: it will not cut over.
	ReasonDependencyLost Reason = "dependency-lost"
	// ReasonDependencyHoldTimeout: the cutover waited longer than the
	// plan's hold_timeout for its dependencies to cut over.
	ReasonDependencyHoldTimeout Reason = "dependency-hold-timeout"
	// ReasonDependencyNotStarted: a dependency in an earlier wave has no
	// migration running: holding the cutover for it would wait for
	// nothing.
	ReasonDependencyNotStarted Reason = "dependency-not-started"
	// ReasonCancelRequested: the workflow was cancelled through Temporal
	// (temporal workflow cancel, or its wave's cancel). A cancel names no
	// verified person, so the migration parks for one instead of rolling
	// back or going on.
	ReasonCancelRequested Reason = "cancel-requested"
)

// Gate and wait reasons: the workflow is healthy and waits for people or
// for time.
const (
	ReasonGateApprovePlan         Reason = "gate-approve-plan"
	ReasonGateApproveCutover      Reason = "gate-approve-cutover"
	ReasonGateApproveDecommission Reason = "gate-approve-decommission"
	ReasonGateAckDependencies     Reason = "gate-ack-dependencies"
	ReasonChangeWindow            Reason = "waiting-change-window"
	ReasonRetention               Reason = "decommission-retention"
	// ReasonSyncLag: the cutover waits until the app's sync (data =
	// "sync") is less than max_lag behind.
	ReasonSyncLag Reason = "sync-lag-above-max"
)

// ReasonUnknown is an error that carries no ferry reason (a bug, or a
// failure ferry did not foresee).
const ReasonUnknown Reason = "unknown"

// failures and gates list every reason in declaration order; All returns
// them and the coverage test checks each has a runbook.
var (
	failures = []Reason{
		ReasonVCenterUnreachable, ReasonVCenterAuth, ReasonVCenterPermission, ReasonVCenterFault,
		ReasonInventoryDrift, ReasonVMIdentityMismatch, ReasonDependencyLeft, ReasonPlanInvalid,
		ReasonTerraformPlan, ReasonTerraformApply, ReasonTerraformDestroy, ReasonTerraformLocked,
		ReasonTerraformPlanDrift, ReasonGCPAPI, ReasonHookFailed, ReasonHookTimeout,
		ReasonHealthCheck, ReasonTrafficShift, ReasonSLOGate, ReasonDecommission,
		ReasonRollbackFailed, ReasonUnauthorizedApprove, ReasonFlowsInvalid, ReasonPlanDigestUnknown,
		ReasonStartRefused, ReasonTerraformForeign, ReasonVMNotReady, ReasonReplicationCapacity,
		ReasonReplicationFailed, ReasonTestCloneFailed, ReasonCutoverJobFailed, ReasonReplicationCleanup,
		ReasonDependencyLost, ReasonDependencyHoldTimeout, ReasonDependencyNotStarted, ReasonCancelRequested, ReasonUnknown,
	}
	gates = []Reason{
		ReasonGateApprovePlan, ReasonGateApproveCutover, ReasonGateApproveDecommission,
		ReasonGateAckDependencies, ReasonChangeWindow, ReasonRetention, ReasonSyncLag,
	}
)
