package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/ferryclient"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// planFlags locate the plan and its inputs; under `ferry dev` they default
// to the files the dev stack wrote in the state directory.
type planFlags struct {
	file string
	src  planSources
}

func (p *planFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&p.file, "file", "f", "", "plan file (default ./ferry.hcl, else <state-dir>/ferry.hcl)")
	p.src.add(cmd)
}

func (p *planFlags) specs(ctx context.Context, g *globals, w io.Writer) (*plan.Plan, []plan.AppSpec, error) {
	exists := func(f string) bool { _, err := os.Stat(f); return err == nil }
	if p.file == "" {
		p.file = "ferry.hcl"
		if !exists(p.file) && exists(filepath.Join(g.StateDir, "ferry.hcl")) {
			p.file = filepath.Join(g.StateDir, "ferry.hcl")
		}
	}
	if p.src.inventoryFile == "" && !p.src.sample {
		if f := filepath.Join(g.StateDir, "inventory.json"); exists(f) {
			p.src.inventoryFile = f
		}
	}
	if len(p.src.flows) == 0 {
		if f := filepath.Join(g.StateDir, "flows.csv"); exists(f) {
			p.src.flows = []string{f}
		}
	}
	return loadPlan(ctx, w, p.file, &p.src)
}

func newMigrateCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Start, follow and steer one app's migration workflow",
		Long: `Each app migrates in its own durable workflow, ferry-app-<app>, through the
stages Discover, MapDependencies, Plan, ApprovePlan, Provision, SyncVerify,
ApproveCutover, Cutover, Bake, ApproveDecommission and Decommission. A failed
step parks the workflow (stage Blocked) until you send retry, skip or
rollback; approvals go to the approvers the plan names.`,
	}
	cmd.AddCommand(newMigrateStartCmd(g), newMigrateStatusCmd(g))
	for _, a := range []struct{ name, short string }{
		{"approve", "Approve a gate (plan, cutover, decommission, dependencies)"},
		{"reject", "Reject a gate; the migration ends and what was provisioned is rolled back"},
	} {
		cmd.AddCommand(newMigrateApprovalCmd(g, a.name, a.short))
	}
	for _, a := range []struct{ name, short string }{
		{"retry", "Retry the step a blocked migration parked on"},
		{"skip", "Skip the step a blocked migration parked on (only where the plan allows it)"},
		{"rollback", "Roll back: traffic to the datacenter, sources powered on, GCP resources destroyed or kept as planned"},
	} {
		cmd.AddCommand(newMigrateActionCmd(g, a.name, a.short))
	}
	return cmd
}

