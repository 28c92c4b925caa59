package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/ferrymigrate/ferry/metrics"
)

// EnvMetricsAddress is where the worker serves Prometheus metrics
// (host:port, e.g. ":9090"); empty: no metrics endpoint.
const EnvMetricsAddress = "FERRY_METRICS_ADDRESS"

// Histogram buckets, in seconds. The OpenTelemetry defaults (0 to 10,000
// in coarse steps) suit milliseconds, not SDK latencies nor gates that
// wait for days.
var (
	latencyBuckets  = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600}
	gateWaitBuckets = []float64{60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400}
)

// Metrics exports the Temporal SDK's metrics and ferry's own (recorded
// through the same handler) in the Prometheus text format.
type Metrics struct {
	// Handler goes into client.Options.MetricsHandler: the worker's
	// workflows and activities record through it.
	Handler  client.MetricsHandler
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	srv      *http.Server
	addr     string
}

// NewMetrics builds the registry and the SDK handler; log receives
// instrument errors (a broken metric never stops the worker).
func NewMetrics(log *slog.Logger) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: create the Prometheus exporter: %w", err)
	}
	// One view for every histogram: a second matching view would export
	// the instrument twice.
	buckets := func(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		if i.Kind != sdkmetric.InstrumentKindHistogram {
			return sdkmetric.Stream{}, false
		}
		b := latencyBuckets
		if i.Name == metrics.GateWait {
			b = gateWaitBuckets
		}
		return sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit,
			Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: b}}, true
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(buckets))
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                mp.Meter("ferry"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { log.Warn("metrics: instrument error", "error", err) },
	})
	return &Metrics{Handler: h, registry: reg, provider: mp}, nil
}

// HTTPHandler serves /metrics.
func (m *Metrics) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ferry worker: Prometheus metrics at /metrics")
	})
	return mux
}

// Serve listens on addr and serves /metrics until Close. It returns once
// the port is bound, so a taken port fails the worker's start.
func (m *Metrics) Serve(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s (--metrics-address / %s): %w; pick a free port", addr, EnvMetricsAddress, err)
	}
	m.addr = ln.Addr().String()
	m.srv = &http.Server{Handler: m.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "address", m.addr, "error", err)
		}
	}()
	log.Info("serving Prometheus metrics", "url", "http://"+m.addr+"/metrics")
	return nil
}

// Addr is the bound address after Serve.
func (m *Metrics) Addr() string { return m.addr }

// Close stops the endpoint and the meter provider.
func (m *Metrics) Close(ctx context.Context) error {
	var errs []error
	if m.srv != nil {
		errs = append(errs, m.srv.Shutdown(ctx))
	}
	errs = append(errs, m.provider.Shutdown(ctx))
	return errors.Join(errs...)
}
