// Package worker runs ferry's Temporal worker: dial once, register the
// workflows and the activities, poll the ferry task queue, and drain
// gracefully on shutdown. Scale out by running more of them.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ferrymigrate/ferry/activities"
	ferryid "github.com/ferrymigrate/ferry/identity"
	"github.com/ferrymigrate/ferry/redact"
	"github.com/ferrymigrate/ferry/workflows"
)

// StopTimeout is how long a stopping worker lets running activities finish
// (terraform apply heartbeats; the next worker resumes what is cut off).
const StopTimeout = 30 * time.Second

// New builds a worker with every workflow and activity registered.
func New(c client.Client, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		WorkerStopTimeout: StopTimeout,
		Identity:          identity(),
		// Caller identity of approvals; secrets redacted from every
		// activity result and error before they enter history.
		Interceptors: []interceptor.WorkerInterceptor{ferryid.NewWorkerInterceptor(), redact.NewWorkerInterceptor()},
	})
	Register(w, acts)
	return w
}

// Register adds ferry's workflows and activities to any registry (a worker,
// a replayer or a test environment).
func Register(r interface {
	WorkflowRegistry
	RegisterActivity(a any)
}, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// WorkflowRegistry is a worker, a replayer or a test environment.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows adds ferry's workflows under their stable names.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.MigrateApp, workflow.RegisterOptions{Name: workflows.MigrateAppWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Wave, workflow.RegisterOptions{Name: workflows.WaveWorkflowName})
}

// Run polls until ctx is done, then drains: no new tasks are taken and
// running activities get StopTimeout to finish.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, log *slog.Logger) error {
	w := New(c, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %q: %w", workflows.TaskQueue, err)
	}
	log.Info("worker started", "taskQueue", workflows.TaskQueue)
	<-ctx.Done()
	log.Info("worker draining", "timeout", StopTimeout)
	w.Stop()
	log.Info("worker stopped")
	return nil
}
