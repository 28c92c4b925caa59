package workflows

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/textsafe"
)

// wave is one Wave run's state. Only workflow code touches it.
type wave struct {
	in      WaveInput
	def     plan.Wave
	specs   map[string]plan.AppSpec
	order   []string
	limit   int
	st      WaveStatus
	state   map[string]*WaveAppState
	secret  string   // from a side effect: app tokens derive from it
	started []string // apps released for cutover
	told    []string // held apps told that a dependency will not cut over
	// runs are the runs of the migrations this wave started (by app), so
	// a cancel reaches these runs and never a later start of the app.
	runs map[string]string
}

// Wave starts the per-app migrations of one wave of a reviewed plan as
// child workflows, in dependency order, with at most Concurrency apps in
// flight. An app stops counting against the cap once it is cut over (its
// bake and decommission can take weeks) or has ended. The wave, its apps
// and who may start it come from the worker's plan store; the start is
// verified like a migration's.
func Wave(ctx workflow.Context, in WaveInput) (WaveStatus, error) {
	w := &wave{in: in, state: map[string]*WaveAppState{}, runs: map[string]string{}}
	w.st = WaveStatus{Wave: in.Wave, PlanDigest: in.PlanDigest}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (WaveStatus, error) { w.count(); return w.st, nil }); err != nil {
		return w.st, err
	}
	var res activities.ResolveWaveResult
	actx := workflow.WithActivityOptions(ctx, optsResolve)
	if err := workflow.ExecuteActivity(actx, acts.ResolveWave, activities.ResolveWaveInput{Wave: in.Wave, Digest: in.PlanDigest}).Get(ctx, &res); err != nil {
		reason, msg := reasonOf(err)
		return w.refuse(ctx, reason+": "+msg), nil
	}
	if why := w.verifyStart(ctx, res); why != "" {
		return w.refuse(ctx, why), nil
	}
	if err := w.setup(res); err != nil {
		return w.refuse(ctx, err.Error()), nil
	}
	// The token secret is random, recorded once in history (encrypted with
	// the payload codec): only this wave and its children know it.
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return randomToken() }).Get(&w.secret); err != nil {
		return w.st, err
	}
	workflow.Go(ctx, w.receiveCutovers)
	return w.st, w.run(ctx)
}

func (w *wave) refuse(ctx workflow.Context, why string) WaveStatus {
	w.st.Refused = why
	w.st.Audit = append(w.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: "start-wave", By: identity.Normalize(w.in.StartedBy), Reason: why})
	workflow.GetLogger(ctx).Warn("wave refused", "wave", w.in.Wave, "reason", why)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**wave %s** refused: %s", textsafe.Markdown(w.in.Wave), textsafe.Markdown(why)))
	return w.st
}

// verifyStart checks the signed start-wave statement against the keys the
// plan lists for the starter, who must be an approver or operator of one
// of the wave's apps.
func (w *wave) verifyStart(ctx workflow.Context, res activities.ResolveWaveResult) string {
	by := identity.Normalize(w.in.StartedBy)
	info := workflow.GetInfo(ctx)
	if info.WorkflowExecution.ID != WaveWorkflowID(w.in.Wave) {
		return fmt.Sprintf("start refused: wave %s runs as workflow %s", w.in.Wave, WaveWorkflowID(w.in.Wave))
	}
	var keys []string
	allowed, unverifiedOK := false, len(res.Specs) > 0
	for _, s := range res.Specs {
		if mayAct(s, by) {
			allowed = true
			keys = append(keys, s.People[by]...)
		}
		unverifiedOK = unverifiedOK && s.AllowUnverified
	}
	if by == "" || !allowed {
		return fmt.Sprintf("start refused: %q is neither an approver nor an operator of any app of wave %s in the reviewed plan", by, w.in.Wave)
	}
	st := identity.Statement{WorkflowID: info.WorkflowExecution.ID, Kind: "start-wave", Stage: w.in.Wave, By: by, Text: w.in.PlanDigest, IssuedAt: w.in.IssuedAt}
	if _, _, err := verifySigned(workflow.Now(ctx), st, w.in.Signature, keys, unverifiedOK); err != nil {
		return "start refused: " + err.Error()
	}
	return ""
}

