package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ferrymigrate/ferry/tracking"
)

func TestOutputSVGOnlyForBurndown(t *testing.T) {
	_, err := run(t, "status", "-o", "svg")
	if err == nil || !strings.Contains(err.Error(), "only 'ferry burndown' draws SVG") {
		t.Fatalf("status -o svg: %v", err)
	}
}

func TestDashboardRefusesRemote(t *testing.T) {
	_, err := run(t, "dashboard", "--listen", "0.0.0.0:8080")
	if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
		t.Fatalf("dashboard on 0.0.0.0: %v", err)
	}
}

func TestStatusRows(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	two := 2
	rows := []tracking.Row{
		{App: "crm", Stage: "ApproveCutover", Wave: "wave-1", Owner: "bo@x", Gate: "cutover", Approvers: []string{"bo@x", "cy@x"},
			WaitingSince: now.Add(-3 * time.Hour), Refused: &two, Runbook: "runbooks/gate-approve-cutover.md", InPlan: true},
		{App: "ledger", Stage: "NotStarted", Wave: "wave-2", InPlan: true},
		{App: "old", Stage: "Blocked", LastError: "health-check-failed: " + strings.Repeat("x", 100), Runbook: "runbooks/health-check-failed.md"},
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	statusRows(tw, rows, now)
	_ = tw.Flush()
	out := b.String()
	for _, want := range []string{"APP", "REFUSED", "cutover (bo@x, cy@x)", "(3h)", "runbooks/gate-approve-cutover.md", "old (not in plan)", "health-check-failed: xxx", "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], " 2 ") {
		t.Errorf("want header + 3 rows with the refused count:\n%s", out)
	}
}

// Names, owners and error text come from vCenter and from signals: a
// newline or tab must not add a row or column, an escape sequence must not
// reach the terminal.
func TestStatusRowsEscapeUntrustedText(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	rows := []tracking.Row{
		{App: "crm\nforged\tDone", Stage: "ApproveCutover", Wave: "wave-1\x1b[2J", Owner: "bo@x\u202e", Gate: "cutover",
			Approvers: []string{"ana\r\x1b]0;pwned\x07"}, LastError: "hook-failed: \x1b[31mred", InPlan: true},
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	statusRows(tw, rows, now)
	_ = tw.Flush()
	out := b.String()
	for _, bad := range []string{"\x1b", "\u202e", "\r", "\x07"} {
		if strings.Contains(out, bad) {
			t.Errorf("table holds %q:\n%q", bad, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 {
		t.Errorf("want header + 1 row, got %d lines:\n%s", len(lines), out)
	}
	for _, want := range []string{`crm\nforged\tDone`, `wave-1\x1b[2J`, `bo@x\u202e`, `ana\r\x1b]0;pwned\x07`} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
