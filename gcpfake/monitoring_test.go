package gcpfake

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func monClient(t *testing.T, s *Server) *monitoring.MetricClient {
	t.Helper()
	c, err := monitoring.NewMetricClient(context.Background(), option.WithEndpoint(s.MonitoringEndpoint()),
		option.WithoutAuthentication(), option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listAll(ctx context.Context, c *monitoring.MetricClient, req *monitoringpb.ListTimeSeriesRequest) ([]*monitoringpb.TimeSeries, error) {
	var out []*monitoringpb.TimeSeries
	it := c.ListTimeSeries(ctx, req)
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ts)
	}
}

// The load balancer's request count and latency series count exactly what
// went through the forwarding rule, split by the backend service that
// served it and the response code class; the real client reads them
// aligned and summed.
func TestMonitoringCountsLoadBalancedRequests(t *testing.T) {
	dc := dcStandIn(t)
	s, err := Start(Options{DataPlane: true, Hybrid: func(string, int) string { return dc }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Monitoring().SetPeriod(100 * time.Millisecond)
	url := appLB(t, s)
	shiftWeights(t, s, dpProject, "app-lb", map[string]int{"app-dc": 0, "app-gcp": 100})
	s.SetAppFault(dpProject, "web-1", AppFault{Status: 503})
	_, statuses, _ := through(t, url, 60)
	time.Sleep(150 * time.Millisecond) // the last period closes
	ctx := context.Background()
	c := monClient(t, s)
	now := time.Now()
	iv := &monitoringpb.TimeInterval{StartTime: timestamppb.New(now.Add(-time.Minute)), EndTime: timestamppb.New(now)}
	series, err := listAll(ctx, c, &monitoringpb.ListTimeSeriesRequest{
		Name: "projects/" + dpProject,
		Filter: `metric.type = "loadbalancing.googleapis.com/https/request_count" AND resource.type = "https_lb_rule" AND ` +
			`resource.labels.backend_target_name = "app-gcp"`,
		Interval: iv,
		Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(time.Minute), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM, GroupByFields: []string{"metric.label.response_code_class"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, ts := range series {
		if len(ts.Points) != 1 {
			t.Fatalf("one aligned point per series, got %d", len(ts.Points))
		}
		got[ts.Metric.Labels["response_code_class"]] += ts.Points[0].Value.GetInt64Value()
		if len(ts.Resource.Labels) != 0 || len(ts.Metric.Labels) != 1 {
			t.Errorf("reduced series keep only the group-by labels: %v %v", ts.Metric.Labels, ts.Resource.Labels)
		}
	}
	if got["200"] != int64(statuses[200]) || got["500"] != int64(statuses[503]) || statuses[503] == 0 || statuses[200] == 0 {
		t.Errorf("counted %v, served %v", got, statuses)
	}

	// Latencies: one distribution of every request, raw points newest first.
	raw, err := listAll(ctx, c, &monitoringpb.ListTimeSeriesRequest{
		Name:     "projects/" + dpProject,
		Filter:   `metric.type = "loadbalancing.googleapis.com/https/total_latencies" AND metric.labels.response_code_class != 500`,
		Interval: iv,
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, ts := range raw {
		if ts.Resource.Type != "https_lb_rule" || ts.Resource.Labels["url_map_name"] != "app-lb" || ts.Resource.Labels["forwarding_rule_name"] != "app-fr" {
			t.Errorf("resource %v", ts.Resource)
		}
		for i, p := range ts.Points {
			d := p.Value.GetDistributionValue()
			n += d.GetCount()
			if d.GetBucketOptions().GetExponentialBuckets() == nil || len(d.BucketCounts) != latBuckets+2 {
				t.Errorf("distribution buckets: %v", d.GetBucketOptions())
			}
			if i > 0 && !p.Interval.EndTime.AsTime().Before(ts.Points[i-1].Interval.EndTime.AsTime()) {
				t.Errorf("points newest first")
			}
		}
	}
	if n != int64(statuses[200]) {
		t.Errorf("latency count %d, 200s served %d", n, statuses[200])
	}
}

// What the real API refuses, the fake refuses with the same code.
func TestMonitoringRefusals(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := monClient(t, s)
	now := time.Now()
	ok := `metric.type = "loadbalancing.googleapis.com/https/request_count"`
	iv := &monitoringpb.TimeInterval{StartTime: timestamppb.New(now.Add(-time.Minute)), EndTime: timestamppb.New(now)}
	for _, tc := range []struct {
		name string
		req  *monitoringpb.ListTimeSeriesRequest
		code codes.Code
		msg  string
	}{
		{"no filter", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Interval: iv}, codes.InvalidArgument, "filter"},
		{"bad name", &monitoringpb.ListTimeSeriesRequest{Name: "p", Filter: ok, Interval: iv}, codes.InvalidArgument, "name"},
		{"unknown metric", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: `metric.type = "loadbalancing.googleapis.com/https/bogus"`, Interval: iv}, codes.InvalidArgument, "known metric"},
		{"no metric type", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: `resource.type = "https_lb_rule"`, Interval: iv}, codes.InvalidArgument, "metric.type"},
		{"dangling", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok + ` AND resource.labels.x =`, Interval: iv}, codes.InvalidArgument, "incomplete"},
		{"garbage", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok + ` resource.labels.x = "y"`, Interval: iv}, codes.InvalidArgument, "AND"},
		{"no end", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok}, codes.InvalidArgument, "end_time"},
		{"end before start", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok,
			Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Second))}}, codes.InvalidArgument, "start time"},
		{"short alignment", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok, Interval: iv,
			Aggregation: &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(10 * time.Second), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA}}, codes.InvalidArgument, "60 seconds"},
		{"reducer without aligner", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok, Interval: iv,
			Aggregation: &monitoringpb.Aggregation{CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM}}, codes.InvalidArgument, "aligner"},
		{"or", &monitoringpb.ListTimeSeriesRequest{Name: "projects/p", Filter: ok + ` OR resource.type = "x"`, Interval: iv}, codes.Unimplemented, "OR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := listAll(context.Background(), c, tc.req)
			st, _ := status.FromError(err)
			if err == nil || st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
}
