package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferrymigrate/ferry/runbooks"
)

// runbookRow is one reason in `ferry runbook` (-o json).
type runbookRow struct {
	Reason  string `json:"reason"`
	Kind    string `json:"kind"` // failure | gate
	Summary string `json:"summary"`
	Link    string `json:"link"`
	Text    string `json:"text,omitempty"`
}

func rowFor(r runbooks.Reason, withText bool) runbookRow {
	kind := "failure"
	if runbooks.IsGate(r) {
		kind = "gate"
	}
	row := runbookRow{Reason: string(r), Kind: kind, Summary: runbooks.Summary(r), Link: runbooks.Link(r)}
	if withText {
		row.Text, _ = runbooks.Get(r)
	}
	return row
}

func newRunbookCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "runbook [REASON]",
		Short: "Print the runbook for a failure reason or gate (or list them all)",
		Long: `Print the runbook ferry links from a parked workflow, 'ferry status' and
notifications: what happened, how to check it, how to fix it, and when to
retry, skip or roll back. Without REASON, list every reason with a one-line
summary. Runbook links use FERRY_RUNBOOK_BASE_URL as their prefix (default
the repository path runbooks/).`,
		Example: `  ferry runbook
  ferry runbook hook-failed
  ferry runbook gate-approve-cutover -o json`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, r := range runbooks.All() {
				out = append(out, string(r)+"\t"+runbooks.Summary(r))
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if len(args) == 0 {
				var rows []runbookRow
				for _, r := range runbooks.All() {
					rows = append(rows, rowFor(r, false))
				}
				return g.print(w, rows, func(tw *tabwriter.Writer) {
					fmt.Fprintln(tw, "REASON\tKIND\tSUMMARY")
					for _, row := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%s\n", row.Reason, row.Kind, oneLine(row.Summary, 100))
					}
				})
			}
			r := runbooks.Reason(strings.TrimSuffix(args[0], ".md"))
			if !runbooks.Known(r) {
				return fmt.Errorf("no runbook for %q: run `ferry runbook` to list the reasons", args[0])
			}
			row := rowFor(r, true)
			if g.Output == "json" {
				return g.print(w, row, nil)
			}
			_, err := io.WriteString(w, row.Text+"\nLink: "+row.Link+"\n")
			return err
		},
	}
}

// oneLine shortens s to n runes at a word boundary.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
