package gcpfake

import (
	"context"
	"fmt"
	"math"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	metricpb "google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// monServer is the google.monitoring.v3.MetricService gRPC API: only
// ListTimeSeries, over the series the data plane wrote.
type monServer struct {
	monitoringpb.UnimplementedMetricServiceServer
	s *Server
	m *Monitoring
}

// startMonitoring serves the Monitoring API on its own loopback port.
func (s *Server) startMonitoring() error {
	host, _, err := net.SplitHostPort(s.opts.Addr)
	if err != nil {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("gcpfake: listen for the monitoring API: %w", err)
	}
	srv := &monServer{s: s, m: s.mon}
	g := grpc.NewServer(grpc.UnaryInterceptor(srv.intercept))
	monitoringpb.RegisterMetricServiceServer(g, srv)
	s.monLn, s.monGRPC = ln, g
	go func() { _ = g.Serve(ln) }()
	return nil
}

func (s *Server) closeMonitoring() {
	if s.monGRPC != nil {
		s.monGRPC.Stop()
	}
}

// MonitoringEndpoint is the host:port of the Monitoring gRPC API, for
// option.WithEndpoint with option.WithoutAuthentication() and
// option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())).
func (s *Server) MonitoringEndpoint() string { return s.monLn.Addr().String() }

// intercept applies injected faults, as for the other APIs: a Fault's
// PathRegexp matches the full gRPC method
// ("/google.monitoring.v3.MetricService/ListTimeSeries").
func (ms *monServer) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := ms.s.grpcFault(ctx, info.FullMethod, "Quota exceeded for quota metric 'Time series queries'", ""); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

var monNameRE = regexp.MustCompile(`^(projects|organizations|folders)/([^/]+)$`)

// monMetric is what the fake knows of a metric type.
var monMetrics = map[string]struct {
	kind  metricpb.MetricDescriptor_MetricKind
	vtype metricpb.MetricDescriptor_ValueType
	unit  string
}{
	MetricLBRequestCount:   {metricpb.MetricDescriptor_DELTA, metricpb.MetricDescriptor_INT64, "1"},
	MetricLBTotalLatencies: {metricpb.MetricDescriptor_DELTA, metricpb.MetricDescriptor_DISTRIBUTION, "ms"},
}

func invalid(field, value, why string) error {
	return status.Errorf(codes.InvalidArgument, "Field %s had an invalid value of %q: %s", field, value, why)
}

// ListTimeSeries lists the series matching the filter in the interval,
// raw (newest point first) or aligned and reduced (ALIGN_DELTA or
// ALIGN_SUM, REDUCE_NONE or REDUCE_SUM with group_by_fields).
func (ms *monServer) ListTimeSeries(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	nm := monNameRE.FindStringSubmatch(req.GetName())
	if nm == nil {
		return nil, invalid("name", req.GetName(), "must be projects/PROJECT_ID_OR_NUMBER (or organizations/ID, folders/ID)")
	}
	if strings.TrimSpace(req.GetFilter()) == "" {
		return nil, invalid("filter", req.GetFilter(), "a filter with a metric.type is required")
	}
	f, err := parseMonFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	desc, ok := monMetrics[f.metricType]
	if !ok {
		return nil, invalid("filter", req.GetFilter(), fmt.Sprintf("The provided filter doesn't refer to any known metric (metric.type %q).", f.metricType))
	}
	iv := req.GetInterval()
	if iv == nil || iv.GetEndTime() == nil {
		return nil, invalid("interval.end_time", "", "an end time is required")
	}
	if err := iv.GetEndTime().CheckValid(); err != nil {
		return nil, invalid("interval.end_time", iv.GetEndTime().String(), err.Error())
	}
	end := iv.GetEndTime().AsTime()
	start := end
	if iv.GetStartTime() != nil {
		if err := iv.GetStartTime().CheckValid(); err != nil {
			return nil, invalid("interval.start_time", iv.GetStartTime().String(), err.Error())
		}
		start = iv.GetStartTime().AsTime()
	}
	if start.After(end) {
		return nil, invalid("interval.start_time", start.Format(time.RFC3339Nano),
			fmt.Sprintf("The start time must be before or equal to the end time (%s).", end.Format(time.RFC3339Nano)))
	}
	agg := req.GetAggregation()
	if sa := req.GetSecondaryAggregation(); sa != nil && (sa.GetPerSeriesAligner() != 0 || sa.GetCrossSeriesReducer() != 0) {
		return nil, status.Error(codes.Unimplemented, "gcpfake: secondary_aggregation is not supported")
	}
	if req.GetOrderBy() != "" {
		return nil, status.Error(codes.Unimplemented, "gcpfake: order_by is not supported")
	}
	var period time.Duration
	aligner, reducer := monitoringpb.Aggregation_ALIGN_NONE, monitoringpb.Aggregation_REDUCE_NONE
	if agg != nil {
		aligner, reducer = agg.GetPerSeriesAligner(), agg.GetCrossSeriesReducer()
		switch aligner {
		case monitoringpb.Aggregation_ALIGN_NONE, monitoringpb.Aggregation_ALIGN_DELTA, monitoringpb.Aggregation_ALIGN_SUM:
		default:
			return nil, status.Errorf(codes.Unimplemented, "gcpfake: per_series_aligner %s is not supported (ALIGN_NONE, ALIGN_DELTA, ALIGN_SUM are)", aligner)
		}
		switch reducer {
		case monitoringpb.Aggregation_REDUCE_NONE, monitoringpb.Aggregation_REDUCE_SUM:
		default:
			return nil, status.Errorf(codes.Unimplemented, "gcpfake: cross_series_reducer %s is not supported (REDUCE_NONE, REDUCE_SUM are)", reducer)
		}
		if aligner != monitoringpb.Aggregation_ALIGN_NONE {
			if agg.GetAlignmentPeriod() == nil {
				return nil, invalid("aggregation.alignment_period", "", "an alignment period is required with a per-series aligner")
			}
			period = agg.GetAlignmentPeriod().AsDuration()
			if period < time.Minute {
				return nil, invalid("aggregation.alignment_period", period.String(), "The alignment period must be at least 60 seconds.")
			}
		}
		if reducer != monitoringpb.Aggregation_REDUCE_NONE && aligner == monitoringpb.Aggregation_ALIGN_NONE {
			return nil, invalid("aggregation.per_series_aligner", aligner.String(), "a cross-series reducer needs a per-series aligner other than ALIGN_NONE")
		}
		if len(agg.GetGroupByFields()) > 0 && reducer == monitoringpb.Aggregation_REDUCE_NONE {
			return nil, invalid("aggregation.group_by_fields", strings.Join(agg.GetGroupByFields(), ","), "group_by_fields needs a cross-series reducer")
		}
		for _, g := range agg.GetGroupByFields() {
			if _, _, ok := labelPath(g); !ok {
				return nil, invalid("aggregation.group_by_fields", g, "a group-by field is metric.label.KEY or resource.label.KEY")
			}
		}
	}
	offset := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, invalid("page_token", t, "not a page token this API returned")
		}
		offset = n
	}

	ms.m.mu.Lock()
	now := ms.m.now()
	var matched []*monSeries
	for _, sr := range ms.m.series {
		if sr.metric != f.metricType || (nm[1] == "projects" && sr.rlabels["project_id"] != nm[2]) || !f.match(sr) {
			continue
		}
		matched = append(matched, sr.clone())
	}
	ms.m.mu.Unlock()
	sort.Slice(matched, func(i, j int) bool {
		return seriesKey(matched[i].metric, matched[i].mlabels, matched[i].rlabels) < seriesKey(matched[j].metric, matched[j].mlabels, matched[j].rlabels)
	})
	var out []*monitoringpb.TimeSeries
	if aligner == monitoringpb.Aggregation_ALIGN_NONE {
		for _, sr := range matched {
			if ts := rawSeries(sr, start, end, now); ts != nil {
				out = append(out, ts)
			}
		}
	} else {
		var groups []string
		if agg != nil {
			groups = agg.GetGroupByFields()
		}
		out = alignedSeries(matched, reducer, groups, period, start, end, now)
	}
	for _, ts := range out {
		ts.MetricKind, ts.ValueType, ts.Unit = desc.kind, desc.vtype, desc.unit
		if req.GetView() == monitoringpb.ListTimeSeriesRequest_HEADERS {
			ts.Points = nil
		}
	}
	if offset > len(out) {
		return nil, invalid("page_token", req.GetPageToken(), "not a page token this API returned")
	}
	out = out[offset:]
	resp := &monitoringpb.ListTimeSeriesResponse{}
	if n := int(req.GetPageSize()); n > 0 && len(out) > n {
		out = out[:n]
		resp.NextPageToken = strconv.Itoa(offset + n)
	}
	resp.TimeSeries = out
	return resp, nil
}

