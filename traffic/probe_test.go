package traffic_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrymigrate/ferry/plan"
	"github.com/ferrymigrate/ferry/traffic"
)

// app is a local HTTP server standing in for the app in the DC or on GCP.
type app struct {
	*httptest.Server
	status atomic.Int32
	delay  atomic.Int64
	hits   atomic.Int64
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.status.Store(200)
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		time.Sleep(time.Duration(a.delay.Load()))
		w.WriteHeader(int(a.status.Load()))
	}))
	t.Cleanup(a.Close)
	return a
}

func prometheus(t *testing.T, body string, status int) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" || r.URL.Query().Get("query") == "" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestGate(t *testing.T) {
	ctx := context.Background()
	dc, gcp := newApp(t), newApp(t)
	targets := []traffic.Target{{Name: "public", URL: dc.URL}, {Name: "gcp web-1", URL: gcp.URL + "/healthz"}}
	slo := plan.SLO{Requests: 40, MaxErrorRatio: 0.05, MaxP95: 100 * time.Millisecond}
	p := traffic.NewProbe(traffic.Config{ProbeConcurrency: 4})

	v, err := p.Gate(ctx, slo, targets)
	if err != nil || !v.Pass || v.Requests != 80 || v.ErrorRatio != 0 {
		t.Fatalf("healthy: %+v, %v", v, err)
	}
	if dc.hits.Load() != 40 || gcp.hits.Load() != 40 {
		t.Fatalf("hits dc=%d gcp=%d, want 40 each", dc.hits.Load(), gcp.hits.Load())
	}

	gcp.status.Store(503)
	v, err = p.Gate(ctx, slo, targets)
	if err != nil || v.Pass {
		t.Fatalf("5xx passed: %+v, %v", v, err)
	}
	if !strings.Contains(v.Reason, "gcp web-1") || !strings.Contains(v.Reason, "error ratio 1.000 > 0.050") ||
		!strings.Contains(v.Reason, "503") || strings.Contains(v.Reason, "public") {
		t.Fatalf("reason does not name what failed: %s", v.Reason)
	}

	gcp.status.Store(200)
	gcp.delay.Store(int64(150 * time.Millisecond))
	v, err = p.Gate(ctx, plan.SLO{Requests: 8, MaxErrorRatio: 0.05, MaxP95: 100 * time.Millisecond}, targets)
	if err != nil || v.Pass || !strings.Contains(v.Reason, "gcp web-1") || !strings.Contains(v.Reason, "p95 latency") {
		t.Fatalf("slow GCP: %+v, %v", v, err)
	}
	if v.P95 < 150*time.Millisecond {
		t.Fatalf("p95 %s below the injected delay", v.P95)
	}
}

func TestGateUnreachableTargetFailsTheGate(t *testing.T) {
	a := newApp(t)
	url := a.URL
	a.Close()
	v, err := traffic.NewProbe(traffic.Config{}).Gate(context.Background(), plan.SLO{Requests: 3}, []traffic.Target{{Name: "public", URL: url}})
	if err != nil || v.Pass || !strings.Contains(v.Reason, "public") {
		t.Fatalf("%+v, %v", v, err)
	}
}

func TestGatePrometheus(t *testing.T) {
	ctx := context.Background()
	a := newApp(t)
	targets := []traffic.Target{{Name: "public", URL: a.URL}}
	vector := func(vals ...string) string {
		var rs []string
		for i, v := range vals {
			rs = append(rs, fmt.Sprintf(`{"metric":{"instance":"i%d"},"value":[1732230000.1,%q]}`, i, v))
		}
		return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(rs, ",") + `]}}`
	}
	cases := []struct {
		name     string
		body     string
		status   int
		pass     bool
		infraErr bool
		reason   string
		want     float64
	}{
		{"vector below", vector("0.001", "0.004"), 200, true, false, "", 0.004},
		{"vector above", vector("0.001", "0.2"), 200, false, false, "> 0.01", 0.2},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1732230000,"0.005"]}}`, 200, true, false, "", 0.005},
		{"no sample", vector(), 200, false, false, "no sample", 0},
		{"NaN", vector("NaN"), 200, false, false, "NaN", 0},
		{"bad query", `{"status":"error","errorType":"bad_data","error":"parse error"}`, 400, false, false, "bad_data", 0},
		{"prometheus down", `{"status":"error","errorType":"unavailable","error":"overloaded"}`, 503, false, true, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			slo := plan.SLO{Requests: 2, MaxErrorRatio: 0.01, PrometheusURL: prometheus(t, tc.body, tc.status),
				PrometheusQuery: `sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`, PrometheusMax: 0.01}
			v, err := traffic.NewProbe(traffic.Config{}).Gate(ctx, slo, targets)
			if tc.infraErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", v)
				}
				return
			}
			if err != nil || v.Pass != tc.pass || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("%+v, %v", v, err)
			}
			if tc.want != 0 && (v.Prometheus == nil || *v.Prometheus != tc.want) {
				t.Fatalf("prometheus value %v, want %v", v.Prometheus, tc.want)
			}
		})
	}
}
