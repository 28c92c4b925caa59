package tracking

import (
	"strings"
	"testing"
)

// FerryLastError holds only a reason code now (error text stays in the
// encrypted payloads); the row still links the reason's runbook.
func TestRowLinksRunbookOfReasonCode(t *testing.T) {
	execs := map[string]Execution{
		"crm":    {WorkflowID: "ferry-app-crm", Status: "Running", Stage: "Blocked", WaitingOn: "retry", LastError: "hook-failed"},
		"ledger": {WorkflowID: "ferry-app-ledger", Status: "Running", Stage: "Blocked", WaitingOn: "retry", LastError: "health-check-failed: 0 of 1 healthy"},
		"old":    {WorkflowID: "ferry-app-old", Status: "Running", Stage: "Blocked", LastError: "OpError"},
	}
	by := map[string]Row{}
	for _, r := range Rows(nil, execs) {
		by[r.App] = r
	}
	if !strings.HasSuffix(by["crm"].Runbook, "hook-failed.md") {
		t.Errorf("reason code: runbook %q", by["crm"].Runbook)
	}
	if !strings.HasSuffix(by["ledger"].Runbook, "health-check-failed.md") {
		t.Errorf("reason: message: runbook %q", by["ledger"].Runbook)
	}
	if by["old"].Runbook != "" {
		t.Errorf("unknown reason links %q", by["old"].Runbook)
	}
}
