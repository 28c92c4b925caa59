package gcpfake

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Cloud Monitoring (monitoring.go, monitoring_grpc.go): the time series
// Google's external Application Load Balancer writes, counted from the
// requests that actually went through the data plane's forwarding rules,
// served by a ListTimeSeries gRPC API (on the same port as vmmigration).
//
// As on GCP, each request is written once to
// loadbalancing.googleapis.com/https/request_count (DELTA INT64) and
// loadbalancing.googleapis.com/https/total_latencies (DELTA DISTRIBUTION,
// milliseconds) on the monitored resource https_lb_rule, labelled with the
// URL map, forwarding rule, proxy and the backend service and group that
// served it, and with response_code / response_code_class. Google writes a
// point per minute; the fake's period is one minute too unless a test
// shortens it (SetPeriod), so that a fast test sees its traffic at once.

// Metric types of the load balancer the fake writes.
const (
	MetricLBRequestCount   = "loadbalancing.googleapis.com/https/request_count"
	MetricLBTotalLatencies = "loadbalancing.googleapis.com/https/total_latencies"
	ResourceHTTPSLBRule    = "https_lb_rule"
)

// Latency distribution buckets: exponential, as the load balancer's
// (scale 1 ms, growth 1.4, 66 finite buckets).
const (
	latBuckets = 66
	latGrowth  = 1.4
	latScale   = 1.0
)

// monKeep is how long points are kept (the longest window a burn-rate rule
// reads is six hours).
const monKeep = 7 * time.Hour

// Monitoring holds the fake's time series.
type Monitoring struct {
	mu     sync.Mutex
	period time.Duration
	now    func() time.Time
	series map[string]*monSeries
}

// monSeries is one time series: a metric with its labels on one resource.
type monSeries struct {
	metric   string
	mlabels  map[string]string
	rlabels  map[string]string
	points   []monPoint // oldest first, one per period
	distrib  bool
	lastSeen time.Time
}

// monPoint is one period's delta: a count, or a latency distribution.
type monPoint struct {
	start, end time.Time
	count      int64
	buckets    []int64 // distrib: latBuckets+2
	sum, sumSq float64 // distrib: for mean and deviation
}

func newMonitoring() *Monitoring {
	return &Monitoring{period: time.Minute, now: time.Now, series: map[string]*monSeries{}}
}

// Monitoring returns the fake Cloud Monitoring service.
func (s *Server) Monitoring() *Monitoring { return s.mon }

// SetPeriod sets how often points are written (default one minute, as
// Google's load balancers); tests shorten it to see traffic at once.
func (m *Monitoring) SetPeriod(d time.Duration) {
	if d <= 0 {
		d = time.Minute
	}
	m.mu.Lock()
	m.period = d
	m.mu.Unlock()
}

// lbRequest is one request that went through a forwarding rule.
type lbRequest struct {
	project, urlMap, rule, proxy string
	service, group, groupType    string
	status                       int
	latency                      time.Duration
}

// record writes one load-balanced request to both series.
func (m *Monitoring) record(r lbRequest) {
	if m == nil {
		return
	}
	rl := map[string]string{
		"project_id": r.project, "region": "global", "url_map_name": r.urlMap,
		"forwarding_rule_name": r.rule, "target_proxy_name": r.proxy,
		"backend_target_name": r.service, "backend_target_type": "BACKEND_SERVICE",
		"backend_name": r.group, "backend_type": r.groupType, "backend_scope": "",
		"backend_scope_type": "", "matched_url_path_rule": "UNMATCHED",
	}
	if r.service == "" {
		rl["backend_target_name"], rl["backend_target_type"] = "", "UNKNOWN"
	}
	ml := map[string]string{
		"response_code": strconv.Itoa(r.status), "response_code_class": strconv.Itoa(r.status / 100 * 100),
		"proxy_continent": "Europe", "cache_result": "DISABLED", "client_country": "Ireland", "protocol": "HTTP/1.1",
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	ms := float64(r.latency) / float64(time.Millisecond)
	m.add(MetricLBRequestCount, ml, rl, now, false, func(p *monPoint) { p.count++ })
	m.add(MetricLBTotalLatencies, ml, rl, now, true, func(p *monPoint) {
		p.count++
		p.buckets[latBucket(ms)]++
		p.sum += ms
		p.sumSq += ms * ms
	})
}

// add updates the point of now's period. Called with m.mu held.
func (m *Monitoring) add(metric string, ml, rl map[string]string, now time.Time, distrib bool, f func(*monPoint)) {
	key := seriesKey(metric, ml, rl)
	sr := m.series[key]
	if sr == nil {
		sr = &monSeries{metric: metric, mlabels: ml, rlabels: rl, distrib: distrib}
		m.series[key] = sr
	}
	start := now.Truncate(m.period)
	if n := len(sr.points); n == 0 || !sr.points[n-1].start.Equal(start) {
		p := monPoint{start: start, end: start.Add(m.period)}
		if distrib {
			p.buckets = make([]int64, latBuckets+2)
		}
		sr.points = append(sr.points, p)
		// Drop what no window reads any more.
		cut := 0
		for cut < len(sr.points) && now.Sub(sr.points[cut].end) > monKeep {
			cut++
		}
		sr.points = sr.points[cut:]
	}
	f(&sr.points[len(sr.points)-1])
	sr.lastSeen = now
}

func seriesKey(metric string, ml, rl map[string]string) string {
	var keys []string
	for k, v := range ml {
		keys = append(keys, "m."+k+"="+v)
	}
	for k, v := range rl {
		keys = append(keys, "r."+k+"="+v)
	}
	sort.Strings(keys)
	out := metric
	for _, k := range keys {
		out += "\x00" + k
	}
	return out
}

// latBucket is the index of ms in the exponential buckets: 0 is underflow
// (< scale), latBuckets+1 overflow.
func latBucket(ms float64) int {
	if ms < latScale {
		return 0
	}
	i := int(math.Floor(math.Log(ms/latScale)/math.Log(latGrowth))) + 1
	return min(i, latBuckets+1)
}