func (w *wave) setup(res activities.ResolveWaveResult) error {
	order, err := WaveOrder(res.Specs)
	if err != nil {
		return err
	}
	w.def, w.order = res.Wave, order
	w.specs = map[string]plan.AppSpec{}
	for _, s := range res.Specs {
		w.specs[s.Name] = s
	}
	w.limit = w.def.Concurrency
	if w.limit <= 0 {
		w.limit = len(order)
	}
	w.st.Concurrency, w.st.Order = w.limit, order
	for _, a := range order {
		w.st.Apps = append(w.st.Apps, WaveAppState{App: a, State: AppPending})
	}
	for i := range w.st.Apps {
		w.state[w.st.Apps[i].App] = &w.st.Apps[i]
	}
	return nil
}

// token authenticates messages between the wave and one app.
func (w *wave) token(app string) string {
	h := sha256.Sum256([]byte(w.secret + "\x00" + app))
	return hex.EncodeToString(h[:16])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (w *wave) count() {
	w.st.Running, w.st.Finished = 0, 0
	for _, a := range w.st.Apps {
		switch {
		case a.State == AppRunning:
			w.st.Running++
		case a.State.Finished():
			w.st.Finished++
		}
	}
}

func (w *wave) publish(ctx workflow.Context) {
	w.count()
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**wave %s**: %d apps, %d in flight (cap %d), %d finished",
		textsafe.Markdown(w.def.Name), len(w.order), w.st.Running, w.limit, w.st.Finished))
}

func (w *wave) inWave(app string) bool { _, ok := w.specs[app]; return ok }

func (w *wave) cutOver(app string) bool {
	s := w.state[app].State
	return s == AppCutover || s == AppDone
}

// receiveCutovers takes the apps' cutover reports; a report without the
// app's token is recorded and ignored.
func (w *wave) receiveCutovers(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalAppCutover)
	for {
		var raw converter.RawValue
		ch.Receive(ctx, &raw)
		var msg WaveMessage
		err := decodeRaw(raw, &msg)
		s, ok := w.state[msg.App]
		if err != nil || !ok || msg.Token != w.token(msg.App) {
			w.st.Audit = append(w.st.Audit, AuditEntry{At: workflow.Now(ctx), Signal: SignalAppCutover, By: msg.App,
				Reason: "app-cutover refused: it does not carry the app's wave token"})
			continue
		}
		if s.State == AppRunning {
			s.State = AppCutover
			w.publish(ctx)
		}
	}
}

// release tells held apps whose dependencies in this wave are all cut over
// that they may cut over.
func (w *wave) release(ctx workflow.Context) {
	for _, a := range w.order {
		s := w.state[a]
		if !s.Started || !w.def.HoldCutoverForDeps || s.State != AppRunning || slices.Contains(w.started, a) {
			continue
		}
		ready := true
		var lost []string
		for _, d := range w.specs[a].DependsOn {
			if w.inWave(d) && !w.cutOver(d) {
				ready = false
				if st := w.state[d].State; st.Finished() {
					lost = append(lost, fmt.Sprintf("%s ended %s", d, st))
				}
			}
		}
		if !ready && len(lost) > 0 && !slices.Contains(w.told, a) &&
			workflow.GetVersion(ctx, "tell-dependants", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			w.told = append(w.told, a)
			_ = workflow.SignalExternalWorkflow(ctx, AppWorkflowID(a), "", SignalDependencyLost,
				WaveMessage{App: a, Token: w.token(a), Reason: strings.Join(lost, ", ")}).Get(ctx, nil)
		}
		if ready {
			w.started = append(w.started, a)
			_ = workflow.SignalExternalWorkflow(ctx, AppWorkflowID(a), "", SignalReleaseCutover, WaveMessage{App: a, Token: w.token(a)}).Get(ctx, nil)
		}
	}
}

