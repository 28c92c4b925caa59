package test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/workflows"
)

// TestTerminatedMigrationUndoneByANewStart: someone with write access to
// the namespace terminates a migration with all traffic on GCP
// (`temporal workflow terminate`, which no workflow code sees). The
// workflow's memory of what it changed is gone; a new start of the app
// learns it from terraform's state (the plan gate says what exists), and
// its approver's rollback, at that gate, puts traffic back in the
// datacenter (the plan keeps the resources: rollback = "keep").
func TestTerminatedMigrationUndoneByANewStart(t *testing.T) {
	st := e2eStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := pick(st, 1)[0]
	if err := st.Publish(ctx, func(b *hclwrite.Body) {
		devtest.Fast()(b)
		devtest.Set("rollback", cty.StringVal("keep"), s.Name)(b)
	}); err != nil {
		t.Fatal(err)
	}
	k := devKeys(st.StateDir)
	d := &driver{c: st.C, keys: k}
	start(ctx, t, st, s)
	if _, err := d.run(ctx, s.Name, workflows.StageApproveDecommission); err != nil {
		t.Fatal(err)
	}
	dc, gcp := traffic.DCBackendName(s.Name), traffic.GCPBackendName(s.Name)
	if _, w := gce(ctx, t, st, s); w[gcp] != 100 || w[dc] != 0 {
		t.Fatalf("%s cut over: weights %v", s.Name, w)
	}
	out, err := exec.CommandContext(ctx, testenv.Temporal(t), "workflow", "terminate", "--address", st.TemporalAddress, "--namespace", "default",
		"--workflow-id", workflows.AppWorkflowID(s.Name), "--reason", "test: a namespace writer").CombinedOutput()
	if err != nil {
		t.Fatalf("temporal workflow terminate: %v\n%s", err, out)
	}

	start(ctx, t, st, s)
	if _, err := d.run(ctx, s.Name, workflows.StageApprovePlan); err != nil {
		t.Fatal(err)
	}
	var stat workflows.Status
	eventually(t, ctx, s.Name+" waiting at its plan gate", 100*time.Millisecond, func() (bool, string) {
		var err error
		if stat, err = d.status(ctx, s.Name); err != nil {
			return false, err.Error()
		}
		return stat.Waiting != nil, stat.Stage
	})
	if p := stat.Evidence.Plan; p == nil || p.InState == 0 || stat.Waiting == nil || !strings.Contains(stat.Waiting.Hint, "already exist") {
		t.Fatalf("the new start's plan gate does not say what the terminated run left: plan %+v, waiting %+v", p, stat.Waiting)
	}
	if _, w := gce(ctx, t, st, s); w[gcp] != 100 {
		t.Fatalf("before the rollback: weights %v, want the terminated run's 100 %% on GCP", w)
	}
	if _, err := rollbackAs(ctx, st.C, s.Name, s.Approvers["plan"][0], k, "e2e: undo what the terminated run did"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.run(ctx, s.Name, ""); err != nil || got != workflows.StageRolledBack {
		t.Fatalf("the new start's rollback: %s %v", got, err)
	}
	if inst, w := gce(ctx, t, st, s); w[gcp] != 0 || w[dc] != 100 || len(inst) == 0 {
		t.Errorf("after the rollback: weights %v, instances %v; want all traffic in the datacenter and the instances kept", w, inst)
	}
}
