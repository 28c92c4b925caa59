package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/plan"
)

// Wave starts the per-app migrations of one wave as child workflows, in
// dependency order, with at most Concurrency apps in flight. An app stops
// counting against the cap once it is cut over (its bake and decommission
// can take weeks) or has ended.
func Wave(ctx workflow.Context, in WaveInput) (WaveStatus, error) {
	order, err := WaveOrder(in.Specs)
	if err != nil {
		return WaveStatus{}, temporal.NewNonRetryableApplicationError(err.Error(), "plan-invalid", nil)
	}
	specs := map[string]plan.AppSpec{}
	for _, s := range in.Specs {
		specs[s.Name] = s
	}
	limit := in.Wave.Concurrency
	if limit <= 0 {
		limit = len(order)
	}
	st := WaveStatus{Wave: in.Wave.Name, Concurrency: limit, Order: order}
	state := map[string]*WaveAppState{}
	for _, a := range order {
		st.Apps = append(st.Apps, WaveAppState{App: a, State: "pending"})
	}
	for i := range st.Apps {
		state[st.Apps[i].App] = &st.Apps[i]
	}
	count := func() {
		st.Running, st.Finished = 0, 0
		for _, a := range st.Apps {
			switch a.State {
			case "running":
				st.Running++
			case "done", "rolled-back", "rejected", "failed":
				st.Finished++
			}
		}
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (WaveStatus, error) { count(); return st, nil }); err != nil {
		return st, err
	}
	inWave := func(app string) bool { _, ok := specs[app]; return ok }
	cutOver := func(app string) bool {
		s := state[app].State
		return s == "cutover" || s == "done"
	}
	publish := func() {
		count()
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("**wave %s**: %d apps, %d in flight (cap %d), %d finished",
			in.Wave.Name, len(order), st.Running, limit, st.Finished))
	}

	var released []string
	// Apps report their cutover; release dependants whose dependencies in
	// this wave are all cut over.
	release := func() {
		for _, a := range order {
			s := state[a]
			if !s.Started || !in.Wave.HoldCutoverForDeps || s.State != "running" {
				continue
			}
			ready := true
			for _, d := range specs[a].DependsOn {
				if inWave(d) && !cutOver(d) {
					ready = false
				}
			}
			if ready && !slices.Contains(released, a) {
				released = append(released, a)
				_ = workflow.SignalExternalWorkflow(ctx, AppWorkflowID(a), "", SignalReleaseCutover, nil).Get(ctx, nil)
			}
		}
	}
	cutCh := workflow.GetSignalChannel(ctx, SignalAppCutover)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var app string
			cutCh.Receive(ctx, &app)
			if s, ok := state[app]; ok && s.State == "running" {
				s.State = "cutover"
				publish()
			}
		}
	})

	pending := slices.Clone(order)
	futures := 0
	for len(pending) > 0 || futures > 0 {
		for len(pending) > 0 && inFlight(st.Apps) < limit {
			app := pending[0]
			pending = pending[1:]
			s := state[app]
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            AppWorkflowID(app),
				TaskQueue:             TaskQueue,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			})
			child := workflow.ExecuteChildWorkflow(cctx, MigrateAppWorkflowName, MigrateAppInput{
				Spec: specs[app], StartedBy: in.StartedBy, WaveWorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
				HoldCutover: in.Wave.HoldCutoverForDeps && hasDepsIn(specs[app], inWave),
			})
			if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
				s.State, s.Error = "failed", describeChildErr(app, err)
				continue
			}
			s.State, s.Started = "running", true
			st.StartOrder = append(st.StartOrder, app)
			futures++
			publish()
			workflow.Go(ctx, func(ctx workflow.Context) {
				var res MigrateAppResult
				err := child.Get(ctx, &res)
				futures--
				switch {
				case err != nil:
					s.State, s.Error = "failed", err.Error()
				case res.Outcome == StageDone:
					s.State = "done"
				case res.Outcome == StageRolledBack:
					s.State = "rolled-back"
				default:
					s.State = "rejected"
				}
				publish()
			})
		}
		release()
		before := snapshot(st.Apps)
		if err := workflow.Await(ctx, func() bool { return snapshot(st.Apps) != before }); err != nil {
			return st, err
		}
	}
	publish()
	return st, nil
}

func snapshot(apps []WaveAppState) string {
	b := make([]byte, 0, len(apps)*8)
	for _, a := range apps {
		b = append(b, a.State...)
		b = append(b, ',')
	}
	return string(b)
}

func inFlight(apps []WaveAppState) int {
	n := 0
	for _, a := range apps {
		if a.State == "running" {
			n++
		}
	}
	return n
}

func hasDepsIn(s plan.AppSpec, inWave func(string) bool) bool {
	for _, d := range s.DependsOn {
		if inWave(d) {
			return true
		}
	}
	return false
}

func describeChildErr(app string, err error) string {
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		return fmt.Sprintf("a migration of %s is already running (%s): finish or roll it back first", app, AppWorkflowID(app))
	}
	return err.Error()
}

// WaveOrder sorts a wave's apps so dependencies come first (Kahn's
// algorithm, ties by name). Dependencies outside the wave are ignored; a
// cycle inside it is an error naming the apps.
func WaveOrder(specs []plan.AppSpec) ([]string, error) {
	in := map[string]bool{}
	for _, s := range specs {
		in[s.Name] = true
	}
	indeg := map[string]int{}
	users := map[string][]string{}
	for _, s := range specs {
		indeg[s.Name] += 0
		for _, d := range s.DependsOn {
			if in[d] && d != s.Name {
				indeg[s.Name]++
				users[d] = append(users[d], s.Name)
			}
		}
	}
	var ready, order []string
	for a, n := range indeg {
		if n == 0 {
			ready = append(ready, a)
		}
	}
	sort.Strings(ready)
	for len(ready) > 0 {
		a := ready[0]
		ready = ready[1:]
		order = append(order, a)
		for _, u := range users[a] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
				sort.Strings(ready)
			}
		}
	}
	if len(order) != len(specs) {
		var cyc []string
		for a, n := range indeg {
			if n > 0 {
				cyc = append(cyc, a)
			}
		}
		sort.Strings(cyc)
		return nil, fmt.Errorf("dependency cycle inside the wave between %v: put them in one move group", cyc)
	}
	return order, nil
}
