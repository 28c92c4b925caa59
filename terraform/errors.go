package terraform

import (
	"fmt"
	"strings"
)

// Reason codes of the runner's typed errors (the runbooks of the same
// names say what to do).
const (
	ReasonPlanChanged   = "terraform-plan-changed"
	ReasonForeignObject = "terraform-foreign-object"
	ReasonStateLocked   = "terraform-state-locked"
)

// Error is a failed terraform run with terraform's own diagnostics.
type Error struct {
	Op, App     string
	Diagnostics []Diagnostic
	Err         error
}

func (e *Error) Error() string {
	var parts []string
	seen := map[string]bool{}
	for _, d := range e.Diagnostics {
		if s := d.String(); !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	msg := fmt.Sprintf("terraform %s of app %q failed", e.Op, e.App)
	if len(parts) > 0 {
		return msg + ": " + strings.Join(parts, "; ")
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// PlanDriftError says the plan to apply is not the approved one: the
// module or the change set differs (another resource, action or attribute
// value), or a post-adoption plan would change more than what was
// approved. It is not retryable: the plan goes back to its gate with the
// difference as evidence.
type PlanDriftError struct {
	App, Approved, Now string
	Summary            PlanSummary
	// Differences lists what differs, by resource, naming attributes and
	// never their values.
	Differences []ResourceDiff
	// Why says what kind of difference it is when not the change set alone.
	Why string
}

// PlanChangedError is PlanDriftError under the name of its reason code.
type PlanChangedError = PlanDriftError

func (e *PlanDriftError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "terraform plan of app %q changed since it was approved (approved %s, now %s: %d to add, %d to change, %d to destroy)",
		e.App, short(e.Approved), short(e.Now), e.Summary.Add, e.Summary.Change, e.Summary.Destroy)
	if e.Why != "" {
		b.WriteString(": " + e.Why)
	}
	for i, d := range e.Differences {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more resources", len(e.Differences)-10)
			break
		}
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep + d.String())
	}
	b.WriteString(": retry the plan stage and approve the new plan")
	return b.String()
}

// Reason is the error's reason code.
func (e *PlanDriftError) Reason() string { return ReasonPlanChanged }

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ForeignObjectError says an object the app's module would create already
// exists and is not this app's (no managed-by=ferry and app=<app> labels,
// or, for resources without labels, no ferry ownership note in its
// description): ferry does not adopt it. Not retryable.
type ForeignObjectError struct {
	App      string
	Address  string // the module's resource address
	ImportID string // the object, as terraform import names it
	Why      string // which ownership mark is missing
	// Err is the failed apply that found the object in the way.
	Err error
}

func (e *ForeignObjectError) Error() string {
	return fmt.Sprintf("terraform apply of app %q: %s already exists and is not this app's (%s), so ferry will not adopt it as %s: "+
		"find its owner; delete or rename it if it is abandoned, or rename the app in the plan (its resource names derive from it), then retry",
		e.App, e.ImportID, e.Why, e.Address)
}

func (e *ForeignObjectError) Unwrap() error { return e.Err }

// Reason is the error's reason code.
func (e *ForeignObjectError) Reason() string { return ReasonForeignObject }

// LockedError says another run holds the app's state lock.
type LockedError struct {
	App, ID, Who, Operation, Created string
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("terraform state of app %q is locked by %s (operation %s, since %s, lock ID %s): wait for that run to end; if it died, "+
		"run `terraform force-unlock %s` in its working directory after checking nobody else runs", e.App, orStr(e.Who, "someone"),
		orStr(e.Operation, "unknown"), orStr(e.Created, "unknown"), e.ID, e.ID)
}

// Reason is the error's reason code.
func (e *LockedError) Reason() string { return ReasonStateLocked }
