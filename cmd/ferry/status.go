package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/textsafe"
	"github.com/ferrymigrate/ferry/tracking"
)

// loadRows reads the plan and visibility and joins them; refusals come
// from the status query of running migrations.
func loadRows(ctx context.Context, g *globals, pf *planFlags, w io.Writer) (*plan.Plan, []tracking.Row, error) {
	p, specs, err := pf.specs(ctx, g, w)
	if err != nil {
		return nil, nil, err
	}
	c, err := g.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	execs, err := tracking.ListMigrations(ctx, c, g.Namespace)
	if err != nil {
		return nil, nil, err
	}
	rows := tracking.Rows(specs, execs)
	if err := tracking.AddRefusals(ctx, c, rows, 5*time.Second); err != nil {
		g.log.Warn("some migrations did not answer the status query; their refused count is unknown (is a worker running?)", "error", err)
	}
	return p, rows, nil
}

func newStatusCmd(g *globals) *cobra.Command {
	var pf planFlags
	var wave, owner, stage string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Every app of the plan: stage, wave, owner, what it waits on and since when, last error",
		Long: `One row per app of the plan, apps without a migration included (stage
NotStarted). It reads Temporal visibility through ferry's search attributes
(the newest run of each app) and asks running migrations for their refused
attempts (unauthorized approvers, malformed signals).`,
		Example: `  ferry status
  ferry status --wave wave-1 --stage ApproveCutover
  ferry status --owner ana@example.com -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, rows, err := loadRows(cmd.Context(), g, &pf, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			rows = tracking.Filter(rows, wave, owner, stage)
			if rows == nil {
				rows = []tracking.Row{}
			}
			return g.print(cmd.OutOrStdout(), rows, func(tw *tabwriter.Writer) { statusRows(tw, rows, time.Now()) })
		},
	}
	pf.add(cmd)
	cmd.Flags().StringVar(&wave, "wave", "", "only apps of this wave")
	cmd.Flags().StringVar(&owner, "owner", "", "only apps of this owner")
	cmd.Flags().StringVar(&stage, "stage", "", "only apps in this stage (e.g. ApproveCutover, Blocked, NotStarted, Done)")
	return cmd
}

func statusRows(tw *tabwriter.Writer, rows []tracking.Row, now time.Time) {
	fmt.Fprintln(tw, "APP\tSTAGE\tWAVE\tOWNER\tWAITING ON\tSINCE\tREFUSED\tLAST ERROR\tRUNBOOK")
	for _, r := range rows {
		waiting := r.Gate
		if len(r.Approvers) > 0 {
			waiting += " (" + strings.Join(r.Approvers, ", ") + ")" // escaped as a whole below
		}
		since := ""
		if !r.WaitingSince.IsZero() {
			since = r.WaitingSince.Local().Format("2006-01-02 15:04") + " (" + ago(now.Sub(r.WaitingSince)) + ")"
		}
		refused := ""
		if r.Refused != nil && *r.Refused > 0 {
			refused = fmt.Sprint(*r.Refused)
		}
		app := r.App
		if !r.InPlan {
			app += " (not in plan)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(app), cell(r.Stage), dash(cell(r.Wave)), dash(cell(r.Owner)), dash(cell(waiting)), dash(since),
			dash(refused), dash(shorten(cell(r.LastError), 60)), dash(cell(r.Runbook)))
	}
}

// cell makes untrusted text (vCenter names, tags and attributes, approval
// comments, error text) one safe table cell: control characters, escape
// sequences and bidi overrides are shown escaped, so a value can neither
// add a row or column nor restyle or rewrite the terminal.
func cell(s string) string { return textsafe.Line(s) }

// cells is cell for a list, joined with sep.
func cells(list []string, sep string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = cell(s)
	}
	return strings.Join(out, sep)
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// ago says how long, coarsely: 45s, 12m, 5h, 3d.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
