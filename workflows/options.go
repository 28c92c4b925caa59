package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/runbooks"
)

// nonRetryable lists the reasons no retry can fix: they need a person.
var nonRetryable = []string{
	string(runbooks.ReasonVCenterAuth),
	string(runbooks.ReasonVCenterPermission),
	string(runbooks.ReasonInventoryDrift),
	string(runbooks.ReasonVMIdentityMismatch),
	string(runbooks.ReasonPlanInvalid),
	string(runbooks.ReasonTerraformPlanDrift),
	string(runbooks.ReasonHookFailed),
	string(runbooks.ReasonHookTimeout),
	string(runbooks.ReasonSLOGate),
	string(runbooks.ReasonPlanDigestUnknown),
}

func retry(initial time.Duration, maxAttempts int32) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        initial,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        maxAttempts,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// Activity options per stage, explicit: each says how long the work may
// take, how often it must heartbeat and how it is retried.
var (
	optsResolve = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retry(2*time.Second, 5),
	}
	optsDiscover = workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(2*time.Second, 5),
	}
	optsDependencies = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry(2*time.Second, 5),
	}
	optsTerraformPlan = workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(5*time.Second, 3),
	}
	optsTerraformApply = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(10*time.Second, 3),
	}
	optsHook = workflow.ActivityOptions{
		// The hook's own timeout (from the plan) is enforced by the
		// activity; this bounds a lost worker.
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(5*time.Second, 1),
	}
	optsHealth = workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         retry(5*time.Second, 10),
	}
	optsTraffic = workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         retry(500*time.Millisecond, 10),
	}
	// Rollback traffic must be fast: short timeouts, quick retries, and no
	// attempt limit — traffic has to go back.
	optsTrafficRollback = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	}
	optsSLO = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(2*time.Second, 3),
	}
	optsVSphere = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(5*time.Second, 5),
	}
	// Client names: Cloud DNS changes, or the plan's external DNS hook
	// (which heartbeats and has its own timeout).
	optsClientDNS = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         retry(time.Second, 10),
	}
	optsNotify = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         retry(2*time.Second, 3),
	}
)
