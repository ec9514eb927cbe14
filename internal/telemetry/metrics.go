package telemetry

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metric names as they appear on /metrics. Counters and histograms appear only
// after their first recording (OpenTelemetry exports no series without
// attributes); the gauges appear once an Observe* callback is registered.
// The Go runtime and process collectors are always present.
const (
	MetricWebhooks          = "callbridge_webhooks_total"                  // {account, type, outcome}
	MetricPublishDuration   = "callbridge_publish_duration_seconds"        // {topic}
	MetricCommands          = "callbridge_commands_total"                  // {type, account, outcome}
	MetricVendorDuration    = "callbridge_vendor_request_duration_seconds" // {vendor, endpoint, status}
	MetricVendorRetries     = "callbridge_vendor_retries_total"            // {vendor, endpoint}
	MetricLedgerEntries     = "callbridge_ledger_entries"                  // gauge
	MetricDLQWrites         = "callbridge_dlq_writes_total"                // {reason}
	MetricConsumerLag       = "callbridge_consumer_lag"                    // gauge {topic, partition}
	MetricKafkaProducerErrs = "callbridge_kafka_producer_errors_total"     // {topic}
)

// MetricNames lists every callbridge metric name.
var MetricNames = []string{
	MetricWebhooks, MetricPublishDuration, MetricCommands, MetricVendorDuration, MetricVendorRetries,
	MetricLedgerEntries, MetricDLQWrites, MetricConsumerLag, MetricKafkaProducerErrs,
}

// Label names; unexported so only the typed methods below can set them.
const (
	lblAccount   = "account"
	lblType      = "type"
	lblOutcome   = "outcome"
	lblTopic     = "topic"
	lblVendor    = "vendor"
	lblEndpoint  = "endpoint"
	lblStatus    = "status"
	lblReason    = "reason"
	lblPartition = "partition"
)

// latencyBuckets (seconds) span a fast local Kafka ack up to the 10 s produce
// timeout and slow vendor calls; the SDK default buckets are millisecond-scaled.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

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
	publish        metric.Float64Histogram
	commands       metric.Int64Counter
	vendorDuration metric.Float64Histogram
	vendorRetries  metric.Int64Counter
	dlqWrites      metric.Int64Counter
	producerErrors metric.Int64Counter
	ledger         metric.Int64ObservableGauge
	lag            metric.Int64ObservableGauge

	// sets caches the attribute options of label values seen before: they are few,
	// and building a set on every measurement sorts and allocates.
	setsMu sync.RWMutex
	sets   map[attrKey]metric.MeasurementOption
}

// attrKey is up to three label name/value pairs; unused pairs are empty.
type attrKey [6]string

// maxAttrSets bounds the cache should label values turn out not to be few.
const maxAttrSets = 4096

func (m *Metrics) attrs(k attrKey) metric.MeasurementOption {
	m.setsMu.RLock()
	opt, ok := m.sets[k]
	m.setsMu.RUnlock()
	if ok {
		return opt
	}
	kvs := make([]attribute.KeyValue, 0, 3)
	for i := 0; i < len(k); i += 2 {
		if k[i] != "" {
			kvs = append(kvs, attribute.String(k[i], k[i+1]))
		}
	}
	opt = metric.WithAttributeSet(attribute.NewSet(kvs...))
	m.setsMu.Lock()
	if m.sets == nil {
		m.sets = map[attrKey]metric.MeasurementOption{}
	}
	if len(m.sets) < maxAttrSets {
		m.sets[k] = opt
	}
	m.setsMu.Unlock()
	return opt
}

