package browser

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferrymigrate/ferry/dashboard"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/tracking"
	"github.com/ferrymigrate/ferry/workflows"
)

var update = flag.Bool("update", false, "rewrite docs/dashboard.png from the dashboard test (or FERRY_UPDATE_SCREENSHOT=1)")

// TestDashboardInBrowser seeds migrations on the dev server (three Done,
// two waiting for plan approval, one Blocked, the rest not started), opens
// the dashboard in chromium and checks the numbers of the chart, the cards
// and the table, and the blast radius on click.
func TestDashboardInBrowser(t *testing.T) {
	testenv.Chromium(t) // skips loudly (or fails under make test) without chromium
	st := devStack(t)
	sd := seed(t, st, cutoverApp(st))

	srv := httptest.NewServer(dashboard.New(dashboard.Config{Visibility: st.C, Namespace: "default", UIURL: st.UIURL,
		Plan: st.Plan, Specs: st.Specs, Deps: st.Deps, Refresh: time.Hour, Log: slog.Default()}))
	defer srv.Close()

	// Visibility is eventually consistent: wait until it shows the seed.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		execs, err := tracking.ListMigrations(ctx, st.C, "default")
		if err == nil && stageIs(execs, sd.Done, workflows.StageDone) && stageIs(execs, sd.WaitingPlan, workflows.StageApprovePlan) && stageIs(execs, sd.Blocked, workflows.StageBlocked) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("visibility never showed the seeded stages (last error %v)", err)
		case <-time.After(200 * time.Millisecond):
		}
	}

	b := newBrowser(t)
	within(t, b, 30*time.Second, "open the dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#apps tbody tr")))

	total := len(st.Specs)
	done := len(sd.Done)
	type cards struct{ Remaining, Total, Done, ChartTotal, ChartDone, ChartRemaining string }
	got := eval[cards](t, b, `(() => { const s = document.querySelector("#burndown svg"); return {
	  Remaining: document.getElementById("remaining-apps").textContent, Total: document.getElementById("total-apps").textContent,
	  Done: document.getElementById("done-apps").textContent,
	  ChartTotal: s.dataset.total, ChartDone: s.dataset.done, ChartRemaining: s.dataset.remaining}; })()`)
	want := cards{fmt.Sprint(total - done), fmt.Sprint(total), fmt.Sprint(done), fmt.Sprint(total), fmt.Sprint(done), fmt.Sprint(total - done)}
	if got != want {
		t.Errorf("cards and chart: got %+v, want %+v", got, want)
	}
	title := eval[string](t, b, `document.querySelector("#burndown svg text").textContent`)
	if w := fmt.Sprintf("Remaining apps: %d of %d", total-done, total); title != w {
		t.Errorf("chart title %q, want %q", title, w)
	}

	stages := eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll("#apps tbody tr")].map(r => [r.dataset.app, r.querySelector(".stage").textContent.trim()]))`)
	if len(stages) != total {
		t.Errorf("table has %d rows, want %d (one per app of the plan)", len(stages), total)
	}
	check := func(apps []string, stage string) {
		for _, a := range apps {
			if stages[a] != stage {
				t.Errorf("table: %s is %q, want %q", a, stages[a], stage)
			}
		}
	}
	check(sd.Done, workflows.StageDone)
	check(sd.WaitingPlan, workflows.StageApprovePlan)
	check(sd.Blocked, workflows.StageBlocked)
	for _, a := range sd.NotStarted {
		if stages[a] != workflows.StageNotStarted && stages[a] != "" && a != cutoverApp(st) {
			t.Errorf("table: %s is %q, want NotStarted", a, stages[a])
		}
	}
	blocked := sd.Blocked[0]
	links := eval[map[string]string](t, b, fmt.Sprintf(`(() => { const r = document.querySelector('#apps tr[data-app=%q]');
	  return {workflow: r.querySelector("a.workflow").href, runbook: r.querySelector("a.runbook").href, error: r.querySelector(".error").textContent}; })()`, blocked))
	if w := st.UIURL + "/namespaces/default/workflows/ferry-app-" + blocked; links["workflow"] != w {
		t.Errorf("workflow link %q, want %q", links["workflow"], w)
	}
	if links["runbook"] != srv.URL+"/runbooks/health-check-failed.md" {
		t.Errorf("runbook link %q", links["runbook"])
	}
	// The search attribute holds the reason code only (details may carry
	// what no visibility store should): the runbook link says the rest.
	if strings.TrimSpace(links["error"]) != "health-check-failed" {
		t.Errorf("last error %q", links["error"])
	}
	waiting := eval[string](t, b, fmt.Sprintf(`document.querySelector('#apps tr[data-app=%q] td.waiting').textContent`, sd.WaitingPlan[0]))
	if !bytes.HasPrefix([]byte(waiting), []byte("plan (")) {
		t.Errorf("waiting on %q, want the plan gate and its approvers", waiting)
	}

	// Blast radius on click: pick an app something depends on.
	var hub string
	var radius []string
	for _, s := range st.Specs {
		if r := st.Deps.BlastRadius[s.Name]; len(r) > len(radius) {
			hub, radius = s.Name, r
		}
	}
	if hub != "" {
		click(t, b, "", fmt.Sprintf(`#graph .node[data-app=%q] rect`, hub))
		hl := eval[[]string](t, b, `[...document.querySelectorAll("#graph .node.hl")].map(n => n.dataset.app)`)
		for _, a := range append(slices.Clone(radius), hub) {
			if !slices.Contains(hl, a) {
				t.Errorf("blast radius of %s: %s not highlighted (highlighted %v)", hub, a, hl)
			}
		}
		info := eval[string](t, b, `document.getElementById("blast").textContent`)
		if want := fmt.Sprintf("Blast radius of %s (%d)", hub, len(radius)); !bytes.HasPrefix([]byte(info), []byte(want)) {
			t.Errorf("blast text %q, want prefix %q", info, want)
		}
	}
	waves := eval[int](t, b, `document.querySelectorAll("#timeline .wave").length`)
	if waves != len(st.Plan.Waves) {
		t.Errorf("timeline shows %d waves, want %d", waves, len(st.Plan.Waves))
	}

	sctx, cancelShot := context.WithTimeout(b, 20*time.Second)
	defer cancelShot()
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 1000 {
		t.Fatalf("screenshot: %v (%v)", err, img)
	}
	if *update || os.Getenv("FERRY_UPDATE_SCREENSHOT") == "1" {
		out := filepath.Join(testenv.Root(), "docs", "dashboard.png")
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", out, len(shot))
	}
}

func stageIs(execs map[string]tracking.Execution, apps []string, stage string) bool {
	for _, a := range apps {
		if execs[a].Stage != stage {
			return false
		}
	}
	return true
}
