package redact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
)

const canary = "Canary-Pass-4242"

// recordingFC records every failure the worker would send to the server.
type recordingFC struct {
	converter.FailureConverter
	mu  sync.Mutex
	out []*failure.Failure
}

func (r *recordingFC) ErrorToFailure(err error) *failure.Failure {
	f := r.FailureConverter.ErrorToFailure(err)
	r.mu.Lock()
	r.out = append(r.out, f)
	r.mu.Unlock()
	return f
}

func (r *recordingFC) json(t *testing.T) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, f := range r.out {
		j, err := protojson.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
	}
	return b.String()
}

type VMInfo struct {
	Name  string
	Notes *string
	Tags  map[string]string
	Disks []string
	Size  int64
	Raw   []byte
	Any   any
	note  string // unexported: kept as is
}

type SyncResult struct {
	Output string
	VMs    []VMInfo
	ByName map[string]*VMInfo
}

func newEnv(t *testing.T, reg *Registry) (*testsuite.TestActivityEnvironment, *recordingFC) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	fc := &recordingFC{FailureConverter: temporal.GetDefaultFailureConverter()}
	env.SetFailureConverter(fc)
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{reg.WorkerInterceptor()}})
	return env, fc
}

func TestInterceptorRedactsResult(t *testing.T) {
	var reg Registry
	reg.Add(canary)
	env, _ := newEnv(t, &reg)
	notes := "console password " + canary
	orig := &SyncResult{
		Output: "rsync ok\nmysql -ppassword=" + canary + " done",
		VMs: []VMInfo{{Name: "web-1", Notes: &notes, Tags: map[string]string{"owner": "ana", "govc": "root:" + canary + "@vc01"},
			Disks: []string{"disk-0", canary}, Size: 42, Raw: []byte(canary), Any: "x " + canary, note: canary}},
		ByName: map[string]*VMInfo{"web-2": {Name: "web-2 https://u:" + canary + "@h/x"}},
	}
	act := func(ctx context.Context) (*SyncResult, error) { return orig, nil }
	env.RegisterActivity(act)
	val, err := env.ExecuteActivity(act)
	if err != nil {
		t.Fatal(err)
	}
	var got SyncResult
	if err := val.Get(&got); err != nil {
		t.Fatal(err)
	}
	if string(got.VMs[0].Raw) != canary {
		t.Errorf("[]byte is not a string and must be kept: %q", got.VMs[0].Raw)
	}
	got.VMs[0].Raw = nil
	if js, _ := json.Marshal(got); strings.Contains(string(js), canary) || !strings.Contains(*got.VMs[0].Notes, "console password") {
		t.Errorf("result holds the secret: %s", js)
	}
	if got.VMs[0].Name != "web-1" || got.VMs[0].Size != 42 || got.VMs[0].Tags["owner"] != "ana" || got.VMs[0].Disks[0] != "disk-0" {
		t.Errorf("ordinary fields changed: %+v", got.VMs[0])
	}
	if !strings.Contains(got.Output, "rsync ok\n") || !strings.Contains(got.Output, Marker) {
		t.Errorf("Output = %q", got.Output)
	}
	// The activity's own value is not modified.
	if !strings.Contains(orig.Output, canary) || !strings.Contains(*orig.VMs[0].Notes, canary) || orig.VMs[0].Disks[1] != canary || orig.VMs[0].note != canary {
		t.Error("the interceptor modified the activity's value in place")
	}
}

func TestInterceptorRedactsErrors(t *testing.T) {
	type detail struct{ Cmd, Exit string }
	cases := []struct {
		name      string
		err       error
		wantType  string
		nonRetry  bool
		wantInMsg string
	}{
		{name: "application error, non-retryable, with details and cause",
			err: temporal.NewNonRetryableApplicationError("hook pre_provision failed: login root:"+canary+"@vc01 refused", "hook-failed",
				fmt.Errorf("exec: password=%s", canary), detail{Cmd: "sync --password " + canary, Exit: "1"}, "plain "+canary),
			wantType: "hook-failed", nonRetry: true, wantInMsg: "hook pre_provision failed"},
		{name: "retryable application error",
			err:      temporal.NewApplicationError("vcenter https://admin:"+canary+"@vc/sdk timed out", "vcenter-unreachable"),
			wantType: "vcenter-unreachable", wantInMsg: "timed out"},
		{name: "wrapped plain error",
			err:      fmt.Errorf("terraform apply: %w", errors.New(`provider said {"client_secret": "`+canary+` x"}`)),
			wantType: "wrapError", wantInMsg: "terraform apply"},
		{name: "wrapped application error keeps the chain",
			err:      fmt.Errorf("stage Provision: %w", temporal.NewNonRetryableApplicationError("bad token="+canary, "state-locked", nil)),
			wantType: "wrapError", wantInMsg: "stage Provision"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reg Registry
			reg.Add(canary)
			env, fc := newEnv(t, &reg)
			act := func(ctx context.Context) error { return c.err }
			env.RegisterActivity(act)
			_, err := env.ExecuteActivity(act)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error holds the secret: %v", err)
			}
			hist := fc.json(t)
			if hist == "" {
				t.Fatal("no failure recorded")
			}
			if strings.Contains(hist, canary) {
				t.Errorf("failure sent to the server holds the secret: %s", hist)
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("not an ApplicationError: %T %v", err, err)
			}
			if ae.Type() != c.wantType || ae.NonRetryable() != c.nonRetry {
				t.Errorf("type %q nonRetryable %v, want %q %v", ae.Type(), ae.NonRetryable(), c.wantType, c.nonRetry)
			}
			if !strings.Contains(ae.Message(), c.wantInMsg) {
				t.Errorf("message %q lost %q", ae.Message(), c.wantInMsg)
			}
			if c.wantType == "hook-failed" {
				var d detail
				var s string
				if err := ae.Details(&d, &s); err != nil {
					t.Fatalf("details: %v", err)
				}
				if d.Exit != "1" || !strings.HasPrefix(d.Cmd, "sync --password ") || strings.Contains(d.Cmd+s, canary) || s != "plain "+Marker {
					t.Errorf("details %+v %q", d, s)
				}
				if errors.Unwrap(ae) == nil {
					t.Error("cause lost")
				}
			}
			if c.name == "wrapped application error keeps the chain" {
				var inner *temporal.ApplicationError
				if cause := errors.Unwrap(ae); !errors.As(cause, &inner) || inner.Type() != "state-locked" || !inner.NonRetryable() {
					t.Errorf("inner error: %v", cause)
				}
				if Reason(err) != "state-locked" {
					t.Errorf("Reason = %q, want state-locked", Reason(err))
				}
			}
		})
	}
}

