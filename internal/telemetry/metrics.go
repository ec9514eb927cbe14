package telemetry

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/callbridge/callbridge/internal/cowmap"
)

// Metric names as they appear on /metrics. Counters and histograms appear only
// after their first recording (OpenTelemetry exports no series without
// attributes); the gauges appear once an Observe* callback is registered
// (Setup registers the build info). The Go runtime and process collectors are
// always present.
//
// The two HTTP histograms follow OpenTelemetry's stable HTTP semantic
// conventions: the instruments are http.server.request.duration and
// http.client.request.duration in seconds, with the conventions' attributes
// (dots become underscores in Prometheus label names: http_request_method,
// http_response_status_code, http_route, url_scheme, server_address,
// server_port, error_type) plus callbridge's own (callbridge_account,
// callbridge_vendor, callbridge_endpoint); the Prometheus names get the unit
// suffix as OpenTelemetry's Prometheus compatibility rules say.
const (
	MetricWebhooks          = "callbridge_webhooks_total"                           // {account, type, outcome}
	MetricHTTPServer        = "http_server_request_duration_seconds"                // webhooks: {http_request_method, http_response_status_code, http_route, url_scheme, callbridge_account, error_type}
	MetricPublishDuration   = "callbridge_publish_duration_seconds"                 // {topic}
	MetricCommands          = "callbridge_commands_total"                           // {type, account, outcome}
	MetricHTTPClient        = "http_client_request_duration_seconds"                // vendor calls: {http_request_method, http_response_status_code, server_address, server_port, error_type, callbridge_vendor, callbridge_endpoint}
	MetricVendorRetries     = "callbridge_vendor_retries_total"                     // {vendor, endpoint}
	MetricLedgerEntries     = "callbridge_ledger_entries"                           // gauge
	MetricDLQWrites         = "callbridge_dlq_writes_total"                         // {reason}
	MetricConsumerLag       = "callbridge_consumer_lag"                             // gauge {topic, partition}
	MetricKafkaProducerErrs = "callbridge_kafka_producer_errors_total"              // {topic}
	MetricBuildInfo         = "callbridge_build_info"                               // gauge = 1 {version, commit, go_version}
	MetricReconciled        = "callbridge_reconciled_total"                         // {account, outcome}
	MetricReconcileSuccess  = "callbridge_reconcile_last_success_timestamp_seconds" // gauge {account}
	MetricWebhooksInflight  = "callbridge_webhooks_inflight"                        // gauge: webhooks held waiting for Kafka
	MetricWebhookRefusals   = "callbridge_webhook_refusals_total"                   // {account}: 503 at once, too many waiting
	MetricHTTPConnections   = "callbridge_http_connections"                         // gauge: connections open
)

// MetricNames lists every callbridge metric name.
var MetricNames = []string{
	MetricWebhooks, MetricHTTPServer, MetricPublishDuration, MetricCommands, MetricHTTPClient,
	MetricVendorRetries, MetricLedgerEntries, MetricDLQWrites, MetricConsumerLag,
	MetricKafkaProducerErrs, MetricBuildInfo, MetricReconciled, MetricReconcileSuccess,
}

// OpenTelemetry instrument names of the HTTP histograms (semantic conventions).
const (
	instHTTPServer = "http.server.request.duration"
	instHTTPClient = "http.client.request.duration"
)

// Label names; unexported so only the typed methods below can set them.
const (
	lblAccount   = "account"
	lblType      = "type"
	lblOutcome   = "outcome"
	lblTopic     = "topic"
	lblVendor    = "vendor"
	lblEndpoint  = "endpoint"
	lblReason    = "reason"
	lblPartition = "partition"
	lblVersion   = "version"
	lblCommit    = "commit"
	lblGoVersion = "go_version"
)

// latencyBuckets (seconds) span a fast local Kafka ack up to the 10 s produce
// timeout and slow vendor calls; the SDK default buckets are millisecond-scaled.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// httpBuckets are the boundaries the HTTP semantic conventions advise for
// http.server/client.request.duration, so dashboards built for them fit.
var httpBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// PartitionLag is one consumer-lag observation.
type PartitionLag struct {
	Topic     string
	Partition int
	Lag       int64
}

