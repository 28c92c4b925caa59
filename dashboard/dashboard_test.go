package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/ferrymigrate/ferry/deps"
	"github.com/ferrymigrate/ferry/internal/fakevis"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

var now = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

// exec is app's MigrateApp run with search attributes sa (plus FerryApp).
func exec(app string, status enumspb.WorkflowExecutionStatus, start time.Time, sa map[string]any) *workflowpb.WorkflowExecutionInfo {
	sa["FerryApp"] = app
	return fakevis.Run(workflows.AppWorkflowID(app), "r-"+app, status, start, sa)
}

func testServer(t *testing.T, vis *fakevis.Visibility) *httptest.Server {
	t.Helper()
	specs := []plan.AppSpec{
		{Name: "billing-api", Wave: "wave-1", Owner: "ana@x", RunbookURL: "https://wiki/billing", VMs: []plan.VMSpec{{NumCPU: 2, DiskGB: 500}, {NumCPU: 2, DiskGB: 500}}},
		{Name: "crm", Wave: "wave-1", Owner: "bo@x", VMs: []plan.VMSpec{{NumCPU: 4, DiskGB: 1000}}},
		{Name: "ledger", Wave: "wave-2", Owner: "ana@x", VMs: []plan.VMSpec{{NumCPU: 8, DiskGB: 2000}}},
	}
	p := &plan.Plan{Target: now.Add(30 * 24 * time.Hour), Waves: []plan.Wave{{Name: "wave-1", Apps: []string{"billing-api", "crm"}}, {Name: "wave-2", Apps: []string{"ledger"}}}, Apps: specs}
	d := &deps.Result{Apps: []deps.Node{{ID: "billing-api", Name: "billing-api", Kind: deps.KindApp, Wave: 1}, {ID: "crm", Name: "crm", Kind: deps.KindApp, Wave: 1}, {ID: "ledger", Name: "ledger", Kind: deps.KindApp, Wave: 2}},
		Edges: []deps.Edge{{From: "crm", To: "billing-api"}}, Waves: []deps.WavePlan{{Number: 1, Name: "wave-1"}, {Number: 2, Name: "wave-2"}},
		BlastRadius: map[string][]string{"billing-api": {"crm"}}}
	return serve(t, Config{Visibility: vis, Namespace: "default", UIURL: "http://localhost:8233/", Plan: p, Specs: specs, Deps: d})
}

// serve starts the dashboard of cfg at the tests' now, logging nowhere.
func serve(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewServer(New(cfg))
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestPage(t *testing.T) {
	running := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	vis := &fakevis.Visibility{Execs: []*workflowpb.WorkflowExecutionInfo{
		exec("billing-api", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, now.Add(-10*24*time.Hour), map[string]any{"FerryStage": "Done", "FerryDoneAt": now.Add(-3 * 24 * time.Hour)}),
		exec("crm", running, now.Add(-9*24*time.Hour), map[string]any{"FerryStage": "ApproveCutover", "FerryWaitingOn": "cutover: bo@x", "FerryWaitingSince": now.Add(-time.Hour)}),
	}}
	ts := testServer(t, vis)
	code, body, h := get(t, ts.URL+"/")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'self'")
	for _, want := range []string{
		`<span id="remaining-apps">2</span>`, `<span id="total-apps">3</span>`, `<span id="done-apps">1</span>`,
		`data-total="3" data-done="1" data-remaining="2"`,
		`<tr data-app="crm" data-stage="ApproveCutover" class="waiting">`,
		`<tr data-app="ledger" data-stage="NotStarted" class="notstarted">`,
		`href="http://localhost:8233/namespaces/default/workflows/ferry-app-crm"`,
		`href="runbooks/gate-approve-cutover.md"`, `href="https://wiki/billing"`,
		`class="ferry-deps"`, `data-blast="[&#34;crm&#34;]"`, `fill="#ceead6"`,
		`class="wave running" data-wave="wave-1" data-apps="2" data-done="1"`, `class="wave planned" data-wave="wave-2"`,
		`id="target">2026-05-01</span>`,
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "ferry-app-ledger", "no workflow link for an app not started")

	code, body, _ = get(t, ts.URL+"/api/status")
	require.Equal(t, http.StatusOK, code)
	var api APIStatus
	require.NoError(t, json.Unmarshal([]byte(body), &api))
	assert.Len(t, api.Apps, 3)
	assert.Equal(t, 2, api.Burndown.Remaining.Apps)
	assert.Equal(t, int64(3000), api.Burndown.Remaining.DiskGB)

	code, body, h = get(t, ts.URL+"/burndown.svg")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "image/svg+xml", h.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(body, "<svg"))

	code, body, _ = get(t, ts.URL+"/runbooks/gate-approve-cutover.md")
	assert.Equal(t, http.StatusOK, code)
	assert.NotEmpty(t, body)
	code, _, _ = get(t, ts.URL+"/runbooks/..%2fserver.go")
	assert.Equal(t, http.StatusNotFound, code)
	code, body, _ = get(t, ts.URL+"/assets/dashboard.js")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "blast")
	code, _, _ = get(t, ts.URL+"/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestReadOnly(t *testing.T) {
	ts := testServer(t, &fakevis.Visibility{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, ts.URL+"/", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, m)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	}
	req, _ := http.NewRequest(http.MethodHead, ts.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestVisibilityDown(t *testing.T) {
	ts := testServer(t, &fakevis.Visibility{Err: errors.New("connection refused")})
	code, body, _ := get(t, ts.URL+"/")
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Contains(t, body, "connection refused")
}

func TestCheckListen(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", "localhost:0", "[::1]:8080", "127.0.0.5:1"} {
		assert.NoError(t, CheckListen(ok, false), ok)
	}
	for _, bad := range []string{"0.0.0.0:8080", ":8080", "10.0.0.1:80", "[::]:8080", "example.com:80"} {
		err := CheckListen(bad, false)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "--allow-remote")
		assert.NoError(t, CheckListen(bad, true), bad)
	}
	assert.Error(t, CheckListen("8080", true))
}
