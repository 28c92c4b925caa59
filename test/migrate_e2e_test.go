package test

import (
	"context"
	"fmt"
	"github.com/zclconf/go-cty/cty"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/ferrymigrate/ferry/devstack"
	"github.com/ferrymigrate/ferry/internal/devtest"
	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/inventory"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	"github.com/ferrymigrate/ferry/workflows"
)

// spec is an app's spec in the stack's published plan.
func spec(t *testing.T, st *devtest.Stack, app string) plan.AppSpec {
	t.Helper()
	for _, s := range st.Specs {
		if s.Name == app {
			return s
		}
	}
	t.Fatalf("no app %s in the published plan", app)
	return plan.AppSpec{}
}

func e2eStack(t *testing.T) *devtest.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	tools := devtest.Tools{Temporal: testenv.Temporal(t)}
	tools.Terraform, tools.TerraformConfig = testenv.Terraform(t)
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	st, err := devtest.Start(dir, tools, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Stop(); _ = os.RemoveAll(dir) })
	// The reviewed plan of these tests: every app fast (fast's edits).
	if err := st.Publish(context.Background(), devtest.Fast()); err != nil {
		t.Fatal(err)
	}
	return st
}

// pick returns n lb apps behind the external HTTP load balancer whose data
// is not moved by a data strategy (replicate and sync apps have their own
// e2e test: their instances exist only from the cutover on; the ones
// gce reads the global URL map of) with the fewest VMs.
func pick(st *devtest.Stack, n int) []plan.AppSpec {
	var out []plan.AppSpec
	for _, s := range st.Specs {
		if s.Cutover.Strategy == "lb" && s.Cutover.LoadBalancer() == plan.LBExternalHTTP && len(s.Cutover.DCEndpoints) > 0 && s.Data.Strategy == plan.DataNone {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b plan.AppSpec) int { return len(a.VMs) - len(b.VMs) })
	return out[:n]
}

// start starts s from the stack's published plan, as the dev operator.
func start(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) {
	t.Helper()
	if _, err := as(st.C, devstack.Operator, devKeys(st.StateDir)).StartMigration(ctx, s, st.PlanDigest); err != nil {
		t.Fatal(err)
	}
}

// gce lists what exists in gcpfake for an app: instance names and the URL
// map's weights (nil when there is no URL map).
func gce(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) (instances []string, weights map[string]uint32) {
	t.Helper()
	ic, err := compute.NewInstancesRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	it := ic.List(ctx, &computepb.ListInstancesRequest{Project: s.Project, Zone: s.Zone})
	for {
		in, err := it.Next()
		if err != nil {
			break
		}
		if in.GetLabels()["app"] == s.Name {
			instances = append(instances, in.GetName())
		}
	}
	um, err := compute.NewUrlMapsRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer um.Close()
	m, err := um.Get(ctx, &computepb.GetUrlMapRequest{Project: s.Project, UrlMap: traffic.URLMapName(s.Name)})
	if err == nil {
		weights = map[string]uint32{}
		for _, w := range m.GetDefaultRouteAction().GetWeightedBackendServices() {
			name := w.GetBackendService()
			weights[name[strings.LastIndex(name, "/")+1:]] = w.GetWeight()
		}
	}
	return instances, weights
}

