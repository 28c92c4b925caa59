package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/distribution"

	"github.com/ferrymigrate/ferry/plan"
)

// series is a known per-second history of an app's requests, newest last:
// rps requests a second, errRatio(secondsAgo) of them failing.
type series struct {
	length   time.Duration
	rps      float64
	errRatio func(ago time.Duration) float64
}

// sum counts requests (or errors) in the window ending now.
func (s series) sum(window time.Duration, errors bool) float64 {
	var n float64
	for ago := time.Duration(0); ago < window && ago < s.length; ago += time.Second {
		if errors {
			n += s.rps * s.errRatio(ago)
		} else {
			n += s.rps
		}
	}
	return n
}

var promRangeRE = regexp.MustCompile(`^sum\(increase\((errors|requests|good)_total\[(\w+)\]\)\)$`)

// promServer answers instant queries sum(increase(X_total[W])) from a
// known series, as a Prometheus would, behind the given credentials check.
func promServer(t *testing.T, s series, authOK func(*http.Request) bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		if authOK != nil && !authOK(r) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "Unauthorized")
			return
		}
		m := promRangeRE.FindStringSubmatch(r.URL.Query().Get("query"))
		if m == nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": "parse error"})
			return
		}
		d, err := time.ParseDuration(m[2])
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": "bad range"})
			return
		}
		var v float64
		switch m[1] {
		case "errors":
			v = s.sum(d, true)
		case "requests":
			v = s.sum(d, false)
		case "good":
			v = s.sum(d, false) - s.sum(d, true)
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector",
			"result": []any{map[string]any{"metric": map[string]string{}, "value": []any{float64(time.Now().Unix()), fmt.Sprint(v)}}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// The SRE workbook's rules against known series: a slow leak spends the
// budget below the page rate; a sharp outage in the last minutes pages on
// the 1h/5m rule only once the long window has burnt enough.
func TestBurnRateAgainstKnownSeries(t *testing.T) {
	rules := plan.DefaultBurnRates // 1h/5m x14.4, 6h/30m x6
	q := &plan.PrometheusBurnSLO{Errors: "sum(increase(errors_total[$window]))", Total: "sum(increase(requests_total[$window]))", Objective: 0.999}
	for _, tc := range []struct {
		name      string
		s         series
		want      [4]float64 // burn over 1h, 5m, 6h, 30m
		breach1h  bool
		breach6h  bool
		goodQuery bool
	}{
		{
			// 0.1 % errors for 6h but the last 5 minutes at 10 %.
			name: "spike", s: series{6 * time.Hour, 100, func(ago time.Duration) float64 {
				if ago < 5*time.Minute {
					return 0.1
				}
				return 0.001
			}},
			// 1h: (3300 s x 0.1 + 300 s x 10) / 360000 = 0.00925; 5m: 0.1;
			// 6h: (21300 x 0.1 + 3000) / 2160000 = 0.002375; 30m: (1500 x 0.1 + 3000) / 180000 = 0.0175.
			want: [4]float64{9.25, 100, 2.375, 17.5},
		},
		{
			// The last 10 minutes fail entirely.
			name: "outage", s: series{6 * time.Hour, 100, func(ago time.Duration) float64 {
				if ago < 10*time.Minute {
					return 1
				}
				return 0.001
			}},
			// 1h: (3000 x 0.1 + 60000) / 360000 = 0.1675; 5m: 1;
			// 6h: (21000 x 0.1 + 60000) / 2160000 = 0.02875; 30m: (1200 x 0.1 + 60000) / 180000 = 0.334.
			want: [4]float64{167.5, 1000, 28.75, 334}, breach1h: true, breach6h: true, goodQuery: true,
		},
		{
			// A steady 0.5 %: five times too fast, but no page.
			name: "leak", s: series{6 * time.Hour, 100, func(time.Duration) float64 { return 0.005 }},
			want: [4]float64{5, 5, 5, 5},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Prometheus{Base: promServer(t, tc.s, nil).URL}
			qq := *q
			if tc.goodQuery {
				qq.Errors, qq.Good = "", "sum(increase(good_total[$window]))"
			}
			got, err := EvaluateBurn(context.Background(), rules, qq.Objective, PromRatio(p, &qq))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("%d samples", len(got))
			}
			burns := [4]float64{got[0].LongBurn, got[0].ShortBurn, got[1].LongBurn, got[1].ShortBurn}
			for i := range burns {
				if !near(burns[i], tc.want[i]) {
					t.Errorf("burn %d = %g, want %g", i, burns[i], tc.want[i])
				}
			}
			if got[0].Breach != tc.breach1h || got[1].Breach != tc.breach6h {
				t.Errorf("breaches %v %v, want %v %v", got[0].Breach, got[1].Breach, tc.breach1h, tc.breach6h)
			}
		})
	}
}

