package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/internal/fakeacts"
	ferryworker "github.com/ferrymigrate/ferry/worker"
	"github.com/ferrymigrate/ferry/workflows"
)

// floorActivities is how many activities a happy-path MigrateApp runs
// (13 stage activities and 5 notifications); the floor workflow runs as
// many, and waits for the same three approvals.
const floorActivities = 18

func floorWorkflow(ctx workflow.Context, app string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	approve := workflow.GetSignalChannel(ctx, workflows.SignalApprove)
	for i := 0; i < floorActivities; i++ {
		if i == 4 || i == 8 || i == 14 { // where MigrateApp has its gates
			_ = workflow.UpsertTypedSearchAttributes(ctx, workflows.SAWaitingOn.ValueSet(fmt.Sprintf("gate-%d", i)))
			approve.Receive(ctx, nil)
			_ = workflow.UpsertTypedSearchAttributes(ctx, workflows.SAWaitingOn.ValueUnset())
		}
		if err := workflow.ExecuteActivity(ctx, "FloorNoop", app).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// approveWaiting finds migrations waiting at a gate through visibility
// (FerryWaitingOn = "<gate>: <approvers>") and approves each gate once.
func approveWaiting(ctx context.Context, c client.Client, floor bool, seen *sync.Map) {
	sem := make(chan struct{}, 32)
	for ctx.Err() == nil {
		var token []byte
		for {
			req := listReq("ExecutionStatus = 'Running' AND FerryWaitingOn IS NOT NULL")
			req.PageSize, req.NextPageToken = 1000, token
			resp, err := c.ListWorkflow(ctx, req)
			if err != nil {
				break
			}
			for _, e := range resp.Executions {
				id := e.Execution.WorkflowId
				var waiting string
				if p := e.SearchAttributes.GetIndexedFields()["FerryWaitingOn"]; p != nil {
					_ = json.Unmarshal(p.Data, &waiting)
				}
				gate, _, _ := strings.Cut(waiting, ":")
				if gate == "" || gate == "retry" {
					continue
				}
				if _, dup := seen.LoadOrStore(id+"/"+gate, true); dup {
					continue
				}
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					var err error
					if floor { // the floor takes any signal: it has no gate to verify
						err = c.SignalWorkflow(ctx, id, "", workflows.SignalApprove, nil)
					} else {
						app := strings.TrimPrefix(id, workflows.AppWorkflowID(""))
						var arg workflows.Approval
						if arg, err = as(c, "bo@example.com", testKeys).Approval(ctx, app, "approve", gate, ""); err == nil {
							err = c.SignalWorkflow(ctx, id, "", workflows.SignalApprove, arg)
						}
					}
					if err != nil {
						seen.Delete(id + "/" + gate) // try again on the next pass
					}
				}()
			}
			if token = resp.NextPageToken; len(token) == 0 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// benchWorker is an in-process worker for the throughput benchmarks:
// ferry's workflows with instant activities (fakeacts), the floor
// workflow and its no-op activity.
func benchWorker(c client.Client) worker.Worker {
	w := worker.New(c, workflows.TaskQueue, worker.Options{MaxConcurrentActivityExecutionSize: 200})
	(&fakeacts.Fakes{Plans: quickPlans{}}).Register(w)
	ferryworker.RegisterWorkflows(w)
	w.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: "Floor"})
	w.RegisterActivityWithOptions(func(ctx context.Context, app string) error { return nil }, activity.RegisterOptions{Name: "FloorNoop"})
	return w
}

func runBatch(b *testing.B, c client.Client, n int, floor bool) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	var seen sync.Map
	go approveWaiting(dctx, c, floor, &seen)
	start := time.Now()
	var runs []client.WorkflowRun
	prefix := "bench-app-"
	if floor {
		prefix = "bench-floor-"
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d-%d", prefix, time.Now().UnixNano()%1e6, i)
		var run client.WorkflowRun
		var err error
		if floor {
			run, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: name, TaskQueue: workflows.TaskQueue}, "Floor", name)
		} else {
			run, err = startQuick(ctx, c, name)
		}
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, run)
	}
	var failed atomic.Int32
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Get(ctx, nil); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d workflows failed", failed.Load(), n)
	}
	return time.Since(start)
}

// BenchmarkAppWorkflows runs FERRY_BENCH_APPS (default 1000) MigrateApp
// workflows with instant activities on the dev server, approvals sent as
// signals, against a floor measured in the same run: a trivial workflow
// making the same number of activity calls and waiting for the same
// signals. Target: ratio <= 1.5.
func BenchmarkAppWorkflows(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_APPS")); err == nil && v > 0 {
		n = v
	}
	srv := startDevServer(b)
	c := srv.Client(b)
	w := benchWorker(c)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	for i := 0; i < b.N; i++ {
		floor := runBatch(b, c, n, true)
		apps := runBatch(b, c, n, false)
		ratio := apps.Seconds() / floor.Seconds()
		perMin := float64(n) / apps.Minutes()
		b.ReportMetric(perMin, "apps/min")
		b.ReportMetric(ratio, "ratio")
		fmt.Printf("BenchmarkAppWorkflows: %d apps in %s (%.0f apps/min); floor %s; ratio %.2f (target <= 1.5)\n",
			n, apps.Round(time.Millisecond), perMin, floor.Round(time.Millisecond), ratio)
	}
}