// stopInstances stops the app's GCE instances: their apps stop answering.
func stopInstances(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) {
	t.Helper()
	ic, err := compute.NewInstancesRESTClient(ctx, st.GCP.ComputeOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	names, _ := gce(ctx, t, st, s)
	for _, n := range names {
		op, err := ic.Stop(ctx, &computepb.StopInstanceRequest{Project: s.Project, Zone: s.Zone, Instance: n})
		if err == nil {
			err = op.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// sources returns the power state of the app's VMs in the simulator.
func sources(ctx context.Context, t *testing.T, st *devtest.Stack, s plan.AppSpec) map[string]string {
	t.Helper()
	c, err := inventory.Connect(ctx, st.VCenter)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	inv, err := inventory.Discover(ctx, c, inventory.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range inv.VMs {
		for _, p := range s.VMs {
			if v.Ref == p.Ref {
				out[v.Name] = v.PowerState
			}
		}
	}
	return out
}

// TestMigrationEndToEnd takes one app from start to decommissioned and
// rolls another back, on the dev server with the real worker, the
// simulator, gcpfake and real terraform; approvals go as signals.
func TestMigrationEndToEnd(t *testing.T) {
	st := e2eStack(t)
	apps := pick(st, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := st.Publish(ctx, devtest.Set("rollback", cty.StringVal("destroy"), apps[1].Name, apps[2].Name)); err != nil {
		t.Fatal(err)
	}
	done, back, bad := spec(t, st, apps[0].Name), spec(t, st, apps[1].Name), spec(t, st, apps[2].Name)
	start(ctx, t, st, done)
	start(ctx, t, st, back)
	start(ctx, t, st, bad)

	k := devKeys(st.StateDir)
	d := &driver{c: st.C, keys: k}
	errs := make(chan error, 2)
	go func() {
		out, err := d.run(ctx, done.Name, "")
		if err == nil && out != workflows.StageDone {
			st, _ := d.status(ctx, done.Name)
			err = fmt.Errorf("%s ended %s; last error %+v", done.Name, out, st.LastError)
		}
		errs <- err
	}()
	d2 := &driver{c: st.C, keys: k}
	if _, err := d2.run(ctx, back.Name, workflows.StageApproveDecommission); err != nil {
		t.Fatal(err)
	}
	if _, w := gce(ctx, t, st, back); w[traffic.GCPBackendName(back.Name)] != 100 {
		t.Errorf("%s at ApproveDecommission, weights %v: want 100 %% GCP", back.Name, w)
	}
	if _, err := rollbackAs(ctx, st.C, back.Name, back.Approvers["cutover"][0], k, "e2e rollback"); err != nil {
		t.Fatal(err)
	}
	out, err := d2.run(ctx, back.Name, "")
	if err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s: %s %v", back.Name, out, err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	// The third app's GCP side breaks after its health checks passed: the
	// SLO gate of the first traffic step fails and rolls back by itself.
	d3 := &driver{c: st.C, keys: k}
	if _, err := d3.run(ctx, bad.Name, workflows.StageApproveCutover); err != nil {
		t.Fatal(err)
	}
	stopInstances(ctx, t, st, bad)
	out, err = d3.run(ctx, bad.Name, "")
	if err != nil || out != workflows.StageRolledBack {
		t.Fatalf("%s with a broken GCP side: %s %v", bad.Name, out, err)
	}
	var badRes workflows.MigrateAppResult
	if err := st.C.GetWorkflow(ctx, workflows.AppWorkflowID(bad.Name), "").Get(ctx, &badRes); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(badRes.Status.RollbackReason, "SLO gate failed at 10 %") {
		t.Errorf("%s rollback reason %q, want the SLO gate at 10 %%", bad.Name, badRes.Status.RollbackReason)
	}
	if inst, w := gce(ctx, t, st, bad); len(inst) != 0 || w != nil {
		t.Errorf("%s rolled back automatically with destroy, yet instances %v, url map %v", bad.Name, inst, w)
	}

	// The migrated app: its VMs on GCE once each, 100 % of traffic there,
	// the sources powered off, every approval in the workflow.
	inst, w := gce(ctx, t, st, done)
	if len(inst) != len(done.VMs) {
		t.Errorf("%s: %d instances on GCE %v, want %d", done.Name, len(inst), inst, len(done.VMs))
	}
	if w[traffic.GCPBackendName(done.Name)] != 100 || w[traffic.DCBackendName(done.Name)] != 0 {
		t.Errorf("%s weights %v, want 100 %% GCP", done.Name, w)
	}
	for vm, p := range sources(ctx, t, st, done) {
		if p != "poweredOff" {
			t.Errorf("source %s of %s is %s after decommission", vm, done.Name, p)
		}
	}
	// The rolled-back app: nothing left on GCE, sources running.
	if inst, w := gce(ctx, t, st, back); len(inst) != 0 || w != nil {
		t.Errorf("%s rolled back with destroy, yet instances %v, url map %v", back.Name, inst, w)
	}
	for vm, p := range sources(ctx, t, st, back) {
		if p != "poweredOn" {
			t.Errorf("source %s of %s is %s after rollback", vm, back.Name, p)
		}
	}
	// Every approval sent is in the workflow's record.
	for app, sent := range map[string][]workflows.Approval{done.Name: d.sent, back.Name: d2.sent} {
		var res workflows.MigrateAppResult
		if err := st.C.GetWorkflow(ctx, workflows.AppWorkflowID(app), "").Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		for _, ap := range sent {
			if !recorded(res.Status.Approvals, ap) {
				t.Errorf("%s: approval %+v sent but not recorded (%+v)", app, ap, res.Status.Approvals)
			}
		}
	}
}
