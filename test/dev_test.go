package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ferrymigrate/ferry/codec"
	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestFerryDev is the newcomer's path: `ferry dev --demo` brings the stack
// up, the UI answers, a workflow of the demo wave waits for approval, the
// signal named in its details moves it on, and Ctrl-C leaves nothing behind.
func TestFerryDev(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	temporal := testenv.Temporal(t)
	tf, tfrc := testenv.Terraform(t)
	bin := ferry(t)
	state := t.TempDir()
	port, ui, metricsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	args := []string{"dev", "--demo", "--state-dir", state, "--temporal-port", fmt.Sprint(port), "--ui-port", fmt.Sprint(ui),
		"--metrics-address", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"--temporal-bin", temporal, "--terraform-bin", tf, "--terraform-config", tfrc, "--log-level", "warn"}
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "FERRY_USER=newcomer@example.com")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	uiURL := fmt.Sprintf("http://127.0.0.1:%d/", ui)
	eventually(t, ctx, "the Temporal UI", 500*time.Millisecond, func() (bool, string) {
		select {
		case err := <-exited:
			t.Fatalf("ferry dev exited: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
		resp, err := http.Get(uiURL)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})

	// ferry dev encrypts payloads; this client reads them with its key ring.
	keyText, err := os.ReadFile(filepath.Join(state, "codec.keys"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := codec.ParseKeyFile(string(keyText))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := codec.DataConverter(keys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port), DataConverter: dc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Some app of the demo wave reaches its plan gate.
	var app string
	var st workflows.Status
	eventually(t, ctx, "a demo workflow waiting for plan approval", time.Second, func() (bool, string) {
		resp, err := c.ListWorkflow(ctx, listReq("WorkflowType = 'MigrateApp' AND FerryStage = 'ApprovePlan'"))
		if err != nil || len(resp.Executions) == 0 {
			return false, fmt.Sprint(err)
		}
		app = strings.TrimPrefix(resp.Executions[0].Execution.WorkflowId, "ferry-app-")
		v, err := c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
		if err != nil {
			return false, err.Error()
		}
		if err := v.Get(&st); err != nil {
			return false, err.Error()
		}
		return st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan, st.Stage
	})
	// The demo wave is started by the dev stack's operator, signed.
	if st.StartedBy != devstack.Operator || !st.StartVerified {
		t.Errorf("started by %q (verified %v)", st.StartedBy, st.StartVerified)
	}
	if !strings.Contains(out.String(), uiURL[:len(uiURL)-1]) && !strings.Contains(out.String(), fmt.Sprintf("localhost:%d", ui)) {
		t.Errorf("the banner does not print the UI address:\n%s", out.String())
	}

	// The worker's /metrics: the SDK's own numbers and ferry's, moving.
	before := scrape(t, metricsURL)
	for _, want := range []struct {
		name   string
		labels string
	}{
		{"ferry_stage_entered_total", `stage="ApprovePlan"`},
		{"ferry_terraform_seconds_count", `op="plan"`},
		{"temporal_activity_execution_latency_seconds_count", ""},
		{"temporal_workflow_task_execution_latency_seconds_count", ""},
	} {
		if v := before.sum(want.name, want.labels); v < 1 {
			t.Errorf("metrics: %s{%s} = %v at the plan gate, want ≥ 1\n%s", want.name, want.labels, v, before.names())
		}
	}
	if !strings.Contains(out.String(), metricsURL) {
		t.Errorf("the banner does not print the metrics address %s:\n%s", metricsURL, out.String())
	}

	// As the README says: source dev.env, then approve as the approver
	// the workflow names; the CLI signs with that person's dev key.
	approver := st.Waiting.Approvers[0]
	env := append(os.Environ(), "FERRY_USER="+approver)
	dotenv, err := os.ReadFile(filepath.Join(state, "dev.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(dotenv), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	// The plan commands, in the same shell, price from gcpfake's Cloud
	// Billing Catalog API (dev.env names it).
	validate := exec.CommandContext(ctx, bin, "plan", "validate", filepath.Join(state, "ferry.hcl"), "--inventory", filepath.Join(state, "inventory.json"))
	validate.Env = env
	if outb, _ := validate.CombinedOutput(); !strings.Contains(string(outb), "prices: Cloud Billing Catalog API") {
		t.Errorf("ferry plan validate with dev.env does not price from the billing API:\n%s", outb)
	}
	// Unsigned, as a raw signal from the UI would be: refused.
	if err := c.SignalWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.SignalApprove,
		workflows.Approval{Stage: workflows.GatePlan, Approver: approver, Comment: "unsigned"}); err != nil {
		t.Fatal(err)
	}
	approve := exec.CommandContext(ctx, bin, "migrate", "approve", app, "--stage", "plan", "--comment", "looks right")
	approve.Env = env
	if outb, err := approve.CombinedOutput(); err != nil || !strings.Contains(string(outb), "verified: true") {
		t.Fatalf("ferry migrate approve: %v\n%s", err, outb)
	}
	eventually(t, ctx, "the workflow to move past the plan gate", time.Second, func() (bool, string) {
		v, err := c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
		if err != nil {
			return false, err.Error()
		}
		var now workflows.Status
		_ = v.Get(&now)
		return len(now.Approvals) == 1 && now.Stage != workflows.StageApprovePlan, now.Stage
	})
	v, err := c.QueryWorkflow(ctx, workflows.AppWorkflowID(app), "", workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var now workflows.Status
	_ = v.Get(&now)
	if len(now.Audit) != 1 || !strings.Contains(now.Audit[0].Reason, "not signed") || !now.Approvals[0].Verified {
		t.Errorf("unsigned approval not refused, or the CLI's not verified: audit %+v approvals %+v", now.Audit, now.Approvals)
	}

	after := scrape(t, metricsURL)
	if v := after.sum("ferry_gate_wait_seconds_count", `gate="plan"`); v < 1 {
		t.Errorf("metrics: no plan gate wait recorded after the approval\n%s", after.names())
	}
	if a, b := after.sum("ferry_stage_entered_total", ""), before.sum("ferry_stage_entered_total", ""); a <= b {
		t.Errorf("metrics: stages entered did not move after the approval (%v, then %v)", b, a)
	}

	// The attacker's tool against the real stack: a plaintext start with a
	// spec of its own (a hook that would write a file). The worker holds
	// the codec key and refuses the plaintext input: the workflow fails at
	// once saying so, and nothing is scheduled.
	pwned := filepath.Join(state, "pwned")
	forged := fmt.Sprintf(`{"app":"forged","planDigest":%q,"startedBy":%q,"spec":{"hooks":[{"name":"pwn","at":"pre_provision","command":["touch",%q]}]}}`,
		"sha256:"+strings.Repeat("0", 64), devstack.Operator, pwned)
	if o, err := exec.CommandContext(ctx, temporal, "workflow", "start", "--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--task-queue", workflows.TaskQueue, "--type", workflows.MigrateAppWorkflowName, "--workflow-id", workflows.AppWorkflowID("forged"),
		"--input", forged).CombinedOutput(); err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, o)
	}
	eventually(t, ctx, "the plaintext start refused by the worker", time.Second, func() (bool, string) {
		it := c.GetWorkflowHistory(ctx, workflows.AppWorkflowID("forged"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var seen []string
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false, err.Error()
			}
			seen = append(seen, ev.GetEventType().String())
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
				t.Fatalf("a plaintext start ran: %v", seen)
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
				msg := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
				if !strings.Contains(msg, "plaintext") {
					t.Fatalf("the plaintext start failed, but not saying why: %q", msg)
				}
				t.Logf("plaintext start: %s", msg)
				return true, ""
			}
		}
		return false, fmt.Sprintf("history so far: %v", seen)
	})
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the forged hook ran")
	}

	// A second ferry dev on the same state says so.
	second := exec.Command(bin, "dev", "--state-dir", state, "--temporal-port", fmt.Sprint(testenv.FreePort(t)), "--ui-port", fmt.Sprint(testenv.FreePort(t)), "--temporal-bin", temporal)
	msg, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "already running") {
		t.Errorf("second ferry dev: err=%v output=%s", err, msg)
	}

	// Ctrl-C stops everything.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ferry dev exited with %v after SIGINT\n%s", err, errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ferry dev did not stop within 60 s of SIGINT")
	}
	time.Sleep(500 * time.Millisecond)
	if left := leftovers(state); len(left) > 0 {
		t.Errorf("processes left after ferry dev stopped:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(filepath.Join(state, "temporal.db")); err != nil {
		t.Errorf("no persistent Temporal db under the state dir: %v", err)
	}
}

// promText is one scrape of a Prometheus text page.
type promText string

func scrape(t *testing.T, url string) promText {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape %s: %s %v", url, resp.Status, err)
	}
	return promText(b)
}

// sum adds the samples of metric name whose labels contain labels
// (`key="value"`, or "" for all).
func (p promText) sum(name, labels string) float64 {
	total := 0.0
	for _, line := range strings.Split(string(p), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		n, l, _ := strings.Cut(series, "{")
		if n != name || !strings.Contains(l, labels) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err == nil {
			total += v
		}
	}
	return total
}

// names lists the metric families on the page, for failure messages.
func (p promText) names() string {
	var out []string
	for _, line := range strings.Split(string(p), "\n") {
		if n, ok := strings.CutPrefix(line, "# TYPE "); ok {
			out = append(out, n)
		}
	}
	return strings.Join(out, "\n")
}