// Metrics records callbridge's metrics through typed methods, so attribute
// names cannot be misspelt by callers. All methods are safe on a nil *Metrics
// and from many goroutines. Label values must be low-cardinality: account
// names, event/command types, short outcome and reason codes, vendor paths.
type Metrics struct {
	meter          metric.Meter
	webhooks       metric.Int64Counter
	server         metric.Float64Histogram
	publish        metric.Float64Histogram
	commands       metric.Int64Counter
	client         metric.Float64Histogram
	vendorRetries  metric.Int64Counter
	dlqWrites      metric.Int64Counter
	producerErrors metric.Int64Counter
	ledger         metric.Int64ObservableGauge
	lag            metric.Int64ObservableGauge
	buildInfo      metric.Int64ObservableGauge
	reconciled     metric.Int64Counter
	reconcileOK    metric.Float64Gauge
	inflight       metric.Int64ObservableGauge
	connections    metric.Int64ObservableGauge
	refusals       metric.Int64Counter

	// The caches hold the attribute options of label values seen before: they are
	// few, and building a set on every measurement sorts and allocates.
	sets       attrCache[attrKey]
	serverSets attrCache[ServerRequest]
	clientSets attrCache[ClientRequest]
}

// attrKey is up to three label name/value pairs; unused pairs are empty.
type attrKey [6]string

func (k attrKey) attributes() []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, 0, 3)
	for i := 0; i < len(k); i += 2 {
		if k[i] != "" {
			kvs = append(kvs, attribute.String(k[i], k[i+1]))
		}
	}
	return kvs
}

// maxAttrSets bounds a cache should label values turn out not to be few.
const maxAttrSets = 4096

// attrCache maps a comparable description of a measurement's attributes to
// the options carrying them, read without a lock (cowmap).
type attrCache[K interface {
	comparable
	attributes() []attribute.KeyValue
}] struct {
	sets cowmap.Map[K, *measureOpts]
}

// measureOpts are one attribute set as the options of either kind of instrument,
// ready to pass: a slice made per measurement would be allocated.
type measureOpts struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func (c *attrCache[K]) get(k K) *measureOpts {
	if o, ok := c.sets.Get(k); ok {
		return o
	}
	opt := metric.WithAttributeSet(attribute.NewSet(k.attributes()...))
	return c.sets.Add(k, &measureOpts{add: []metric.AddOption{opt}, rec: []metric.RecordOption{opt}})
}

func (m *Metrics) attrs(k attrKey) *measureOpts { return m.sets.get(k) }

