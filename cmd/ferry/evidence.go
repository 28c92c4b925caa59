package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferrymigrate/ferry/workflows"
)

// evidenceTable prints what the workflow measured and did, one line per
// piece of evidence, in the order the migration gathers it (the JSON
// output, -o json, has all of it).
func evidenceTable(tw *tabwriter.Writer, e workflows.Evidence) {
	var rows [][2]string
	add := func(k, v string) { rows = append(rows, [2]string{k, v}) }
	if p := e.Plan; p != nil {
		add("terraform plan", fmt.Sprintf("%d to add, %d to change, %d to destroy; ~$%.0f/month", p.Add, p.Change, p.Destroy, p.MonthlyUSD))
	}
	if a := e.Apply; a != nil {
		add("terraform apply", fmt.Sprintf("changed: %v, %d instances", a.Changed, len(a.InstanceIP)))
	}
	if r := e.Replication; r != nil {
		add("replication", r.Summary)
	}
	if len(e.Extended) > 0 {
		add("extended", strings.Join(e.Extended, ", "))
	}
	if c := e.TestClone; c != nil {
		var vms []string
		for _, v := range c.VMs {
			vms = append(vms, fmt.Sprintf("%s %s healthy=%v", v.VM, v.State, v.Healthy))
		}
		add("test clone", fmt.Sprintf("passed: %v (%s); removed %d", c.Passed, strings.Join(vms, ", "), len(c.Removed)))
	}
	if n := len(e.SyncLag); n > 0 {
		l := e.SyncLag[n-1]
		add("sync lag", fmt.Sprintf("%s at %s (max %s; %d measurements)", l.Lag, l.At.Local().Format(time.RFC3339), l.MaxLag, n))
	}
	if h := e.Health; h != nil {
		add("health", fmt.Sprintf("%d healthy, %d unhealthy", h.Healthy, h.Unhealthy))
	}
	if o := e.OtherWaves; o != nil && len(o.Watched) > 0 {
		v := fmt.Sprintf("cut over: %s", orNone(o.CutOver))
		if len(o.Pending) > 0 {
			v += "; pending: " + strings.Join(o.Pending, ", ")
		}
		if len(o.NotStarted) > 0 {
			v += "; not started: " + strings.Join(o.NotStarted, ", ")
		}
		if len(o.Lost) > 0 {
			v += "; lost: " + strings.Join(o.Lost, ", ")
		}
		add("earlier waves", v)
	}
	if c := e.ClientDNS; c != nil {
		v := strings.Join(c.Names, ", ")
		if !c.WaitUntil.IsZero() {
			v += "; old TTL out at " + c.WaitUntil.Local().Format(time.RFC3339)
		}
		if !c.PointedAt.IsZero() {
			v += fmt.Sprintf("; pointed at %s (%s) at %s", strings.Join(c.Addresses, " "), c.Via, c.PointedAt.Local().Format(time.RFC3339))
		}
		if !c.RestoredAt.IsZero() {
			v += "; restored at " + c.RestoredAt.Local().Format(time.RFC3339)
		}
		if !c.FinalizedAt.IsZero() {
			v += "; TTL back at " + c.FinalizedAt.Local().Format(time.RFC3339)
		}
		add("client names", v)
	}
	for _, s := range e.SLO {
		v := fmt.Sprintf("pass: %v, %d requests, error ratio %.3f, p95 %s", s.Pass, s.Requests, s.ErrorRatio, s.P95)
		if s.Reason != "" {
			v += "; " + s.Reason
		}
		add("SLO gate", v)
	}
	if c := e.ReplicationCutover; c != nil {
		add("replication cutover", fmt.Sprintf("%d VMs cut over, the longest job %s", len(c.VMs), c.Duration.Round(time.Second)))
	}
	if c := e.Cleanup; c != nil {
		add("replication cleanup", fmt.Sprintf("removed %d, kept %d", len(c.Removed), len(c.Kept)))
	}
	for _, h := range e.Hooks {
		add("hook "+h.Name, fmt.Sprintf("exit %d in %s", h.ExitCode, h.Duration.Round(time.Millisecond)))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(tw, "\nEVIDENCE\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", cell(r[0]), cell(r[1]))
	}
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
