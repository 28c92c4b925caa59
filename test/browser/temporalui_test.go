package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/ferrymigrate/ferry/planstore"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/terraform"
	"github.com/ferrymigrate/ferry/traffic"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// cutoverApp is the app the Temporal UI test migrates for real: the
// smallest app of the first wave with plan and cutover approvers.
func cutoverApp(st *stack) string {
	var best *plan.AppSpec
	for i, s := range st.Specs {
		if len(st.Plan.Waves) > 0 && s.Wave != st.Plan.Waves[0].Name {
			continue
		}
		if len(s.Approvers[workflows.GatePlan]) == 0 || len(s.Approvers[workflows.GateCutover]) == 0 {
			continue
		}
		if best == nil || len(s.VMs) < len(best.VMs) {
			best = &st.Specs[i]
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// TestApproveCutoverInTemporalUI migrates one app of the sample portfolio
// on the dev stack up to the cutover gate — the real MigrateApp workflow and
// the real activities (vcsim discovery, dependency check on the flows,
// terraform plan and apply with the google provider against gcpfake),
// except the health check: gcpfake's instances have addresses nothing
// answers on, so a double reads the instances from gcpfake and reports the
// RUNNING ones healthy. Then it approves the cutover in the Temporal UI: then approves the cutover
// in the Temporal UI: find the workflow in the list by its FerryStage
// search attribute, More Actions → Send a Signal → approve with JSON. The
// workflow must record the approval and move past the gate.
func TestApproveCutoverInTemporalUI(t *testing.T) {
	testenv.Chromium(t) // skips loudly (or fails under make test) without chromium
	st := devStack(t)
	app := cutoverApp(st)
	if app == "" {
		t.Fatal("the dev plan's first wave has no app with plan and cutover approvers")
	}
	spec := st.Specs[slices.IndexFunc(st.Specs, func(s plan.AppSpec) bool { return s.Name == app })]
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	began := time.Now()
	startCutoverWorker(t, st)
	_, err := startOn(ctx, st, cutoverQueue, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Drive the earlier gates from the API; the cutover is for the UI.
	for {
		s := waitFor(t, ctx, st.C, app, "a gate", func(s workflows.Status) bool {
			return (s.Waiting != nil && s.Waiting.Gate != "retry") || s.Stage == workflows.StageBlocked || s.Stage == workflows.StageRolledBack
		})
		if s.Stage == workflows.StageBlocked || s.Stage == workflows.StageRolledBack {
			t.Fatalf("%s stopped at %s before the cutover gate: %+v", app, s.Stage, s.LastError)
		}
		if s.Waiting.Gate == workflows.GateCutover {
			break
		}
		if s.Waiting.Gate != workflows.GatePlan && s.Waiting.Gate != workflows.GateDependencies {
			continue
		}
		approve(t, ctx, st, spec, s.Waiting.Gate)
		waitFor(t, ctx, st.C, app, "past "+s.Waiting.Gate, func(n workflows.Status) bool {
			return n.Waiting == nil || n.Waiting.Gate != s.Waiting.Gate
		})
	}
	t.Logf("%s reached the cutover gate on the real stack in %s", app, time.Since(began).Round(time.Second))

	uiStart := time.Now()
	approver := spec.Approvers[workflows.GateCutover][0]
	comment := "window agreed; approved in the Temporal UI by the browser test"
	ui := fmt.Sprintf("http://127.0.0.1:%d", st.UIPort)
	b := newBrowser(t)

	// Find it: the workflow list filtered on ferry's search attribute.
	q := url.QueryEscape(fmt.Sprintf(`WorkflowType="%s" AND FerryStage="%s"`, workflows.MigrateAppWorkflowName, workflows.StageApproveCutover))
	within(t, b, 30*time.Second, "open the workflow list", chromedp.Navigate(ui+"/namespaces/default/workflows?query="+q))
	click(t, b, "", fmt.Sprintf(`a[href*="/workflows/%s/"]`, workflows.AppWorkflowID(app)))
	waitJS(t, b, 20*time.Second, "the workflow page", visibleJS("", `button[aria-controls="workflow-actions"]`))

	click(t, b, "", `button[aria-controls="workflow-actions"]`)
	waitJS(t, b, 5*time.Second, "the actions menu", visibleJS("", `button[aria-controls="workflow-actions"][aria-expanded="true"]`))
	within(t, b, 2*time.Second, "menu animation", chromedp.Sleep(250*time.Millisecond))
	click(t, b, "", `[data-testid="signal-button"]`)
	dialog := `dialog[data-testid="signal-confirmation-modal"][open]`
	waitJS(t, b, 10*time.Second, "the signal dialog", visibleJS("", dialog))

	// With a worker the UI lists the workflow's signals; without, a text box.
	if eval[bool](t, b, "!!"+visibleJS(dialog, `[data-testid="signal-select-button"]`)) {
		sel := visibleJS(dialog, `[data-testid="signal-select-button"]`)
		for i := 0; ; i++ {
			click(t, b, dialog, `[data-testid="signal-select-button"]`)
			// The options count as rendered before the list has opened.
			within(t, b, 2*time.Second, "let the list open", chromedp.Sleep(400*time.Millisecond))
			clickText(t, b, "", `li[role=option]`, workflows.SignalApprove)
			within(t, b, 2*time.Second, "let the select settle", chromedp.Sleep(300*time.Millisecond))
			if got := eval[string](t, b, sel+`.querySelector("input").value`); got == workflows.SignalApprove {
				break
			}
			if i == 2 {
				shot(t, b, "signal-select")
				t.Fatalf("the signal select never showed %q", workflows.SignalApprove)
			}
		}
	} else {
		click(t, b, dialog, `input[data-testid="signal-name"]`)
		within(t, b, 5*time.Second, "type the signal name", insertText(workflows.SignalApprove))
	}
	// The JSON to paste is what 'ferry migrate approve APP --stage cutover
	// --print-signal' prints: the approval signed with the approver's key.
	signed, err := person(st, approver).Approval(ctx, app, "approve", workflows.GateCutover, comment)
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(signed)
	payload := string(pj)
	editor := visibleJS(dialog, `.cm-content[contenteditable="true"]`)
	click(t, b, dialog, `.cm-content[contenteditable="true"]`)
	// The editor starts empty; focus it explicitly (a click may land
	// before it is ready, and Ctrl+A would then select the whole page).
	_ = eval[bool](t, b, `(`+editor+`.focus(), true)`)
	waitJS(t, b, 5*time.Second, "the editor focused", editor+`.contains(document.activeElement) || document.activeElement === `+editor)
	within(t, b, 10*time.Second, "enter the JSON", insertText(payload))
	if got := eval[string](t, b, editor+`.textContent`); got != payload {
		t.Fatalf("the signal editor holds %q, want %q", got, payload)
	}
	_ = eval[bool](t, b, `(document.activeElement && document.activeElement.blur(), true)`)
	within(t, b, 2*time.Second, "let the dialog re-layout", chromedp.Sleep(300*time.Millisecond))
	submit := visibleJS(dialog, `[data-testid="confirm-modal-button"]`)
	waitJS(t, b, 10*time.Second, "Submit enabled", submit+"&& !"+submit+".disabled")
	shot(t, b, "before-submit")
	click(t, b, dialog, `[data-testid="confirm-modal-button"]`)
	waitJS(t, b, 15*time.Second, "the dialog to close", "!"+visibleJS("", dialog))

	shot(t, b, "after-submit")
	actx, cancelA := context.WithTimeout(ctx, 30*time.Second)
	defer cancelA()
	after := waitFor(t, actx, st.C, app, "the cutover approval", func(s workflows.Status) bool {
		return slices.ContainsFunc(s.Approvals, func(a workflows.ApprovalRecord) bool {
			return a.Stage == workflows.GateCutover && a.Decision == "approved"
		}) && (s.Waiting == nil || s.Waiting.Gate != workflows.GateCutover)
	})
	rec := after.Approvals[len(after.Approvals)-1]
	if rec.Approver != approver || rec.Comment != comment || !rec.Verified {
		t.Errorf("recorded approval %+v, want approver %s and the comment typed in the UI", rec, approver)
	}
	for _, a := range after.Audit {
		t.Errorf("unexpected refusal in the audit: %+v", a)
	}
	t.Logf("approved in the UI in %s; %s moved on to stage %s (waiting %+v)", time.Since(uiStart).Round(100*time.Millisecond), app, after.Stage, after.Waiting)
}

// cutoverQueue is where the cutover test's migration runs (see
// startCutoverWorker); the stack's own worker polls workflows.TaskQueue.
const cutoverQueue = "ferry-browser-cutover"

// startCutoverWorker runs the real workflow and activities, configured
// like the dev stack's worker, with the health check replaced.
func startCutoverWorker(t *testing.T, st *stack) {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(st.StateDir, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	vc := inventory.Config{URL: st.VCenterURL, Insecure: true}
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "export GOVC_USERNAME="); ok {
			vc.Username = v
		}
		if v, ok := strings.CutPrefix(line, "export GOVC_PASSWORD="); ok {
			vc.Password = v
		}
	}
	tfBin, tfConfig := testenv.Terraform(t)
	store, err := planstore.Open(context.Background(), filepath.Join(st.StateDir, "plans"))
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{
		Plans:     planstore.NewResolver(store),
		VCenter:   vc,
		GCP:       st.GCP,
		Terraform: terraform.Config{Binary: tfBin, CLIConfigFile: tfConfig, WorkRoot: filepath.Join(st.StateDir, "terraform-browser")},
		Flows:     []string{filepath.Join(st.StateDir, "flows.csv")},
	}
	w := sdkworker.New(st.C, cutoverQueue, sdkworker.Options{})
	ferryworker.Register(w, acts)
	w.RegisterActivityWithOptions(gceRunning{st.GCP, acts.Plans}.HealthCheck,
		activity.RegisterOptions{Name: activities.HealthCheckName, DisableAlreadyRegisteredCheck: true})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// gceRunning is the health check double: healthy means the instance
// exists in gcpfake and is RUNNING.
type gceRunning struct {
	g     gcp.Config
	plans activities.Plans
}

func (h gceRunning) HealthCheck(ctx context.Context, in activities.HealthCheckInput) (activities.HealthCheckResult, error) {
	s, err := h.plans.App(ctx, in.Plan.App, in.Plan.Digest)
	if err != nil {
		return activities.HealthCheckResult{}, err
	}
	g := h.g
	if s.Project != "" {
		g.Project = s.Project
	}
	c, err := compute.NewInstancesRESTClient(ctx, g.ComputeOptions()...)
	if err != nil {
		return activities.HealthCheckResult{}, err
	}
	defer c.Close()
	insts, err := (&traffic.GCE{Instances: c, Project: g.Project, Zone: s.Zone}).List(ctx, s)
	if err != nil {
		return activities.HealthCheckResult{}, temporal.NewApplicationError(err.Error(), "health-check-failed")
	}
	var res activities.HealthCheckResult
	for _, i := range insts {
		if i.Status == "RUNNING" {
			res.Healthy++
		} else {
			res.Unhealthy++
		}
		res.Details = append(res.Details, i.Name+": "+i.Status)
	}
	if res.Unhealthy > 0 || res.Healthy == 0 {
		return res, temporal.NewApplicationError(fmt.Sprintf("%d of %d instances not RUNNING", res.Unhealthy, len(insts)), "health-check-failed", res)
	}
	return res, nil
}