// NewMetrics creates the instruments on mp (Setup does this; tests of other
// packages may pass an sdkmetric provider with a ManualReader).
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	m := &Metrics{meter: mp.Meter(ScopeName)}
	var err error
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, e := m.meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, e)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, e := m.meter.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(latencyBuckets...))
		errs = append(errs, e)
		return h
	}
	m.webhooks = counter(MetricWebhooks, "{webhook}", "Vendor webhooks received, by account, type and outcome.")
	m.publish = histogram(MetricPublishDuration, "Time until Kafka acknowledged a produced record, by topic.")
	m.commands = counter(MetricCommands, "{command}", "Commands handled, by type, account and outcome.")
	m.vendorDuration = histogram(MetricVendorDuration, "Vendor HTTP call latency, by vendor, endpoint and status (HTTP code, or error/timeout).")
	m.vendorRetries = counter(MetricVendorRetries, "{retry}", "Vendor HTTP calls retried, by vendor and endpoint.")
	m.dlqWrites = counter(MetricDLQWrites, "{record}", "Records written to the dead-letter topic, by reason.")
	m.producerErrors = counter(MetricKafkaProducerErrs, "{error}", "Kafka produce failures, by topic.")
	m.ledger, err = m.meter.Int64ObservableGauge(MetricLedgerEntries, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries in the command idempotency ledger."))
	errs = append(errs, err)
	m.lag, err = m.meter.Int64ObservableGauge(MetricConsumerLag, metric.WithUnit("{message}"),
		metric.WithDescription("Messages behind the partition's high watermark, by topic and partition."))
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
	m.webhooks.Add(ctx, 1, m.attrs(attrKey{lblAccount, account, lblType, typ, lblOutcome, outcome}))
}

// PublishLatency records how long Kafka took to acknowledge a record on topic.
func (m *Metrics) PublishLatency(ctx context.Context, topic string, d time.Duration) {
	if m == nil {
		return
	}
	m.publish.Record(ctx, d.Seconds(), m.attrs(attrKey{lblTopic, topic}))
}

// Command counts one handled command; outcome is "succeeded", "failed",
// "duplicate" or similar.
func (m *Metrics) Command(ctx context.Context, typ, account, outcome string) {
	if m == nil {
		return
	}
	m.commands.Add(ctx, 1, m.attrs(attrKey{lblType, typ, lblAccount, account, lblOutcome, outcome}))
}

// VendorCall records one vendor HTTP request; status is the HTTP code
// ("200") or "error"/"timeout" when no response came. Transport calls it.
func (m *Metrics) VendorCall(ctx context.Context, vendor, endpoint, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.vendorDuration.Record(ctx, d.Seconds(), m.attrs(attrKey{lblVendor, vendor, lblEndpoint, endpoint, lblStatus, status}))
}

// VendorRetry counts one retry of a vendor call. The retry loop calls it
// (Transport cannot tell a retry from a new call on its own).
func (m *Metrics) VendorRetry(ctx context.Context, vendor, endpoint string) {
	if m == nil {
		return
	}
	m.vendorRetries.Add(ctx, 1, m.attrs(attrKey{lblVendor, vendor, lblEndpoint, endpoint}))
}

// DLQWrite counts one record written to the dead-letter topic; reason is a
// short code, not a free-form error message.
func (m *Metrics) DLQWrite(ctx context.Context, reason string) {
	if m == nil {
		return
	}
	m.dlqWrites.Add(ctx, 1, m.attrs(attrKey{lblReason, reason}))
}

// ProducerError counts one failed Kafka produce to topic.
func (m *Metrics) ProducerError(ctx context.Context, topic string) {
	if m == nil {
		return
	}
	m.producerErrors.Add(ctx, 1, m.attrs(attrKey{lblTopic, topic}))
}

// ObserveLedgerSize makes f the source of callbridge_ledger_entries; f runs
// on every scrape, so it must be cheap and goroutine-safe. The returned
// function unregisters it.
func (m *Metrics) ObserveLedgerSize(f func() int64) (unregister func()) {
	if m == nil || f == nil {
		return func() {}
	}
	return m.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(m.ledger, f())
		return nil
	}, m.ledger)
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

func (m *Metrics) register(cb metric.Callback, inst metric.Observable) func() {
	reg, err := m.meter.RegisterCallback(cb, inst)
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
