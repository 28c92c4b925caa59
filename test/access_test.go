package test

import (
	"context"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestAccessAndBadInputOnDevServer sends approvals to a MigrateApp on a dev
// server the ways people do: the ferry CLI's client (identity in the
// header), the Temporal UI (no identity; raw JSON, sometimes broken). Every
// refusal lands in the audit list; nothing panics the workflow.
func TestAccessAndBadInputOnDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("dev server")
	}
	srv := startDevServer(t)
	ui := srv.Client(t) // no identity interceptor: like the Temporal UI
	w := worker.New(ui, workflows.TaskQueue, worker.Options{Interceptors: []interceptor.WorkerInterceptor{identity.NewWorkerInterceptor()}})
	(&fakeacts.Fakes{Plans: quickPlans{}}).Register(w)
	ferryworker.RegisterWorkflows(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	bo, err := client.Dial(client.Options{HostPort: srv.HostPort(), Logger: quiet{}, Identity: "bo@example.com",
		Interceptors: []interceptor.ClientInterceptor{identity.NewClientInterceptor("bo@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	defer bo.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	app := "acl-app"
	id := workflows.AppWorkflowID(app)
	if _, err := startQuick(ctx, ui, app); err != nil {
		t.Fatal(err)
	}
	d := &driver{c: ui}
	eventually(t, ctx, "the plan gate", 200*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, app)
		return err == nil && st.Waiting != nil && st.Waiting.Gate == workflows.GatePlan, st.Stage
	})
	update := func(c client.Client, a workflows.Approval) error {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.UpdateApprove,
			Args: []any{a}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err != nil {
			return err
		}
		var rec workflows.ApprovalRecord
		return h.Get(ctx, &rec)
	}
	plan := func(who string) workflows.Approval {
		return workflows.Approval{Stage: workflows.GatePlan, Approver: who, Comment: "access test"}
	}
	// 1. bo's CLI approving in ana's name (both are approvers): refused.
	if err := update(bo, plan("ana@example.com")); err == nil || !strings.Contains(err.Error(), "sent by bo@example.com") {
		t.Fatalf("update naming another approver: %v", err)
	}
	// 2. Through the update path, someone not on the approver list.
	if err := update(ui, plan("mallory@example.com")); err == nil || !strings.Contains(err.Error(), "not an approver") {
		t.Fatalf("update by a non-approver: %v", err)
	}
	// 3. The same impersonation as a signal.
	if err := bo.SignalWorkflow(ctx, id, "", workflows.SignalApprove, plan("ana@example.com")); err != nil {
		t.Fatal(err)
	}
	// 4. Broken JSON typed in the UI, and JSON with a misspelt field.
	for _, raw := range []string{`{"stage":"plan","approver":"ana@example.com"`, `{"stage":"plan","aprover":"ana@example.com"}`} {
		p := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(raw)}
		if err := ui.SignalWorkflow(ctx, id, "", workflows.SignalApprove, converter.NewRawValue(p)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, ctx, "five refusals in the audit", 200*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, app)
		return err == nil && len(st.Audit) >= 5, st.Stage
	})
	st, _ := d.status(ctx, app)
	if len(st.Approvals) != 0 || st.Waiting == nil || st.Waiting.Gate != workflows.GatePlan {
		t.Fatalf("a refused approval went through: %+v", st)
	}
	wants := []string{"sent by bo@example.com", "not an approver", "sent by bo@example.com", "malformed JSON", "malformed JSON"}
	for i, a := range st.Audit {
		t.Logf("audit %d: %s by %q: %s", i, a.Signal, a.By, a.Reason)
		if i < len(wants) && !strings.Contains(a.Reason, wants[i]) {
			t.Errorf("audit %d = %q, want %q", i, a.Reason, wants[i])
		}
	}
	// 5. bo approving as himself through his CLI, unsigned: refused; signed
	// with his key: accepted.
	if err := update(bo, plan("bo@example.com")); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("bo approving as bo without a signature: %v", err)
	}
	signed, err := as(bo, "bo@example.com", testKeys).Approval(ctx, app, "approve", workflows.GatePlan, "access test")
	if err != nil {
		t.Fatal(err)
	}
	if err := update(bo, signed); err != nil {
		t.Fatalf("bo approving as bo, signed: %v", err)
	}
	eventually(t, ctx, "the cutover gate", 200*time.Millisecond, func() (bool, string) {
		st, err := d.status(ctx, app)
		return err == nil && st.Waiting != nil && st.Waiting.Gate == workflows.GateCutover, st.Stage
	})
	// 6. The UI: a raw signal naming a real approver, unsigned, is refused;
	// the JSON of 'ferry migrate approve --print-signal' pasted there passes.
	if err := ui.SignalWorkflow(ctx, id, "", workflows.SignalApprove, workflows.Approval{Stage: workflows.GateCutover, Approver: "ana@example.com"}); err != nil {
		t.Fatal(err)
	}
	pasted, err := as(ui, "ana@example.com", testKeys).Approval(ctx, app, "approve", workflows.GateCutover, "pasted in the UI")
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.SignalWorkflow(ctx, id, "", workflows.SignalApprove, pasted); err != nil {
		t.Fatal(err)
	}
	if _, err := d.run(ctx, app, ""); err != nil {
		t.Fatal(err)
	}
	st, _ = d.status(ctx, app)
	if len(st.Approvals) < 3 || st.Approvals[0].Approver != "bo@example.com" || st.Approvals[1].Approver != "ana@example.com" {
		t.Fatalf("approvals: %+v", st.Approvals)
	}
	for _, a := range st.Approvals {
		if !a.Verified {
			t.Errorf("approval %+v accepted unverified", a)
		}
	}
	if n := len(st.Audit); n < 7 || !strings.Contains(st.Audit[5].Reason, "not signed") || !strings.Contains(st.Audit[6].Reason, "not signed") {
		t.Errorf("unsigned approvals not refused: %+v", st.Audit)
	}
	// No workflow task ever failed (a panic would show as one).
	it := ui.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Fatalf("workflow task failed: %v", ev)
		}
	}
}
