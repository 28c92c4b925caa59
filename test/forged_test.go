package test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/internal/testkeys"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestForgedStartsFromTheTemporalCLI is the attack of issue 13 done with
// the attacker's real tool: anyone who reaches the task queue runs
// `temporal workflow start` with JSON of their choosing (a spec with a
// hook, someone else's name, their own key). The worker refuses each start
// — outcome Refused, audited — and runs nothing: no hook, no discovery, no
// terraform; a forged approval signal is refused and audited too.
func TestForgedStartsFromTheTemporalCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("dev server")
	}
	srv := startDevServer(t)
	c := srv.Client(t)
	f := &fakeacts.Fakes{Plans: quickPlans{}}
	startFakeWorker(t, c, f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now().UTC()

	// mallory has a key, but the plan lists none for her.
	mallorySig, err := identity.Sign(identity.Statement{
		WorkflowID: workflows.AppWorkflowID("forged-own-key"), Kind: "start", Stage: "forged-own-key", By: "mallory@example.com", Text: quickDigest, IssuedAt: now},
		testkeys.Signer("mallory@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	// carl (the plan's operator) signed a start of another app: replayed here.
	carlOther, err := identity.Sign(identity.Statement{
		WorkflowID: workflows.AppWorkflowID("some-other-app"), Kind: "start", Stage: "some-other-app", By: "carl@example.com", Text: quickDigest, IssuedAt: now},
		testkeys.Signer("carl@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	hook := map[string]any{"hooks": []map[string]any{{"name": "pwn", "at": "pre_provision", "command": []string{"sh", "-c", "id > /tmp/pwned"}}},
		"approvers": map[string]any{"plan": []string{"mallory@example.com"}}, "vms": []map[string]any{{"ref": "vm-1", "finalAction": "delete"}}}
	for _, tc := range []struct {
		app   string
		input map[string]any
	}{
		{"forged-spec", map[string]any{"app": "forged-spec", "planDigest": quickDigest, "startedBy": "carl@example.com", "spec": hook}},
		{"forged-unsigned", map[string]any{"app": "forged-unsigned", "planDigest": quickDigest, "startedBy": "carl@example.com"}},
		{"forged-own-key", map[string]any{"app": "forged-own-key", "planDigest": quickDigest, "startedBy": "mallory@example.com",
			"issuedAt": now, "signature": mallorySig}},
		{"forged-replayed", map[string]any{"app": "forged-replayed", "planDigest": quickDigest, "startedBy": "carl@example.com",
			"issuedAt": now, "signature": carlOther}},
		{"forged-as-child", map[string]any{"app": "forged-as-child", "planDigest": quickDigest, "startedBy": "carl@example.com",
			"waveWorkflowID": workflows.WaveWorkflowID("wave-1"), "waveToken": "guess"}},
	} {
		t.Run(tc.app, func(t *testing.T) {
			input, _ := json.Marshal(tc.input)
			id := workflows.AppWorkflowID(tc.app)
			out, err := exec.CommandContext(ctx, testenv.Temporal(t), "workflow", "start", "--address", srv.HostPort(), "--namespace", "default",
				"--task-queue", workflows.TaskQueue, "--type", workflows.MigrateAppWorkflowName, "--workflow-id", id,
				"--input", string(input)).CombinedOutput()
			if err != nil {
				t.Fatalf("temporal workflow start: %v\n%s", err, out)
			}
			var res workflows.MigrateAppResult
			if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != workflows.StageRefused || len(res.Status.Audit) == 0 || res.Status.Audit[0].Signal != "start" {
				t.Fatalf("forged start ended %s, audit %+v", res.Outcome, res.Status.Audit)
			}
			t.Logf("refused: %s", res.Status.Audit[0].Reason)
		})
	}
	for _, ran := range f.Calls() {
		if ran != "ResolveApp" && !strings.HasPrefix(ran, "Notify") {
			t.Errorf("a forged start ran %s (all calls: %v)", ran, f.Calls())
		}
	}

	// A forged approval typed into `temporal workflow signal`: refused,
	// audited, the gate still open.
	if _, err := startQuick(ctx, c, "signal-target"); err != nil {
		t.Fatal(err)
	}
	d := &driver{c: c}
	eventually(t, ctx, "the plan gate", 200*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, "signal-target")
		return err == nil && st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan, st.Stage
	})
	out, err := exec.CommandContext(ctx, testenv.Temporal(t), "workflow", "signal", "--address", srv.HostPort(), "--namespace", "default",
		"--workflow-id", workflows.AppWorkflowID("signal-target"), "--name", workflows.SignalApprove,
		"--input", `{"stage":"plan","approver":"ana@example.com","comment":"lgtm","seq":1}`).CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow signal: %v\n%s", err, out)
	}
	eventually(t, ctx, "the forged approval in the audit list", 200*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, "signal-target")
		return err == nil && len(st.Audit) == 1 && len(st.Approvals) == 0 && st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan,
			st.Stage
	})
}