func (w *wave) run(ctx workflow.Context) error {
	pending := slices.Clone(w.order)
	futures := 0
	for len(pending) > 0 || futures > 0 {
		for len(pending) > 0 && inFlight(w.st.Apps) < w.limit {
			app := pending[0]
			pending = pending[1:]
			s := w.state[app]
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID:            AppWorkflowID(app),
				TaskQueue:             TaskQueue,
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			})
			child := workflow.ExecuteChildWorkflow(cctx, MigrateApp, MigrateAppInput{
				App: app, PlanDigest: w.in.PlanDigest, StartedBy: identity.Normalize(w.in.StartedBy),
				WaveWorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
				HoldCutover:    w.def.HoldCutoverForDeps && hasDepsIn(w.specs[app], w.inWave),
				WaveToken:      w.token(app),
			})
			var ex workflow.Execution
			if err := child.GetChildWorkflowExecution().Get(ctx, &ex); err != nil {
				s.State, s.Error = AppFailed, describeChildErr(app, err)
				continue
			}
			w.runs[app] = ex.RunID
			s.State, s.Started = AppRunning, true
			w.st.StartOrder = append(w.st.StartOrder, app)
			futures++
			w.publish(ctx)
			workflow.Go(ctx, func(ctx workflow.Context) {
				var res MigrateAppResult
				err := child.Get(ctx, &res)
				futures--
				switch {
				case err != nil:
					s.State, s.Error = AppFailed, err.Error()
				case res.Outcome == StageDone:
					s.State = AppDone
				case res.Outcome == StageRolledBack:
					s.State = AppRolledBack
				default:
					s.State = AppRejected
				}
				w.publish(ctx)
			})
		}
		w.release(ctx)
		before := snapshot(w.st.Apps)
		if err := workflow.Await(ctx, func() bool { return snapshot(w.st.Apps) != before }); err != nil {
			return w.cancelled(ctx, err)
		}
	}
	w.publish(ctx)
	return nil
}

func snapshot(apps []WaveAppState) string {
	b := make([]byte, 0, len(apps)*8)
	for _, a := range apps {
		b = append(b, string(a.State)...)
		b = append(b, ',')
	}
	return string(b)
}

func inFlight(apps []WaveAppState) int {
	n := 0
	for _, a := range apps {
		if a.State == AppRunning {
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

// cancelled: the wave was cancelled through Temporal. It starts no more
// apps and passes the cancel on to every migration it started that has
// not ended, by run: each parks (cancel-requested) for its own people's
// signed decision, as a cancel of the migration itself would (cancel.go).
// The requests go out on a context the cancel does not reach and are
// waited for: the child-only requests the SDK sends when the wave's
// context ends are dropped by the server once the wave has closed, which
// left the migrations running as if nothing had happened.
func (w *wave) cancelled(ctx workflow.Context, cause error) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	var apps []string
	var futs []workflow.Future
	for _, app := range w.st.StartOrder {
		switch w.state[app].State {
		case AppDone, AppRolledBack, AppRejected:
			continue
		}
		apps = append(apps, app)
		futs = append(futs, workflow.RequestCancelExternalWorkflow(dctx, AppWorkflowID(app), w.runs[app]))
	}
	for _, f := range futs {
		_ = f.Get(dctx, nil) // an ended run has nothing to cancel
	}
	why := "cancel requested through Temporal: the wave starts no more apps"
	if len(apps) > 0 {
		why += "; passed on to " + strings.Join(apps, ", ") + ", which park for their approvers' or operators' signed retry or rollback"
	}
	w.st.Audit = append(w.st.Audit, AuditEntry{At: workflow.Now(dctx), Signal: "cancel", By: cancelBy, Reason: why})
	workflow.GetLogger(dctx).Warn("wave cancelled through Temporal", "wave", w.in.Wave, "passedOn", apps)
	w.publish(dctx)
	return cause
}