func (sr *monSeries) clone() *monSeries {
	c := *sr
	c.points = append([]monPoint(nil), sr.points...)
	for i := range c.points {
		c.points[i].buckets = append([]int64(nil), c.points[i].buckets...)
	}
	return &c
}

// rawSeries is one stored series as written: the completed points whose
// end lies in the interval, newest first.
func rawSeries(sr *monSeries, start, end, now time.Time) *monitoringpb.TimeSeries {
	ts := header(sr.metric, sr.mlabels, sr.rlabels)
	for i := len(sr.points) - 1; i >= 0; i-- {
		p := sr.points[i]
		if p.end.After(now) {
			continue // still being written
		}
		inside := p.end.After(start) && !p.end.After(end)
		if start.Equal(end) {
			inside = !p.start.After(end) && p.end.After(end) || p.end.Equal(end)
		}
		if inside {
			ts.Points = append(ts.Points, pointPB(p, p.start, p.end, sr.distrib))
		}
	}
	if len(ts.Points) == 0 {
		return nil
	}
	return ts
}

// alignedSeries aligns each series to periods ending at end (ALIGN_DELTA
// and ALIGN_SUM both sum a delta metric's points), then sums across series
// sharing the group-by labels when the reducer is REDUCE_SUM.
func alignedSeries(series []*monSeries, reducer monitoringpb.Aggregation_Reducer, groups []string, period time.Duration, start, end, now time.Time) []*monitoringpb.TimeSeries {
	type acc struct {
		ml, rl  map[string]string
		distrib bool
		pts     map[int]*monPoint // period index back from end
	}
	accs := map[string]*acc{}
	var order []string
	for _, sr := range series {
		ml, rl := sr.mlabels, sr.rlabels
		if reducer == monitoringpb.Aggregation_REDUCE_SUM {
			ml, rl = map[string]string{}, map[string]string{}
			for _, g := range groups {
				kind, key, _ := labelPath(g)
				if kind == "metric" {
					ml[key] = sr.mlabels[key]
				} else {
					rl[key] = sr.rlabels[key]
				}
			}
		}
		k := seriesKey(sr.metric, ml, rl)
		a := accs[k]
		if a == nil {
			a = &acc{ml: ml, rl: rl, distrib: sr.distrib, pts: map[int]*monPoint{}}
			accs[k] = a
			order = append(order, k)
		}
		for _, p := range sr.points {
			if p.end.After(now) || p.end.After(end) {
				continue // still being written, or after the interval
			}
			i := int(end.Sub(p.end) / period) // period i is (end-(i+1)P, end-iP]
			pe := end.Add(-time.Duration(i) * period)
			if i > 0 && !pe.After(start) {
				continue
			}
			q := a.pts[i]
			if q == nil {
				q = &monPoint{start: pe.Add(-period), end: pe}
				if sr.distrib {
					q.buckets = make([]int64, latBuckets+2)
				}
				a.pts[i] = q
			}
			q.count += p.count
			for b := range p.buckets {
				q.buckets[b] += p.buckets[b]
			}
			q.sum += p.sum
			q.sumSq += p.sumSq
		}
	}
	sort.Strings(order)
	var out []*monitoringpb.TimeSeries
	for _, k := range order {
		a := accs[k]
		if len(a.pts) == 0 {
			continue
		}
		ts := header(metricOf(k), a.ml, a.rl)
		var idx []int
		for i := range a.pts {
			idx = append(idx, i)
		}
		sort.Ints(idx) // newest first
		for _, i := range idx {
			p := a.pts[i]
			ts.Points = append(ts.Points, pointPB(*p, p.start, p.end, a.distrib))
		}
		out = append(out, ts)
	}
	return out
}