// NewMetrics creates the instruments on mp (Setup does this; tests of other
// packages may pass an sdkmetric provider with a ManualReader).
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	m := &Metrics{meter: mp.Meter(ScopeName)}
	m.sets.sets.Max, m.serverSets.sets.Max, m.clientSets.sets.Max = maxAttrSets, maxAttrSets, maxAttrSets
	var err error
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, e := m.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, e)
		return c
	}
	histogram := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, e := m.meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, e)
		return h
	}
	m.webhooks = counter(MetricWebhooks, "{webhook}", "Vendor webhooks received, by account, type and outcome.")
	m.server = histogram(instHTTPServer, "Duration of HTTP server requests (vendor webhooks).", httpBuckets)
	m.publish = histogram(MetricPublishDuration, "Time until Kafka acknowledged a produced record, by topic.", latencyBuckets)
	m.commands = counter(MetricCommands, "{command}", "Commands handled, by type, account and outcome.")
	m.client = histogram(instHTTPClient, "Duration of HTTP client requests (vendor API calls).", httpBuckets)
	m.vendorRetries = counter(MetricVendorRetries, "{retry}", "Vendor HTTP calls retried, by vendor and endpoint.")
	m.dlqWrites = counter(MetricDLQWrites, "{record}", "Records written to the dead-letter topic, by reason.")
	m.producerErrors = counter(MetricKafkaProducerErrs, "{error}", "Kafka produce failures, by topic.")
	m.reconciled = counter(MetricReconciled, "{call}", "Finished calls read back by reconciliation, by account and outcome (published, already_published).")
	m.reconcileOK, err = m.meter.Float64Gauge(MetricReconcileSuccess, metric.WithUnit("s"),
		metric.WithDescription("When the account's last reconciliation sweep completed, Unix seconds."))
	errs = append(errs, err)
	m.ledger, err = m.meter.Int64ObservableGauge(MetricLedgerEntries, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries in the command idempotency ledger."))
	errs = append(errs, err)
	m.lag, err = m.meter.Int64ObservableGauge(MetricConsumerLag, metric.WithUnit("{message}"),
		metric.WithDescription("Messages behind the partition's high watermark, by topic and partition."))
	errs = append(errs, err)
	m.buildInfo, err = m.meter.Int64ObservableGauge(MetricBuildInfo,
		metric.WithDescription("Always 1; its labels name the running build: version, commit and go_version."))
	errs = append(errs, err)
	m.refusals = counter(MetricWebhookRefusals, "{webhook}",
		"Webhooks answered 503 at once because CALLBRIDGE_WEBHOOK_MAX_INFLIGHT webhooks were waiting for Kafka, by account.")
	m.inflight, err = m.meter.Int64ObservableGauge(MetricWebhooksInflight, metric.WithUnit("{webhook}"),
		metric.WithDescription("Webhooks held (body and records) while their records wait for Kafka's acknowledgement."))
	errs = append(errs, err)
	m.connections, err = m.meter.Int64ObservableGauge(MetricHTTPConnections, metric.WithUnit("{connection}"),
		metric.WithDescription("HTTP connections open on the server (bounded by CALLBRIDGE_HTTP_MAX_CONNS)."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Webhook counts one received webhook; outcome is a short code such as
// "published", "dlq", "unauthorized", "unknown_account", "kafka_unavailable".
func (m *Metrics) Webhook(ctx context.Context, account, typ, outcome string) {
	if m == nil {
		return
	}
	m.webhooks.Add(ctx, 1, m.attrs(attrKey{lblAccount, account, lblType, typ, lblOutcome, outcome}).add...)
}

// PublishLatency records how long Kafka took to acknowledge a record on topic.
func (m *Metrics) PublishLatency(ctx context.Context, topic string, d time.Duration) {
	if m == nil {
		return
	}
	m.publish.Record(ctx, d.Seconds(), m.attrs(attrKey{lblTopic, topic}).rec...)
}

// Command counts one handled command; outcome is "succeeded", "failed",
// "duplicate" or similar.
func (m *Metrics) Command(ctx context.Context, typ, account, outcome string) {
	if m == nil {
		return
	}
	m.commands.Add(ctx, 1, m.attrs(attrKey{lblType, typ, lblAccount, account, lblOutcome, outcome}).add...)
}

// ServerRequest describes one served HTTP request for [Metrics.ServerRequest].
// Its values become the attributes of http.server.request.duration, so each
// must have few distinct values: the route template, never the path; an
// account name only once it is known to be configured.
type ServerRequest struct {
	Method  string // as received; anything but a standard method is recorded as _OTHER
	Route   string // the matched route template, e.g. WebhookRoute
	Scheme  string // "http" or "https"
	Status  int    // the response status code
	Account string // the configured account; empty: none
}

func (r ServerRequest) attributes() []attribute.KeyValue {
	kvs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(methodName(r.Method)),
		semconv.HTTPResponseStatusCode(r.Status),
		semconv.HTTPRoute(r.Route),
		semconv.URLScheme(r.Scheme),
	}
	if r.Account != "" {
		kvs = append(kvs, AttrAccount.String(r.Account))
	}
	if r.Status >= 500 { // a server's errors are its 5xx answers
		kvs = append(kvs, semconv.ErrorTypeKey.String(strconv.Itoa(r.Status)))
	}
	return kvs
}

// ServerRequest records the duration of one served HTTP request (a webhook)
// on http.server.request.duration.
func (m *Metrics) ServerRequest(ctx context.Context, r ServerRequest, d time.Duration) {
	if m == nil {
		return
	}
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	if method := methodName(r.Method); method == "_OTHER" {
		r.Method = method // one cache entry for every unknown method
	}
	m.server.Record(ctx, d.Seconds(), m.serverSets.get(r).rec...)
}

// ClientRequest describes one vendor HTTP request for [Metrics.ClientRequest].
type ClientRequest struct {
	Vendor   string
	Endpoint string // the URL path (vendor API paths carry no ids)
	Method   string
	Host     string // server.address
	Port     int    // server.port
	Status   int    // the response status code; 0 when no response came
	// ErrorType is error.type: empty on success, the status code for a 4xx or 5xx
	// answer, "timeout", or the error's type when no response came.
	ErrorType string
}

func (r ClientRequest) attributes() []attribute.KeyValue {
	kvs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(methodName(r.Method)),
		AttrVendor.String(r.Vendor),
		AttrEndpoint.String(r.Endpoint),
	}
	if r.Host != "" {
		kvs = append(kvs, semconv.ServerAddress(r.Host), semconv.ServerPort(r.Port))
	}
	if r.Status > 0 {
		kvs = append(kvs, semconv.HTTPResponseStatusCode(r.Status))
	}
	if r.ErrorType != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(r.ErrorType))
	}
	return kvs
}