func TestInterceptorLeavesCleanErrorsAndCancellation(t *testing.T) {
	var reg Registry
	reg.Add(canary)
	clean := temporal.NewNonRetryableApplicationError("no such VM web-9", "vm-missing", nil)
	if got := reg.ActivityError(clean); got != clean {
		t.Errorf("clean error rebuilt: %v", got)
	}
	wrapped := fmt.Errorf("after %s: %w", canary, context.Canceled)
	got := reg.ActivityError(wrapped)
	if !errors.Is(got, context.Canceled) || strings.Contains(got.Error(), canary) {
		t.Errorf("canceled chain: %v (Is canceled: %v)", got, errors.Is(got, context.Canceled))
	}
	if reg.ActivityError(activity.ErrResultPending) != activity.ErrResultPending {
		t.Error("ErrResultPending must pass through")
	}
	ce := temporal.NewCanceledError("x")
	if reg.ActivityError(ce) != ce {
		t.Error("CanceledError must pass through")
	}
}

func TestInterceptorRedactsPanics(t *testing.T) {
	var reg Registry
	reg.Add(canary)
	env, fc := newEnv(t, &reg)
	act := func(ctx context.Context) error { panic("cannot parse GOVC_URL root:" + canary + "@vc") }
	env.RegisterActivity(act)
	_, err := env.ExecuteActivity(act)
	if err == nil || strings.Contains(err.Error(), canary) {
		t.Fatalf("err = %v", err)
	}
	if h := fc.json(t); strings.Contains(h, canary) || !strings.Contains(h, "cannot parse GOVC_URL") {
		t.Errorf("failure: %s", h)
	}
}

func TestInterceptorRedactsHeartbeats(t *testing.T) {
	var reg Registry
	reg.Add(canary)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{reg.WorkerInterceptor()}})
	var seen []string
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p string
		if err := details.Get(&p); err == nil {
			seen = append(seen, p)
		}
	})
	act := func(ctx context.Context) error {
		activity.RecordHeartbeat(ctx, "copied 40% with key "+canary)
		return nil
	}
	env.RegisterActivity(act)
	if _, err := env.ExecuteActivity(act); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || strings.Contains(seen[0], canary) || !strings.Contains(seen[0], "copied 40%") {
		t.Errorf("heartbeats %q", seen)
	}
}

func TestReason(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{temporal.NewNonRetryableApplicationError("password=x", "hook-failed", nil), "hook-failed"},
		{fmt.Errorf("stage: %w", temporal.NewApplicationError("m", "vcenter-no-permission")), "vcenter-no-permission"},
		{temporal.NewApplicationError("m", "has spaces and text: "+canary), "unknown"},
		{temporal.NewApplicationErrorWithCause("m", "wrapError", temporal.NewApplicationError("n", "quota-exceeded")), "quota-exceeded"},
		{errors.New("user:" + canary + "@vc failed"), "unknown"},
		{temporal.NewCanceledError(), "canceled"},
		{context.Canceled, "canceled"},
		{temporal.NewHeartbeatTimeoutError(), "timeout"},
	}
	for _, c := range cases {
		if got := Reason(c.err); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestValueCycleAndNil(t *testing.T) {
	var reg Registry
	reg.Add(canary)
	type node struct {
		Name string
		Next *node
	}
	n := &node{Name: canary}
	n.Next = n
	out := reg.Value(n).(*node)
	if out.Name != Marker {
		t.Errorf("Name = %q", out.Name)
	}
	if reg.Value(nil) != nil {
		t.Error("nil")
	}
	m := map[string]any{"k": []any{"a", canary, 3}}
	got := reg.Value(m).(map[string]any)
	if got["k"].([]any)[1] != Marker || m["k"].([]any)[1] != canary {
		t.Errorf("map: %v (original %v)", got, m)
	}
}
