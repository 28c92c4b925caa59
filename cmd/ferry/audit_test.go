package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ferrymigrate/ferry/workflows"
)

// A cancel through Temporal is not a refusal: migrate status and wave
// status show it under AUDIT, escaped like every string from a workflow.
func TestStatusTablesShowTheAudit(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	cancel := workflows.AuditEntry{At: at, Signal: "cancel", By: "temporal (unverified cancel)",
		Reason: "cancel requested through Temporal\x1b[2J; it parks at the next step boundary"}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	statusTable(tw, workflows.Status{App: "billing-api", Stage: workflows.StageBlocked, Audit: []workflows.AuditEntry{cancel}})
	waveTable(tw, workflows.WaveStatus{Wave: "wave-1", Concurrency: 2,
		Apps:  []workflows.WaveAppState{{App: "billing-api", State: workflows.AppFailed, Error: "canceled"}},
		Audit: []workflows.AuditEntry{{At: at, Signal: "cancel", By: "temporal (unverified cancel)", Reason: "passed on to billing-api"}}})
	_ = tw.Flush()
	out := b.String()
	for _, want := range []string{"AUDIT", "cancel by temporal (unverified cancel)", "parks at the next step boundary", "wave wave-1", "passed on to billing-api"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape sequence from the workflow reached the terminal:\n%q", out)
	}
}
