// Package telemetry wires callbridge's traces, metrics and logs.
//
// Traces use go.opentelemetry.io/otel with the exporter chosen by the standard
// OTEL_* variables (OTEL_TRACES_EXPORTER = otlp (default) | console | none,
// where otlp without OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT exports nothing;
// OTEL_EXPORTER_OTLP_PROTOCOL / _ENDPOINT, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES). Metrics are OpenTelemetry
// instruments exported for Prometheus on a private registry (see
// [Telemetry.MetricsHandler]). Logs are log/slog JSON lines that carry trace_id
// and span_id whenever they are written with a context inside a span.
//
// Everything is usable without [Setup]: a nil *Telemetry, a nil *Metrics and
// [Noop] all do nothing, and the package-level span helpers use the global
// TracerProvider (a no-op until Setup or a test installs one).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span and metric callbridge emits.
const ScopeName = "github.com/callbridge/callbridge"

// Options configures [Setup].
type Options struct {
	// ServiceName defaults to "callbridge"; OTEL_SERVICE_NAME overrides it.
	ServiceName    string
	ServiceVersion string
	// Commit is the VCS revision of the build, for callbridge_build_info (empty:
	// read from the binary's build information).
	Commit string
	// LogLevel is "debug", "info", "warn" or "error" (case-insensitive); empty means info.
	LogLevel string
	// LogWriter receives the JSON log lines; nil means os.Stderr (stdout is
	// left to OTEL_TRACES_EXPORTER=console).
	LogWriter io.Writer
	// SpanExporter, when set, replaces the OTEL_TRACES_EXPORTER choice and is
	// fed synchronously (spans are visible as soon as they end), which is what
	// tests with tracetest.NewInMemoryExporter want.
	SpanExporter sdktrace.SpanExporter
}

// Telemetry owns the providers built by [Setup].
type Telemetry struct {
	// Metrics records callbridge's metrics; never nil on a value from Setup or Noop.
	Metrics *Metrics

	tp       *sdktrace.TracerProvider // nil when spans are not exported
	tracers  trace.TracerProvider     // tp, or idTracerProvider; nil: use the global provider
	mp       *sdkmetric.MeterProvider
	logger   *slog.Logger
	registry *prometheus.Registry

	shutdownOnce sync.Once
	shutdownErr  error
}

// current is the Telemetry of the last Setup, used by the package-level
// Transport so vendor clients need not plumb a *Telemetry through.
var current atomic.Pointer[Telemetry]

// Default returns the Telemetry of the most recent successful Setup, or a
// no-op one when Setup has not run.
func Default() *Telemetry {
	if t := current.Load(); t != nil {
		return t
	}
	return sharedNoop()
}

// sharedNoop avoids building a no-op Telemetry per vendor request before Setup.
var sharedNoop = sync.OnceValue(Noop)