// ClientRequest records one vendor HTTP request on http.client.request.duration.
// Transport calls it.
func (m *Metrics) ClientRequest(ctx context.Context, r ClientRequest, d time.Duration) {
	if m == nil {
		return
	}
	if method := methodName(r.Method); method == "_OTHER" {
		r.Method = method
	}
	m.client.Record(ctx, d.Seconds(), m.clientSets.get(r).rec...)
}

// VendorRetry counts one retry of a vendor call. The retry loop calls it
// (Transport cannot tell a retry from a new call on its own).
func (m *Metrics) VendorRetry(ctx context.Context, vendor, endpoint string) {
	if m == nil {
		return
	}
	m.vendorRetries.Add(ctx, 1, m.attrs(attrKey{lblVendor, vendor, lblEndpoint, endpoint}).add...)
}

// DLQWrite counts one record written to the dead-letter topic; reason is a
// short code, not a free-form error message.
func (m *Metrics) DLQWrite(ctx context.Context, reason string) {
	if m == nil {
		return
	}
	m.dlqWrites.Add(ctx, 1, m.attrs(attrKey{lblReason, reason}).add...)
}

// ProducerError counts one failed Kafka produce to topic.
func (m *Metrics) ProducerError(ctx context.Context, topic string) {
	if m == nil {
		return
	}
	m.producerErrors.Add(ctx, 1, m.attrs(attrKey{lblTopic, topic}).add...)
}

// Reconciled counts n finished calls a reconciliation sweep of account read back;
// outcome is "published" (its webhook never arrived; now published) or
// "already_published".
func (m *Metrics) Reconciled(ctx context.Context, account, outcome string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.reconciled.Add(ctx, int64(n), m.attrs(attrKey{lblAccount, account, lblOutcome, outcome}).add...)
}

// ReconcileSucceeded records when account's last reconciliation sweep completed.
func (m *Metrics) ReconcileSucceeded(ctx context.Context, account string, at time.Time) {
	if m == nil {
		return
	}
	m.reconcileOK.Record(ctx, float64(at.UnixNano())/1e9, m.attrs(attrKey{lblAccount, account}).rec...)
}

// ObserveLedgerSize makes f the source of callbridge_ledger_entries; f runs
// on every scrape, so it must be cheap and goroutine-safe. The returned
// function unregisters it.
func (m *Metrics) ObserveLedgerSize(f func() int64) (unregister func()) {
	if m == nil {
		return func() {}
	}
	return m.observe(m.ledger, f)
}

// observe makes f the source of gauge's one series; f runs on every scrape.
func (m *Metrics) observe(gauge metric.Int64ObservableGauge, f func() int64) (unregister func()) {
	if f == nil {
		return func() {}
	}
	return m.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(gauge, f())
		return nil
	}, gauge)
}

// ObserveConsumerLag makes f the source of callbridge_consumer_lag, one
// series per returned partition; f runs on every scrape. The returned
// function unregisters it.
func (m *Metrics) ObserveConsumerLag(f func() []PartitionLag) (unregister func()) {
	if m == nil || f == nil {
		return func() {}
	}
	return m.register(func(_ context.Context, o metric.Observer) error {
		for _, p := range f() {
			o.ObserveInt64(m.lag, p.Lag, metric.WithAttributes(
				attribute.String(lblTopic, p.Topic), attribute.Int(lblPartition, p.Partition)))
		}
		return nil
	}, m.lag)
}

// ObserveBuildInfo reports callbridge_build_info = 1 with the version, commit
// and Go version of the running binary. An empty version or commit is read
// from the module's build information (go install stamps both), else "dev" and
// "unknown". Setup calls it; the returned function unregisters it.
func (m *Metrics) ObserveBuildInfo(version, commit string) (unregister func()) {
	if m == nil {
		return func() {}
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	set := metric.WithAttributeSet(attribute.NewSet(
		attribute.String(lblVersion, version), attribute.String(lblCommit, commit),
		attribute.String(lblGoVersion, runtime.Version())))
	return m.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(m.buildInfo, 1, set)
		return nil
	}, m.buildInfo)
}

func (m *Metrics) register(cb metric.Callback, inst metric.Observable) func() {
	reg, err := m.meter.RegisterCallback(cb, inst)
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