func metricOf(key string) string {
	if i := strings.IndexByte(key, 0); i >= 0 {
		return key[:i]
	}
	return key
}

func header(metric string, ml, rl map[string]string) *monitoringpb.TimeSeries {
	return &monitoringpb.TimeSeries{
		Metric:   &metricpb.Metric{Type: metric, Labels: copyLabels(ml)},
		Resource: &monitoredres.MonitoredResource{Type: ResourceHTTPSLBRule, Labels: copyLabels(rl)},
	}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func pointPB(p monPoint, start, end time.Time, distrib bool) *monitoringpb.Point {
	pt := &monitoringpb.Point{Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)}}
	if !distrib {
		pt.Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: p.count}}
		return pt
	}
	d := &distribution.Distribution{Count: p.count, BucketCounts: p.buckets,
		BucketOptions: &distribution.Distribution_BucketOptions{Options: &distribution.Distribution_BucketOptions_ExponentialBuckets{
			ExponentialBuckets: &distribution.Distribution_BucketOptions_Exponential{NumFiniteBuckets: latBuckets, GrowthFactor: latGrowth, Scale: latScale}}}}
	if p.count > 0 {
		d.Mean = p.sum / float64(p.count)
		d.SumOfSquaredDeviation = math.Max(0, p.sumSq-float64(p.count)*d.Mean*d.Mean)
	}
	pt.Value = &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: d}}
	return pt
}

