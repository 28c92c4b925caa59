package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestSecretsStayOutOfHistoryAndLogs runs a migration whose hook prints
// the worker's vCenter password, then checks the raw workflow history, the
// workflow's evidence and the worker's log: the password (the canary)
// appears in none of them, and the hook's output shows it redacted.
func TestSecretsStayOutOfHistoryAndLogs(t *testing.T) {
	st := e2eStack(t)
	canary := st.VCenter.Password
	if len(canary) < 8 {
		t.Fatalf("the simulator's password %q is too short to be a canary", canary)
	}
	secretFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(secretFile, []byte("password for the final sync: "+canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	app := pick(st, 1)[0].Name
	// A reviewed hook that leaks the secret into its output.
	if err := st.Publish(ctx, devtest.Hook(app, "leaky-sync", plan.HookPreProvision, "1m", "cat", secretFile)); err != nil {
		t.Fatal(err)
	}
	spec := spec(t, st, app)
	start(ctx, t, st, spec)
	d := &driver{c: st.C, keys: devKeys(st.StateDir)}
	if _, err := d.run(ctx, spec.Name, workflows.StageApproveCutover); err != nil {
		t.Fatal(err)
	}
	status, err := d.status(ctx, spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	var hookOut string
	for _, h := range status.Evidence.Hooks {
		if h.Name == "leaky-sync" {
			hookOut = h.Output
		}
	}
	if !strings.Contains(hookOut, "[REDACTED]") || strings.Contains(hookOut, canary) {
		t.Errorf("hook evidence %q: want the password redacted", hookOut)
	}
	if _, err := rollbackAs(ctx, st.C, spec.Name, spec.Approvers["plan"][0], devKeys(st.StateDir), "secrets test done"); err != nil {
		t.Fatal(err)
	}
	if out, err := d.run(ctx, spec.Name, ""); err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s %v", out, err)
	}

	var raw strings.Builder
	it := st.C.GetWorkflowHistory(ctx, workflows.AppWorkflowID(spec.Name), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		// Text format prints payload bytes as (escaped) text, so a secret
		// inside any payload would show; JSON would base64 it.
		b, _ := prototext.Marshal(ev)
		raw.Write(b)
		events++
	}
	if events < 20 || !strings.Contains(raw.String(), "RunHook") {
		t.Fatalf("history of %d events does not look like the run", events)
	}
	if strings.Contains(raw.String(), canary) {
		t.Errorf("the vCenter password appears in the raw workflow history")
	}
	// The dev stack encrypts payloads: VM names and IPs are not readable in
	// the history either (search attributes, which hold no VM, stay plain).
	for _, vm := range spec.VMs {
		for _, c := range append([]string{vm.Name}, vm.IPs...) {
			if strings.Contains(raw.String(), c) {
				t.Errorf("%q (a VM name or IP) appears in the raw workflow history", c)
			}
		}
	}
	log, err := os.ReadFile(st.Log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), canary) {
		t.Errorf("the vCenter password appears in the worker's log %s", st.Log)
	}
}
