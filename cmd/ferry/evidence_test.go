package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/workflows"
)

// migrate status prints the evidence the workflow gathered, escaped: a
// hook name or an SLO reason from a hostile source cannot write control
// sequences to the terminal.
func TestStatusTableShowsEvidence(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	st := workflows.Status{App: "billing-api", Stage: workflows.StageBake, TrafficPercent: 100,
		Evidence: workflows.Evidence{
			Plan:        &activities.PlanSummary{Add: 7, MonthlyUSD: 212},
			Health:      &activities.HealthCheckResult{Healthy: 2},
			Replication: &activities.ReplicationStatusResult{Summary: "2 VMs ACTIVE, 5 cycles; final sync ≈ 6m"},
			SLO:         []activities.SLOGateResult{{Pass: false, Requests: 80, ErrorRatio: 0.25, Reason: "5xx ratio 0.250 > 0.010\x1b[2J"}},
			Hooks:       []activities.HookEvidence{{Name: "smoke\x1b]0;pwned\x07", ExitCode: 0, Duration: 1500 * time.Millisecond}},
			ClientDNS: &workflows.ClientDNSEvidence{Names: []string{"billing.corp.example."}, PointedAt: at,
				Addresses: []string{"203.0.113.7"}, Via: "load balancer (forwarding rule billing-api-fr)"},
		}}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	statusTable(tw, st)
	_ = tw.Flush()
	out := b.String()
	for _, want := range []string{"EVIDENCE", "7 to add", "~$212/month", "2 healthy", "final sync ≈ 6m",
		"pass: false, 80 requests, error ratio 0.250", "billing.corp.example.; pointed at 203.0.113.7 (load balancer (forwarding rule billing-api-fr))",
		"exit 0 in 1.5s"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("control characters reached the terminal: %q", out)
	}
}
