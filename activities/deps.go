package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/runbooks"
)

// ReasonFlowsInvalid is the error type of a flow file that cannot be read
// or has a malformed line; the message names file:line. Retrying does not
// help: the file must be fixed.
const ReasonFlowsInvalid = runbooks.Reason("flows-invalid")

// CheckDependencies places the app in the dependency graph: it discovers
// the whole inventory from vCenter (every app's IPs are needed to name the
// peers), reads the configured flow files and returns who the app depends
// on, who depends on it, its blast radius and the dependencies that would
// stay behind in the datacenter.
func (a *Activities) CheckDependencies(ctx context.Context, in CheckDependenciesInput) (CheckDependenciesResult, error) {
	log := activity.GetLogger(ctx)
	if _, err := a.spec(ctx, in.Plan); err != nil {
		return CheckDependenciesResult{}, err
	}
	c, err := inventory.Connect(ctx, a.VCenter)
	if err != nil {
		return CheckDependenciesResult{}, depsVCenterError(err)
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	// Group VMs as the worker's discovery options say (what `ferry
	// discover` used), not always the defaults.
	inv, err := inventory.Discover(ctx, c, a.VCenter.Grouping)
	if err != nil {
		return CheckDependenciesResult{}, depsVCenterError(err)
	}
	if !slices.ContainsFunc(inv.Apps, func(x inventory.App) bool { return x.Name == in.Plan.App }) {
		return CheckDependenciesResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("app %q is not in the inventory of %s: check its app tag in vCenter or the plan's app name", in.Plan.App, inv.Source),
			string(runbooks.ReasonInventoryDrift), nil)
	}

	agg := deps.NewAggregator()
	for _, path := range a.Flows {
		activity.RecordHeartbeat(ctx, path)
		if err := agg.ReadFlowsFile(path, deps.ParseOptions{}); err != nil {
			return CheckDependenciesResult{}, temporal.NewNonRetryableApplicationError(
				"flow file: "+err.Error()+"; fix or remove the file from the worker's flow files", string(ReasonFlowsInvalid), err)
		}
	}
	// Apps that moved in earlier waves are satisfied dependencies: the
	// workflow does not pass them, visibility knows them.
	migrated, warn := a.migrated(ctx, in.Migrated)
	r, err := agg.Analyze(inv, deps.Options{Migrated: migrated})
	if err != nil {
		return CheckDependenciesResult{}, temporal.NewNonRetryableApplicationError("dependency analysis: "+err.Error(), string(ReasonFlowsInvalid), err)
	}
	out := dependencyResult(r, in)
	out.Migrated = migrated
	if warn != "" {
		out.Warnings = append(out.Warnings, warn)
	}
	if len(a.Flows) == 0 {
		out.Warnings = append(out.Warnings, "no flow files are configured on the worker: only declared dependencies were checked")
	}
	log.Info("dependencies checked", "app", in.Plan.App, "dependsOn", len(out.DependsOn), "dependants", len(out.Dependants), "leftBehind", len(out.LeftBehind))
	return out, nil
}

// dependencyResult is the app's view of the analysis.
func dependencyResult(r *deps.Result, in CheckDependenciesInput) CheckDependenciesResult {
	out := CheckDependenciesResult{
		DependsOn:   r.DependsOn(in.Plan.App),
		Dependants:  r.Dependants(in.Plan.App),
		BlastRadius: r.BlastRadius[in.Plan.App],
	}
	for _, d := range out.DependsOn {
		n, _ := r.Node(d)
		switch {
		case d == in.Plan.App || n.Migrated:
		case n.Kind == deps.KindApp:
			out.LeftBehind = append(out.LeftBehind, d)
		case n.Kind == deps.KindUnassigned:
			out.LeftBehind = append(out.LeftBehind, d)
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s depends on VM %s, which belongs to no app: tag it with its app so it gets a wave", in.Plan.App, n.Name))
		case n.Kind == deps.KindExternal:
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s depends on %s (%s), outside the inventory: check it is reachable from GCP", in.Plan.App, n.Name, strings.Join(n.IPs, ", ")))
		}
	}
	if self, ok := r.Node(in.Plan.App); ok {
		for _, g := range r.MoveGroups {
			if g.ID != self.MoveGroup || len(g.Apps) < 2 {
				continue
			}
			var pending []string
			for _, m := range g.Apps {
				if n, _ := r.Node(m); m != in.Plan.App && !n.Migrated {
					pending = append(pending, m)
				}
			}
			if len(pending) > 0 {
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s is in move group %s (%s) with %s: they should move in the same wave", in.Plan.App, g.ID, g.Reason, strings.Join(pending, ", ")))
			}
		}
	}
	if amb := r.Ambiguous; amb.Conversations > 0 {
		// Not guessed, so possibly a missing dependency: say so.
		var mine []string
		for _, x := range amb.Examples {
			if x.ANode == in.Plan.App || x.BNode == in.Plan.App {
				mine = append(mine, x.String())
			}
		}
		w := fmt.Sprintf("%d conversation(s) in the flow files (%d records) have no telling which side is the server and make no dependency edge", amb.Conversations, amb.Records)
		if len(mine) > 0 {
			w += fmt.Sprintf("; among the largest, these involve %s: %s", in.Plan.App, strings.Join(mine, "; "))
		}
		out.Warnings = append(out.Warnings, w+"; add an 'ss -ltn' capture of these hosts to the worker's flow files to decide them")
	}
	if r.Stats.ParseErrors > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d malformed flow lines were skipped", r.Stats.ParseErrors))
	}
	return out
}

// depsVCenterError keeps the inventory's reason as the error type, so the
// workflow parks with the right runbook, and retries only transient faults.
func depsVCenterError(err error) error {
	var ie *inventory.Error
	if errors.As(err, &ie) {
		if ie.Retryable() {
			return temporal.NewApplicationError(ie.Error(), string(ie.Reason), err)
		}
		return temporal.NewNonRetryableApplicationError(ie.Error(), string(ie.Reason), err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return temporal.NewApplicationError("read vCenter: "+err.Error(), string(runbooks.ReasonVCenterFault), err)
}
