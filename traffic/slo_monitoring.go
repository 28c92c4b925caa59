package traffic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The load balancer's own metrics in Cloud Monitoring: what real users'
// requests to the app's GCP backend service got. Google writes them once
// a minute, and they reach the API a minute or two later, so on GCP they
// confirm a breach rather than catch it first; the probe and Prometheus
// are the fast signals.
const (
	lbRequestCount   = "loadbalancing.googleapis.com/https/request_count"
	lbTotalLatencies = "loadbalancing.googleapis.com/https/total_latencies"
)

// TimeSeriesLister is the part of the Monitoring client the gate uses.
type TimeSeriesLister interface {
	ListTimeSeries(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest, opts ...gax.CallOption) *monitoring.TimeSeriesIterator
}

var _ TimeSeriesLister = (*monitoring.MetricClient)(nil)

// LBSample is what the load balancer saw of the GCP backend service over
// one window.
type LBSample struct {
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"` // 5xx
	P95      time.Duration `json:"p95"`
}

// LBMetrics reads the request count by response code class and the
// latency distribution of one backend service over the window ending at
// end: aligned to one window-long period (at least a minute, as the API
// requires) and summed across the load balancer's series.
func LBMetrics(ctx context.Context, c TimeSeriesLister, project, backendService string, window time.Duration, end time.Time) (LBSample, error) {
	window = max(window, time.Minute)
	obj := fmt.Sprintf("load balancer metrics of %s in project %s", backendService, project)
	iv := &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-window)), EndTime: timestamppb.New(end)}
	filter := func(metric string) string {
		return fmt.Sprintf(`metric.type = %q AND resource.type = "https_lb_rule" AND resource.labels.backend_target_name = %q`, metric, backendService)
	}
	agg := func(groupBy ...string) *monitoringpb.Aggregation {
		return &monitoringpb.Aggregation{AlignmentPeriod: durationpb.New(window), PerSeriesAligner: monitoringpb.Aggregation_ALIGN_DELTA,
			CrossSeriesReducer: monitoringpb.Aggregation_REDUCE_SUM, GroupByFields: groupBy}
	}
	var s LBSample
	err := eachSeries(ctx, c, &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + project, Filter: filter(lbRequestCount),
		Interval: iv, Aggregation: agg("metric.label.response_code_class")}, func(ts *monitoringpb.TimeSeries) {
		if len(ts.GetPoints()) == 0 {
			return
		}
		n := ts.GetPoints()[0].GetValue().GetInt64Value() // newest first: the window ending at end
		s.Requests += n
		if ts.GetMetric().GetLabels()["response_code_class"] == "500" {
			s.Errors += n
		}
	})
	if err != nil {
		return LBSample{}, monError(obj, err)
	}
	var all *distribution.Distribution
	err = eachSeries(ctx, c, &monitoringpb.ListTimeSeriesRequest{Name: "projects/" + project, Filter: filter(lbTotalLatencies),
		Interval: iv, Aggregation: agg()}, func(ts *monitoringpb.TimeSeries) {
		if len(ts.GetPoints()) > 0 {
			all = ts.GetPoints()[0].GetValue().GetDistributionValue()
		}
	})
	if err != nil {
		return LBSample{}, monError(obj, err)
	}
	s.P95 = DistributionQuantile(all, 0.95)
	return s, nil
}

func eachSeries(ctx context.Context, c TimeSeriesLister, req *monitoringpb.ListTimeSeriesRequest, f func(*monitoringpb.TimeSeries)) error {
	it := c.ListTimeSeries(ctx, req)
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		f(ts)
	}
}

// monError: a refused query (bad filter, unknown metric, no permission)
// will not pass on retry; the rest may.
func monError(obj string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.NotFound, codes.Unimplemented:
		return &Error{Op: "read", Object: obj, Permanent: true, Err: fmt.Errorf("%s: %s", st.Code(), st.Message())}
	}
	return &Error{Op: "read", Object: obj, Err: fmt.Errorf("%s: %s", st.Code(), st.Message())}
}

// DistributionQuantile estimates quantile q of a distribution from its
// buckets (linear inside the bucket, as Cloud Monitoring's percentile
// aligners do). Values are milliseconds, as the load balancer writes them.
func DistributionQuantile(d *distribution.Distribution, q float64) time.Duration {
	if d == nil || d.GetCount() == 0 {
		return 0
	}
	bounds := bucketBounds(d.GetBucketOptions(), len(d.GetBucketCounts()))
	if bounds == nil {
		return msDuration(d.GetMean())
	}
	rank := q * float64(d.GetCount())
	var seen float64
	for i, n := range d.GetBucketCounts() {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo, hi := bounds[i][0], bounds[i][1]
			if math.IsInf(hi, 1) {
				return msDuration(lo)
			}
			if math.IsInf(lo, -1) || lo < 0 {
				lo = 0
			}
			return msDuration(lo + (hi-lo)*(rank-seen)/float64(n))
		}
		seen += float64(n)
	}
	return msDuration(d.GetMean())
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// bucketBounds gives [lower, upper) of each bucket: 0 is the underflow,
// the last the overflow.
func bucketBounds(o *distribution.Distribution_BucketOptions, n int) [][2]float64 {
	var edges []float64
	switch {
	case o.GetExponentialBuckets() != nil:
		e := o.GetExponentialBuckets()
		for i := 0; i <= int(e.GetNumFiniteBuckets()); i++ {
			edges = append(edges, e.GetScale()*math.Pow(e.GetGrowthFactor(), float64(i)))
		}
	case o.GetLinearBuckets() != nil:
		l := o.GetLinearBuckets()
		for i := 0; i <= int(l.GetNumFiniteBuckets()); i++ {
			edges = append(edges, l.GetOffset()+l.GetWidth()*float64(i))
		}
	case o.GetExplicitBuckets() != nil:
		edges = o.GetExplicitBuckets().GetBounds()
	default:
		return nil
	}
	out := make([][2]float64, 0, len(edges)+1)
	lo := math.Inf(-1)
	for _, e := range edges {
		out = append(out, [2]float64{lo, e})
		lo = e
	}
	out = append(out, [2]float64{lo, math.Inf(1)})
	if n > len(out) {
		return nil
	}
	return out
}
