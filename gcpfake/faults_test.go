package gcpfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

func do(t *testing.T, method, url, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestFault429RetryAfterThenOK(t *testing.T) {
	s, _ := startFake(t, Options{})
	if err := s.Faults().Add(Fault{Method: "GET", PathRegexp: `/global/firewalls$`, Status: 429, RetryAfter: 1500 * time.Millisecond, Times: 1}); err != nil {
		t.Fatal(err)
	}
	url := s.ComputeEndpoint() + "projects/p/global/firewalls"
	code, h, body := do(t, "GET", url, "")
	if code != 429 || h.Get("Retry-After") != "2" {
		t.Fatalf("first: %d Retry-After %q, want 429 and 2", code, h.Get("Retry-After"))
	}
	errs := body["error"].(map[string]any)["errors"].([]any)
	if errs[0].(map[string]any)["reason"] != "rateLimitExceeded" {
		t.Fatalf("error body %v", body)
	}
	if code, _, _ := do(t, "GET", url, ""); code != 200 {
		t.Fatalf("second: %d, want 200 (Times: 1)", code)
	}
	if s.Faults().Hits() != 1 {
		t.Fatalf("hits = %d", s.Faults().Hits())
	}
}

func TestFault5xxGoClientRetriesThrough(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{})
	// The compute client retries idempotent reads on 503: after the fault's
	// 2 hits it gets the real answer (404 here).
	_ = s.Faults().Add(Fault{PathRegexp: `/instances/x$`, Status: 503, Times: 2})
	ic, _ := compute.NewInstancesRESTClient(ctx, cfg.ComputeOptions()...)
	_, err := ic.Get(ctx, &computepb.GetInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, Instance: "x"})
	if httpCode(err) != 404 {
		t.Fatalf("err = %v, want 404 after the retried 503s", err)
	}
	for _, r := range s.Requests() {
		t.Log(r)
	}
	if s.Faults().Hits() != 2 || s.RequestCount("GET", `/instances/x$`) != 3 {
		t.Fatalf("hits %d requests %d, want 2 and 3", s.Faults().Hits(), s.RequestCount("GET", `/instances/x$`))
	}
	// A non-retried call (insert) sees the 500 at once.
	s.Faults().Clear()
	_ = s.Faults().Add(Fault{Method: "POST", PathRegexp: `/instances$`, Status: 500})
	_, err = ic.Insert(ctx, &computepb.InsertInstanceRequest{Project: cfg.Project, Zone: cfg.Zone, InstanceResource: &computepb.Instance{Name: proto.String("y")}})
	if httpCode(err) != 500 {
		t.Fatalf("insert: err = %v, want 500", err)
	}
}

func TestFaultSlowAndFailedOperations(t *testing.T) {
	ctx := context.Background()
	s, cfg := startFake(t, Options{})
	hc, _ := compute.NewHealthChecksRESTClient(ctx, cfg.ComputeOptions()...)
	insert := func(name string) (*compute.Operation, error) {
		return hc.Insert(ctx, &computepb.InsertHealthCheckRequest{Project: cfg.Project, HealthCheckResource: &computepb.HealthCheck{
			Name: proto.String(name), Type: proto.String("TCP"), TcpHealthCheck: &computepb.TCPHealthCheck{Port: proto.Int32(80)}}})
	}
	// Slow: RUNNING for 3 polls.
	_ = s.Faults().Add(Fault{Method: "POST", PathRegexp: `/healthChecks$`, OpPolls: 3, Times: 1})
	op, err := insert("slow")
	if err != nil {
		t.Fatal(err)
	}
	if op.Done() {
		for _, r := range s.Requests() {
			t.Log(r)
		}
		t.Fatal("operation done at once, want RUNNING")
	}
	polls := 0
	for !op.Done() {
		if err := op.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		polls++
	}
	if polls != 3 {
		t.Fatalf("done after %d polls, want 3", polls)
	}
	// Failed: DONE with an error, nothing created.
	_ = s.Faults().Add(Fault{Method: "POST", PathRegexp: `/healthChecks$`, OpError: "QUOTA_EXCEEDED: injected", Times: 1})
	op, err = insert("failed")
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err == nil || !strings.Contains(err.Error(), "QUOTA_EXCEEDED") {
		t.Fatalf("wait: err = %v, want the injected operation error", err)
	}
	names := []string{}
	for _, r := range s.Resources(cfg.Project, "healthChecks") {
		names = append(names, r.Name)
	}
	if len(names) != 1 || names[0] != "slow" {
		t.Fatalf("health checks %v, want [slow]", names)
	}
	// Duration-slow operation.
	_ = s.Faults().Add(Fault{Method: "POST", PathRegexp: `/healthChecks$`, OpDuration: 300 * time.Millisecond, Times: 1})
	op, err = insert("timed")
	if err != nil || op.Done() {
		t.Fatalf("timed insert: err %v done %v", err, op.Done())
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.RequestCount("POST", `/healthChecks$`); n != 3 {
		t.Fatalf("RequestCount = %d, want 3", n)
	}
}

func TestFaultsConcurrentUse(t *testing.T) {
	s, _ := startFake(t, Options{})
	url := s.ComputeEndpoint() + "projects/p/global/healthChecks"
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				_ = s.Faults().Add(Fault{Status: 500, Times: 1, PathRegexp: "healthChecks"})
				s.Faults().Clear()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				code, _, _ := do(t, "GET", url, "")
				if code != 200 && code != 500 {
					t.Errorf("status %d", code)
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Faults().Add(Fault{PathRegexp: "("}); err == nil {
		t.Fatal("bad regexp accepted")
	}
}
