package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/plan"
)

// App, wave and owner names come from vCenter tags, and search attributes
// can be set by anyone who starts a workflow: the page must show them as
// text in every context it uses (HTML text, attributes, URLs, inline SVG).
func TestPageEscapesUntrustedNames(t *testing.T) {
	const (
		app   = `pay"><script>alert(1)</script>`
		wave  = "w\"><svg onload=alert(2)>\x1b[2J"
		owner = "ana\u202e<img src=x onerror=alert(3)>"
	)
	specs := []plan.AppSpec{{Name: app, Wave: wave, Owner: owner, RunbookURL: "javascript:alert(4)", VMs: []plan.VMSpec{{NumCPU: 1, DiskGB: 10}}}}
	p := &plan.Plan{Target: now.Add(30 * 24 * time.Hour), Waves: []plan.Wave{{Name: wave, Apps: []string{app}}}, Apps: specs}
	d := &deps.Result{Apps: []deps.Node{{ID: app, Name: app, Kind: deps.KindApp, Wave: 1, MoveGroup: `g"><script>alert(5)</script>`}},
		Waves: []deps.WavePlan{{Number: 1, Name: wave}}, BlastRadius: map[string][]string{app: {`x"]}</script>`}}}
	vis := &fakevis.Visibility{Execs: []*workflowpb.WorkflowExecutionInfo{
		exec(app, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, now.Add(-time.Hour), map[string]any{
			"FerryStage": `Blocked<script>alert(6)</script>`, "FerryWave": wave, "FerryOwner": owner,
			"FerryWaitingOn": `retry: <b>mallory</b>`, "FerryLastError": "hook-failed: \x1b[31m<iframe src=javascript:alert(7)>",
		}),
	}}
	ts := serve(t, Config{Visibility: vis, Namespace: `ns"><script>alert(8)</script>`, UIURL: "http://localhost:8233", Plan: p, Specs: specs, Deps: d})
	for _, path := range []string{"/", "/burndown.svg"} {
		code, body, _ := get(t, ts.URL+path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		for _, bad := range []string{"<script>alert", "<svg onload", "<img src=x", "<iframe", "<b>mallory", `href="javascript:`, "\x1b", "\u202e"} {
			if strings.Contains(body, bad) {
				i := strings.Index(body, bad)
				t.Errorf("%s holds %q: …%s…", path, bad, body[max(0, i-120):min(len(body), i+80)])
			}
		}
	}
	_, body, _ := get(t, ts.URL+"/")
	// The names are still there, as text.
	for _, want := range []string{"pay&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", `ana\u202e&lt;img`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
