package redact_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ferrymigrate/ferry/internal/testenv"
	"github.com/ferrymigrate/ferry/redact"
)

const devCanary = "DevServer-Canary-Pw-9137"

type hookResult struct {
	Output string
	Lines  []string
}

func leakyResult(ctx context.Context) (hookResult, error) {
	return hookResult{Output: "GOVC_URL=root:" + devCanary + "@vc01 ok", Lines: []string{"password: " + devCanary}}, nil
}

func leakyFailure(ctx context.Context) error {
	return temporal.NewNonRetryableApplicationError("hook pre_provision failed: mysql -u root --password="+devCanary, "hook-failed",
		errors.New("exit 1: Authorization: Bearer "+devCanary), "stderr: password="+devCanary)
}

type wfOut struct {
	Result hookResult
	Reason string
	Msg    string
}

func leakyWorkflow(ctx workflow.Context) (wfOut, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	var out wfOut
	if err := workflow.ExecuteActivity(ctx, leakyResult).Get(ctx, &out.Result); err != nil {
		return out, err
	}
	err := workflow.ExecuteActivity(ctx, leakyFailure).Get(ctx, nil)
	out.Reason = redact.Reason(err)
	if err != nil {
		out.Msg = err.Error()
	}
	return out, nil
}

// TestInterceptorOnDevServer runs a real worker with the interceptor
// against `temporal server start-dev` and reads the workflow's history as
// the server stores it: no secret in results, failures, causes or details,
// and the failure keeps its type and non-retryable flag (one attempt).
func TestInterceptorOnDevServer(t *testing.T) {
	addr := testenv.DevServer(t, nil)
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reg redact.Registry
	reg.Add(devCanary)
	w := worker.New(c, "redact-test", worker.Options{Interceptors: []interceptor.WorkerInterceptor{reg.WorkerInterceptor()}})
	w.RegisterWorkflow(leakyWorkflow)
	w.RegisterActivity(leakyResult)
	w.RegisterActivity(leakyFailure)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "redact-dev", TaskQueue: "redact-test"}, leakyWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	var out wfOut
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Reason != "hook-failed" {
		t.Errorf("Reason = %q, want hook-failed (message %q)", out.Reason, out.Msg)
	}
	if !strings.Contains(out.Result.Output, "@vc01 ok") || strings.Contains(out.Msg+out.Result.Output, devCanary) {
		t.Errorf("workflow saw %+v", out)
	}
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist strings.Builder
	failures := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		j, _ := protojson.Marshal(ev)
		hist.Write(j)
		if f := ev.GetActivityTaskFailedEventAttributes(); f != nil {
			failures++
			info := f.GetFailure().GetApplicationFailureInfo()
			if info.GetType() != "hook-failed" || !info.GetNonRetryable() {
				t.Errorf("failure type %q nonRetryable %v", info.GetType(), info.GetNonRetryable())
			}
			if f.GetFailure().GetCause() == nil || info.GetDetails() == nil {
				t.Error("failure lost its cause or details")
			}
		}
	}
	if failures != 1 {
		t.Errorf("%d ActivityTaskFailed events, want 1 (non-retryable)", failures)
	}
	if strings.Contains(hist.String(), devCanary) {
		t.Errorf("history holds the secret")
	}
	if !strings.Contains(hist.String(), "hook pre_provision failed") {
		t.Errorf("history lost the failure message")
	}
}