// Both windows must burn: a long window over budget with a short one that
// recovered (the incident is over) does not page, and no traffic has no say.
func TestBurnRateNeedsBothWindows(t *testing.T) {
	ratios := map[time.Duration]float64{time.Hour: 0.05, 5 * time.Minute: 0.0001}
	f := func(_ context.Context, w time.Duration) (float64, bool, error) { v, ok := ratios[w]; return v, ok, nil }
	rule := []plan.BurnRate{{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4}}
	got, _ := EvaluateBurn(context.Background(), rule, 0.999, f)
	if got[0].Breach || !near(got[0].LongBurn, 50) || !near(got[0].ShortBurn, 0.1) {
		t.Errorf("recovered: %+v", got[0])
	}
	ratios[5*time.Minute] = 0.5
	if got, _ = EvaluateBurn(context.Background(), rule, 0.999, f); !got[0].Breach {
		t.Errorf("both burning: %+v", got[0])
	}
	delete(ratios, time.Hour)
	if got, _ = EvaluateBurn(context.Background(), rule, 0.999, f); got[0].Breach {
		t.Errorf("no traffic in the long window must not page: %+v", got[0])
	}
	if PromDuration(90*time.Second) != "90s" || PromDuration(30*time.Minute) != "30m" || PromDuration(6*time.Hour) != "6h" {
		t.Error("PromDuration")
	}
}

// Bearer and basic credentials reach the server; refused ones are a
// permanent error that does not carry the secret.
func TestPrometheusAuth(t *testing.T) {
	const token, pw = "tok-3e1f9a77c2", "pw-91b0c4d2e8"
	s := series{time.Hour, 10, func(time.Duration) float64 { return 0 }}
	bearer := promServer(t, s, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token })
	basic := promServer(t, s, func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "ferry" && p == pw })
	ctx := context.Background()
	q := "sum(increase(requests_total[5m]))"
	for _, tc := range []struct {
		name string
		url  string
		auth PrometheusAuth
		ok   bool
	}{
		{"bearer", bearer.URL, PrometheusAuth{Kind: plan.PromAuthBearer, Token: token}, true},
		{"bearer wrong", bearer.URL, PrometheusAuth{Kind: plan.PromAuthBearer, Token: "not-" + token}, false},
		{"bearer none", bearer.URL, PrometheusAuth{Kind: plan.PromAuthNone}, false},
		{"basic", basic.URL, PrometheusAuth{Kind: plan.PromAuthBasic, Username: "ferry", Password: pw}, true},
		{"basic wrong", basic.URL, PrometheusAuth{Kind: plan.PromAuthBasic, Username: "ferry", Password: pw + "x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPrometheus(ctx, tc.url, tc.auth, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.Query(ctx, q)
			if tc.ok {
				if err != nil || v != 3000 {
					t.Fatalf("got %v, %v; want 3000", v, err)
				}
				return
			}
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "401") {
				t.Fatalf("want a permanent 401 error, got %v", err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), pw) {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
	if _, err := NewPrometheus(ctx, bearer.URL, PrometheusAuth{Kind: plan.PromAuthBearer}, nil); err == nil || !IsPermanent(err) {
		t.Errorf("bearer without a token: %v", err)
	}
}

// Quantiles from exponential buckets, as the load balancer writes them.
func TestDistributionQuantile(t *testing.T) {
	// Buckets: [0,1) underflow, [1,2), [2,4), [4,8), [8,16), overflow.
	d := &distribution.Distribution{Count: 100, Mean: 5, BucketCounts: []int64{0, 10, 40, 40, 10, 0},
		BucketOptions: &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
			ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: 4, GrowthFactor: 2, Scale: 1}}}}
	// p95: rank 95, in [8,16) holding ranks 91-100: 8 + 8 x 5/10 = 12 ms.
	if got := DistributionQuantile(d, 0.95); got != 12*time.Millisecond {
		t.Errorf("p95 %s", got)
	}
	// p50: rank 50, in [2,4) holding 11-50: its top.
	if got := DistributionQuantile(d, 0.5); got != 4*time.Millisecond {
		t.Errorf("p50 %s", got)
	}
	if DistributionQuantile(nil, 0.95) != 0 {
		t.Error("nil")
	}
}