func newMigrateStartCmd(g *globals) *cobra.Command {
	var pf planFlags
	cmd := &cobra.Command{
		Use:   "start APP",
		Short: "Start an app's migration workflow from the published plan (one live migration per app)",
		Long: `Starts ferry-app-APP. The workflow carries the app's name and the digest of
the plan files given here (see 'ferry plan digest'); the worker resolves the
spec from its plan store, so publish the reviewed plan first ('ferry plan
publish'). The start is signed with your key (FERRY_SIGNING_KEY) as FERRY_USER.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, specs, err := pf.specs(ctx, g, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			spec, err := findSpec(specs, args[0], pf.file)
			if err != nil {
				return err
			}
			b, err := pf.bundle(ctx, g, cmd)
			if err != nil {
				return err
			}
			c, done, err := g.client(ctx, cmd)
			if err != nil {
				return err
			}
			defer done()
			run, err := c.StartMigration(ctx, spec, b.Digest())
			if err != nil {
				return err
			}
			out := map[string]string{"app": spec.Name, "workflowID": run.GetID(), "runID": run.GetRunID(), "planDigest": b.Digest()}
			return g.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "started %s (workflow %s, plan %s)\nfollow it: ferry migrate status %s\n", spec.Name, run.GetID(), b.Digest(), spec.Name)
			})
		},
	}
	pf.add(cmd)
	return cmd
}

func queryStatus(ctx context.Context, c client.Client, app string) (workflows.Status, error) {
	return (&ferryclient.Client{Temporal: c}).Status(ctx, app)
}

func newMigrateStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status APP",
		Short: "Show an app's stage, what it waits for, its history, approvals, audit and evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := queryStatus(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), st, func(tw *tabwriter.Writer) { statusTable(tw, st) })
		},
	}
}

func statusTable(tw *tabwriter.Writer, st workflows.Status) {
	fmt.Fprintf(tw, "app\t%s\nwave\t%s\nowner\t%s\nstage\t%s\ntraffic on GCP\t%d %%\nstarted by\t%s\n", cell(st.App), cell(st.Wave), cell(st.Owner), cell(st.Stage), st.TrafficPercent, cell(st.StartedBy))
	if w := st.Waiting; w != nil {
		fmt.Fprintf(tw, "waiting for\t%s", cell(w.Gate))
		if len(w.Approvers) > 0 {
			fmt.Fprintf(tw, " (approvers: %s)", cells(w.Approvers, ", "))
		}
		fmt.Fprintf(tw, " since %s\n\t%s\n", w.Since.Local().Format(time.RFC3339), cell(w.Hint))
	}
	if e := st.LastError; e != nil {
		fmt.Fprintf(tw, "last error\t%s: %s\nrunbook\t%s\n", cell(string(e.Reason)), cell(e.Message), cell(e.Runbook))
	}
	if st.RollbackReason != "" {
		fmt.Fprintf(tw, "rollback reason\t%s\n", cell(st.RollbackReason))
	}
	fmt.Fprintln(tw, "\nHISTORY\t")
	for _, h := range st.History {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h.At.Local().Format(time.RFC3339), cell(h.Stage), cell(h.Note))
	}
	if len(st.Approvals) > 0 {
		fmt.Fprintln(tw, "\nAPPROVALS\t")
		for _, a := range st.Approvals {
			fmt.Fprintf(tw, "%s\t%s %s by %s\t%s\n", a.At.Local().Format(time.RFC3339), cell(a.Stage), cell(a.Decision), cell(a.Approver), cell(a.Comment))
		}
	}
	if len(st.Audit) > 0 {
		fmt.Fprintln(tw, "\nAUDIT\trefused or unverified requests, window overrides")
		for _, a := range st.Audit {
			fmt.Fprintf(tw, "%s\t%s by %s\t%s\n", a.At.Local().Format(time.RFC3339), cell(a.Signal), cell(a.By), cell(a.Reason))
		}
	}
	evidenceTable(tw, st.Evidence)
}

func newMigrateApprovalCmd(g *globals, name, short string) *cobra.Command {
	var stage, comment string
	var printSignal bool
	cmd := &cobra.Command{
		Use:   name + " APP --stage GATE",
		Short: short,
		Long: short + `.

You act as FERRY_USER (else $USER), and the approval is signed with your SSH
key (FERRY_SIGNING_KEY): the workflow counts it only if the signature
verifies with a key the reviewed plan lists for you, you are an approver of
the gate, and (for cutover) you did not start the migration. Anything else
is refused and recorded.

--print-signal prints the signed JSON instead of sending it: paste it into
the Temporal UI (More Actions → Send a Signal, signal "` + name + `").`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, done, err := g.client(ctx, cmd)
			if err != nil {
				return err
			}
			defer done()
			a, err := c.Approval(ctx, args[0], name, stage, comment)
			if err != nil {
				return err
			}
			if printSignal {
				return printJSON(cmd, a)
			}
			rec, err := c.Decide(ctx, args[0], name, a)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), rec, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: %s %s by %s (verified: %v)\n", cell(args[0]), cell(rec.Stage), cell(rec.Decision), cell(rec.Approver), rec.Verified)
			})
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "gate: plan, cutover, decommission, dependencies, or window-override (an emergency cutover outside its change window: two approvers)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept in the history)")
	cmd.Flags().BoolVar(&printSignal, "print-signal", false, "print the signed signal JSON to paste in the Temporal UI instead of sending it")
	_ = cmd.MarkFlagRequired("stage")
	return cmd
}

func newMigrateActionCmd(g *globals, name, short string) *cobra.Command {
	var reason string
	var printSignal bool
	cmd := &cobra.Command{
		Use:   name + " APP",
		Short: short,
		Long: short + `.

Signed with your SSH key (FERRY_SIGNING_KEY) as FERRY_USER; the workflow
accepts it from the app's approvers and the plan's operators only.
--print-signal prints the signed JSON for the Temporal UI instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, done, err := g.client(ctx, cmd)
			if err != nil {
				return err
			}
			defer done()
			a, err := c.Action(ctx, args[0], name, reason)
			if err != nil {
				return err
			}
			if printSignal {
				return printJSON(cmd, a)
			}
			msg, err := c.Act(ctx, args[0], name, a)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"app": args[0], "result": msg}, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: %s\n", cell(args[0]), cell(msg))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded; required for rollback)")
	cmd.Flags().BoolVar(&printSignal, "print-signal", false, "print the signed signal JSON to paste in the Temporal UI instead of sending it")
	return cmd
}

func printJSON(cmd *cobra.Command, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
	return err
}
