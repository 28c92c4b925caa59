package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

func init() { register(newMigrateCmd) }

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
		Short: "Start an app's migration workflow (one live migration per app)",
		Args:  cobra.ExactArgs(1),
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
			c, err := g.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			run, err := StartMigration(ctx, c, spec, identity())
			if err != nil {
				return err
			}
			out := map[string]string{"app": spec.Name, "workflowID": run.GetID(), "runID": run.GetRunID()}
			return g.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "started %s (workflow %s)\nfollow it: ferry migrate status %s\n", cell(spec.Name), cell(run.GetID()), cell(spec.Name))
			})
		},
	}
	pf.add(cmd)
	return cmd
}

// StartMigration starts ferry-app-<app>, refusing a second live one.
func StartMigration(ctx context.Context, c client.Client, spec plan.AppSpec, by string) (client.WorkflowRun, error) {
	id := workflows.AppWorkflowID(spec.Name)
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("Migrate %s (%s) to GCP — wave %s, owner %s", spec.Name, spec.Tier, spec.Wave, spec.Owner),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAApp.ValueSet(spec.Name), workflows.SAWave.ValueSet(spec.Wave),
			workflows.SAOwner.ValueSet(spec.Owner), workflows.SATier.ValueSet(spec.Tier),
			workflows.SAStage.ValueSet(workflows.StageDiscover)),
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.MigrateAppWorkflowName, workflows.MigrateAppInput{Spec: spec, StartedBy: by})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("a migration of %s is already running (workflow %s): follow it with 'ferry migrate status %s', or roll it back first", spec.Name, id, spec.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("start migration of %s: %w", spec.Name, err)
	}
	return run, nil
}

func queryStatus(ctx context.Context, c client.Client, app string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, fmt.Errorf("no migration of %s: start one with 'ferry migrate start %s'", app, app)
		}
		return st, fmt.Errorf("status of %s: %w", app, err)
	}
	return st, v.Get(&st)
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
		fmt.Fprintln(tw, "\nREFUSED\t")
		for _, a := range st.Audit {
			fmt.Fprintf(tw, "%s\t%s by %s\t%s\n", a.At.Local().Format(time.RFC3339), cell(a.Signal), cell(a.By), cell(a.Reason))
		}
	}
}

func newMigrateApprovalCmd(g *globals, name, short string) *cobra.Command {
	var stage, comment string
	cmd := &cobra.Command{
		Use:   name + " APP --stage GATE",
		Short: short,
		Long: short + `.

You act as FERRY_USER (else $USER); the workflow checks it against the
approvers the plan names for the gate, and refuses (and records) anything
else. The one who started a migration may not approve its cutover.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			as := identity()
			update := map[string]string{"approve": workflows.UpdateApprove, "reject": workflows.UpdateReject}[name]
			var rec workflows.ApprovalRecord
			err := g.update(cmd.Context(), args[0], update, workflows.Approval{Stage: stage, Approver: as, Comment: comment}, &rec)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), rec, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: %s %s by %s\n", cell(args[0]), cell(rec.Stage), cell(rec.Decision), cell(rec.Approver))
			})
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "", "gate: plan, cutover, decommission or dependencies")
	cmd.Flags().StringVar(&comment, "comment", "", "why (kept in the history)")
	_ = cmd.MarkFlagRequired("stage")
	return cmd
}

func newMigrateActionCmd(g *globals, name, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " APP",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			as := identity()
			update := map[string]string{"retry": workflows.UpdateRetry, "skip": workflows.UpdateSkip, "rollback": workflows.UpdateRollback}[name]
			var msg string
			if err := g.update(cmd.Context(), args[0], update, workflows.Action{By: as, Reason: reason}, &msg); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), map[string]string{"app": args[0], "result": msg}, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: %s\n", cell(args[0]), cell(msg))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded; required for rollback)")
	return cmd
}

// update sends a Temporal Update and waits for its answer, so the CLI hears
// at once whether the workflow accepted it.
func (g *globals) update(ctx context.Context, app, name string, arg, out any) error {
	c, err := g.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.AppWorkflowID(app), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("no running migration of %s (it may have ended: 'ferry migrate status %s')", app, app)
		}
		var app2 *temporal.ApplicationError
		if errors.As(err, &app2) {
			return fmt.Errorf("%s", app2.Message()) // the workflow says what was refused and why
		}
		return fmt.Errorf("%s %s: %w", strings.TrimSuffix(name, "-update"), app, err)
	}
	return nil
}