// monFilter is a conjunction of label comparisons with one metric.type.
type monFilter struct {
	metricType string
	terms      []monTerm
}

type monTerm struct {
	kind, key, value string // kind: metric, resource, resource.type
	neg              bool
}

// labelPath splits metric.label(s).KEY / resource.label(s).KEY.
func labelPath(s string) (kind, key string, ok bool) {
	for _, k := range []string{"metric", "resource"} {
		for _, l := range []string{".labels.", ".label."} {
			if strings.HasPrefix(s, k+l) && len(s) > len(k+l) {
				return k, s[len(k+l):], true
			}
		}
	}
	return "", "", false
}

var monTokenRE = regexp.MustCompile(`\s*("(?:[^"\\]|\\.)*"|!=|=|[A-Za-z0-9_.\-/:]+|\S)`)

// parseMonFilter reads the filters ListTimeSeries clients write:
// `metric.type = "..." AND resource.type = "..." AND
// resource.labels.KEY = "..." AND metric.labels.KEY != 500`. It refuses
// what the real API refuses (no metric type, two of them, a dangling
// operator) and says so for what the fake does not implement (OR,
// functions, parentheses).
func parseMonFilter(s string) (*monFilter, error) {
	var toks []string
	rest := s
	for strings.TrimSpace(rest) != "" {
		m := monTokenRE.FindStringSubmatchIndex(rest)
		if m == nil {
			break
		}
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	bad := func(why string) error { return invalid("filter", s, why) }
	f := &monFilter{}
	for i := 0; i < len(toks); {
		if i > 0 {
			switch strings.ToUpper(toks[i]) {
			case "AND":
				i++
			case "OR", "NOT", "(":
				return nil, status.Errorf(codes.Unimplemented, "gcpfake: filter %q: %s is not supported (conjunctions of = and != are)", s, toks[i])
			default:
				return nil, bad(fmt.Sprintf("expected AND before %q", toks[i]))
			}
		}
		if i+2 >= len(toks) {
			return nil, bad("incomplete comparison at the end of the filter")
		}
		lhs, op, rhs := toks[i], toks[i+1], toks[i+2]
		i += 3
		if op != "=" && op != "!=" {
			if op == ":" || op == "<" || op == ">" || strings.HasSuffix(lhs, "(") {
				return nil, status.Errorf(codes.Unimplemented, "gcpfake: filter %q: operator %s is not supported (= and != are)", s, op)
			}
			return nil, bad(fmt.Sprintf("expected = or != after %s, got %q", lhs, op))
		}
		val := rhs
		if strings.HasPrefix(rhs, `"`) {
			u, err := strconv.Unquote(rhs)
			if err != nil {
				return nil, bad(fmt.Sprintf("bad string %s", rhs))
			}
			val = u
		} else if rhs == "=" || rhs == "!=" || strings.EqualFold(rhs, "AND") {
			return nil, bad(fmt.Sprintf("missing value after %s %s", lhs, op))
		}
		switch {
		case lhs == "metric.type":
			if op != "=" {
				return nil, bad("metric.type must be compared with =")
			}
			if f.metricType != "" {
				return nil, bad("the filter names more than one metric.type")
			}
			f.metricType = val
		case lhs == "resource.type":
			f.terms = append(f.terms, monTerm{kind: "resource.type", value: val, neg: op == "!="})
		case lhs == "project":
			f.terms = append(f.terms, monTerm{kind: "resource", key: "project_id", value: val, neg: op == "!="})
		default:
			kind, key, ok := labelPath(lhs)
			if !ok {
				return nil, bad(fmt.Sprintf("unknown field %q (write metric.type, resource.type, metric.labels.KEY or resource.labels.KEY)", lhs))
			}
			f.terms = append(f.terms, monTerm{kind: kind, key: key, value: val, neg: op == "!="})
		}
	}
	if f.metricType == "" {
		return nil, bad("the filter must name exactly one metric.type")
	}
	return f, nil
}

func (f *monFilter) match(sr *monSeries) bool {
	for _, t := range f.terms {
		var got string
		switch t.kind {
		case "resource.type":
			got = ResourceHTTPSLBRule
		case "metric":
			got = sr.mlabels[t.key]
		default:
			got = sr.rlabels[t.key]
		}
		if (got == t.value) == t.neg {
			return false
		}
	}
	return true
}