// Setup builds the tracer and meter providers and the logger, installs the
// TracerProvider, MeterProvider, W3C propagators, otel error handler and
// slog default globally, and returns the handle to shut them down.
func Setup(ctx context.Context, opts Options) (*Telemetry, error) {
	// Validate cheap inputs first so a bad value fails before any global changes.
	level, err := ParseLevel(opts.LogLevel)
	if err != nil {
		return nil, err
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "callbridge"
	}
	if opts.LogWriter == nil {
		opts.LogWriter = os.Stderr
	}
	logger := slog.New(NewLogHandler(slog.NewJSONHandler(opts.LogWriter, &slog.HandlerOptions{Level: level, ReplaceAttr: ReadableDurations})))

	attrs := []resource.Option{
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(opts.ServiceName)),
		resource.WithTelemetrySDK(),
		// After the explicit attributes so OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win.
		resource.WithFromEnv(),
	}
	if opts.ServiceVersion != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(opts.ServiceVersion)))
	}
	res, err := resource.New(ctx, attrs...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	var tp *sdktrace.TracerProvider
	var tracers trace.TracerProvider = idTracerProvider{}
	exp := opts.SpanExporter
	// OTLP (the default exporter) with no endpoint configured: nothing would receive
	// the spans, and the exporter would warn every few seconds about localhost:4318.
	// Spans then keep their ids (idTracerProvider) and nothing is exported.
	if exp == nil {
		// autoexport reads OTEL_TRACES_EXPORTER and the OTLP protocol/endpoint
		// variables (checking them even when nothing will be exported); its OTLP
		// exporters connect lazily, so no collector never blocks here.
		auto, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER: %w", err)
		}
		switch {
		case !otlpConfigured():
			_ = auto.Shutdown(ctx)
		case !autoexport.IsNoneSpanExporter(auto):
			tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(auto))
		}
	} else {
		tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(exp))
	}
	if tp != nil {
		tracers = tp
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// OpenTelemetry's Prometheus compatibility rules: http.server.request.duration
		// (unit s) becomes http_server_request_duration_seconds. callbridge's own
		// instruments are named with their suffixes already, which are not repeated.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		shutdownTracing(ctx, tp)
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(exporter)}
	if tp == nil && os.Getenv("OTEL_METRICS_EXEMPLAR_FILTER") == "" {
		// Exemplars point at traces; with none exported they would point nowhere, and
		// offering every measurement to the reservoir is a cost on the hot path.
		mpOpts = append(mpOpts, sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	m, err := NewMetrics(mp)
	if err != nil {
		shutdownTracing(ctx, tp)
		_ = mp.Shutdown(ctx)
		return nil, err
	}

	m.ObserveBuildInfo(opts.ServiceVersion, opts.Commit)

	t := &Telemetry{Metrics: m, tp: tp, tracers: tracers, mp: mp, logger: logger, registry: reg}

	otel.SetTracerProvider(tracers)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	// Export failures (e.g. collector down) become JSON warnings instead of
	// plain-text lines from the std logger.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry error", slog.String("error", err.Error()))
	}))
	slog.SetDefault(logger)
	current.Store(t)
	return t, nil
}

// Noop returns a Telemetry that records nothing and logs nowhere; its
// tracer is the global one so tests that install their own provider still
// see spans from Transport.
func Noop() *Telemetry {
	m, _ := NewMetrics(noop.NewMeterProvider()) // cannot fail on the no-op provider
	return &Telemetry{Metrics: m, logger: slog.New(slog.DiscardHandler), registry: prometheus.NewRegistry()}
}

// Shutdown flushes pending spans and stops the providers. It is safe to call
// more than once and on nil or Noop values; ctx bounds the flush.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.shutdownOnce.Do(func() {
		var errs []error
		if t.tp != nil {
			errs = append(errs, t.tp.Shutdown(ctx))
		}
		if t.mp != nil {
			errs = append(errs, t.mp.Shutdown(ctx))
		}
		current.CompareAndSwap(t, nil)
		t.shutdownErr = errors.Join(errs...)
	})
	return t.shutdownErr
}

func (t *Telemetry) tracerProvider() trace.TracerProvider {
	if t == nil || t.tracers == nil {
		return otel.GetTracerProvider()
	}
	return t.tracers
}

func shutdownTracing(ctx context.Context, tp *sdktrace.TracerProvider) {
	if tp != nil {
		_ = tp.Shutdown(ctx)
	}
}

// Tracer returns callbridge's tracer.
func (t *Telemetry) Tracer() trace.Tracer {
	return t.tracerProvider().Tracer(ScopeName)
}

// Logger returns the JSON logger (slog.Default() on a nil Telemetry).
func (t *Telemetry) Logger() *slog.Logger {
	if t == nil || t.logger == nil {
		return slog.Default()
	}
	return t.logger
}

// MetricsHandler serves the Prometheus text (or OpenMetrics) exposition of
// this Telemetry's private registry, for GET /metrics.
func (t *Telemetry) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	if t != nil && t.registry != nil {
		reg = t.registry
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})
}

// metrics is a nil-safe accessor; a nil *Metrics records nothing.
func (t *Telemetry) metrics() *Metrics {
	if t == nil {
		return nil
	}
	return t.Metrics
}

// otlpConfigured is false when traces would go to OTLP (OTEL_TRACES_EXPORTER unset
// or "otlp") but neither OTEL_EXPORTER_OTLP_ENDPOINT nor
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names a collector: then nothing is exported.
func otlpConfigured() bool {
	switch os.Getenv("OTEL_TRACES_EXPORTER") {
	case "", "otlp":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	}
	return true
}
