package test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/ferrymigrate/ferry/activities"
	"github.com/ferrymigrate/ferry/gcp"
	"github.com/ferrymigrate/ferry/gcpfake"
	"github.com/ferrymigrate/ferry/internal/fakeacts"
	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

const benchProject = "ferry-bench"

// seedLB creates what terraform creates for an lb app: the two backend
// services and the URL map splitting between them (all traffic to the DC).
func seedLB(ctx context.Context, b testing.TB, cfg gcp.Config, app string) {
	bs, err := compute.NewBackendServicesRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	self := func(name string) string {
		return "https://www.googleapis.com/compute/v1/projects/" + benchProject + "/global/backendServices/" + name
	}
	for _, name := range []string{traffic.DCBackendName(app), traffic.GCPBackendName(app)} {
		op, err := bs.Insert(ctx, &computepb.InsertBackendServiceRequest{Project: benchProject,
			BackendServiceResource: &computepb.BackendService{Name: proto.String(name), LoadBalancingScheme: proto.String("EXTERNAL_MANAGED")}})
		if err == nil {
			err = op.Wait(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	um, err := compute.NewUrlMapsRESTClient(ctx, cfg.ComputeOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer um.Close()
	op, err := um.Insert(ctx, &computepb.InsertUrlMapRequest{Project: benchProject, UrlMapResource: &computepb.UrlMap{
		Name: proto.String(traffic.URLMapName(app)),
		DefaultRouteAction: &computepb.HttpRouteAction{WeightedBackendServices: []*computepb.WeightedBackendService{
			{BackendService: proto.String(self(traffic.DCBackendName(app))), Weight: proto.Uint32(100)},
			{BackendService: proto.String(self(traffic.GCPBackendName(app))), Weight: proto.Uint32(0)},
		}},
	}})
	if err == nil {
		err = op.Wait(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// waitDC polls gcpfake until the app's URL map sends everything to the DC.
func waitDC(ctx context.Context, b testing.TB, fake *gcpfake.Server, app string) {
	for ctx.Err() == nil {
		w, err := fake.URLMapWeights(benchProject, traffic.URLMapName(app))
		if err == nil && w[traffic.DCBackendName(app)] == 100 && w[traffic.GCPBackendName(app)] == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("%s never went back to 100 %% datacenter", app)
}

func rollbackFloor(ctx workflow.Context, spec activities.TrafficToDatacenterInput) error {
	workflow.GetSignalChannel(ctx, workflows.SignalRollback).Receive(ctx, nil)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteActivity(ctx, activities.TrafficToDatacenterName, spec).Get(ctx, nil)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkRollbackSignalToDatacenter measures, with the worker and the dev
// server running, the time from the `rollback` signal to a MigrateApp at
// 100 % GCP until gcpfake's URL map sends 100 % to the datacenter; median of
// 20 runs. The floor, measured in the same run, is a trivial workflow that
// runs the same TrafficToDatacenter activity when it gets the signal.
// Anchor: a team that rolled back in about 7 minutes. Target: median <= 2 s.
func BenchmarkRollbackSignalToDatacenter(b *testing.B) {
	srv := startDevServer(b)
	c := srv.Client(b)
	fake := gcpfake.StartT(b, gcpfake.Options{})
	g := gcp.Config{Project: benchProject, Region: "europe-west1", ComputeEndpoint: fake.ComputeEndpoint()}
	plans := quickPlans{Edit: func(s *plan.AppSpec) { s.Project = benchProject }}
	acts := &activities.Activities{GCP: g, Plans: plans}
	f := &fakeacts.Fakes{Plans: plans, Real: map[string]bool{activities.ShiftTrafficName: true, activities.TrafficToDatacenterName: true}}
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	f.Register(w)
	w.RegisterActivityWithOptions(acts.ShiftTraffic, activity.RegisterOptions{Name: activities.ShiftTrafficName})
	w.RegisterActivityWithOptions(acts.TrafficToDatacenter, activity.RegisterOptions{Name: activities.TrafficToDatacenterName})
	ferryworker.RegisterWorkflows(w)
	w.RegisterWorkflowWithOptions(rollbackFloor, workflow.RegisterOptions{Name: "RollbackFloor"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	const runs = 20
	for i := 0; i < b.N; i++ {
		var app, floor []time.Duration
		for r := 0; r < runs; r++ {
			name := fmt.Sprintf("rb-%d-%d", i, r)
			spec := quickSpec(name)
			spec.Project = benchProject
			seedLB(ctx, b, g, name)
			if _, err := startQuick(ctx, c, name); err != nil {
				b.Fatal(err)
			}
			d := &driver{c: c}
			if _, err := d.run(ctx, name, workflows.StageApproveDecommission); err != nil {
				b.Fatal(err)
			}
			if wts, _ := fake.URLMapWeights(benchProject, traffic.URLMapName(name)); wts[traffic.GCPBackendName(name)] != 100 {
				b.Fatalf("%s not at 100 %% GCP before the rollback: %v", name, wts)
			}
			// Signed before the clock starts, as a person's CLI would.
			rb, err := as(c, "ana@example.com", testKeys).Action(ctx, name, "rollback", "benchmark")
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if err := c.SignalWorkflow(ctx, workflows.AppWorkflowID(name), "", workflows.SignalRollback, rb); err != nil {
				b.Fatal(err)
			}
			waitDC(ctx, b, fake, name)
			app = append(app, time.Since(t0))

			fname := "rbfloor-" + name
			seedLB(ctx, b, g, fname)
			st, closeFn, err := traffic.New(ctx, traffic.Config{}, g, withName(spec, fname))
			if err == nil {
				err = st.Shift(ctx, 100)
				_ = closeFn()
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fname, TaskQueue: workflows.TaskQueue}, "RollbackFloor",
				activities.TrafficToDatacenterInput{Plan: activities.PlanRef{App: fname, Digest: quickDigest}}); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let it reach its Receive
			t0 = time.Now()
			if err := c.SignalWorkflow(ctx, fname, "", workflows.SignalRollback, nil); err != nil {
				b.Fatal(err)
			}
			waitDC(ctx, b, fake, fname)
			floor = append(floor, time.Since(t0))
		}
		ma, mf := median(app), median(floor)
		b.ReportMetric(ma.Seconds(), "median-s")
		b.ReportMetric(ma.Seconds()/mf.Seconds(), "ratio")
		fmt.Printf("BenchmarkRollbackSignalToDatacenter: median %s over %d runs (target <= 2s; anchor 7 min: %.0fx faster); floor %s; ratio %.2f\n",
			ma.Round(time.Millisecond), runs, (7*time.Minute).Seconds()/ma.Seconds(), mf.Round(time.Millisecond), ma.Seconds()/mf.Seconds())
	}
}

func withName(s plan.AppSpec, name string) plan.AppSpec {
	s.Name = name
	return s
}
