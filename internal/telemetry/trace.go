package telemetry

import (
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attributes callbridge adds beside the semantic-convention ones,
// namespaced as OpenTelemetry recommends for custom attributes.
const (
	AttrAccount  = attribute.Key("callbridge.account")
	AttrVendor   = attribute.Key("callbridge.vendor")
	AttrEndpoint = attribute.Key("callbridge.endpoint")
	AttrAttempt  = attribute.Key("callbridge.attempt")
)

// CloudEvents distributed tracing extension attribute names.
const (
	ExtTraceParent = "traceparent"
	ExtTraceState  = "tracestate"
)

// WebhookRoute is the http.route of the inbound webhook endpoint.
const WebhookRoute = "/webhooks/{account}"

// traceContext is used directly (not the global propagator) for events and
// vendor requests, so the CloudEvent extension is written even before Setup
// and never carries baggage to a vendor.
var traceContext = propagation.TraceContext{}

// tracer resolves the global provider on every call so that Setup (or a
// test's provider) installed after package init is honoured.
func tracer() trace.Tracer { return otel.Tracer(ScopeName) }

// recordingTracer returns the tracer and whether its spans record attributes: not
// without an exporter (see idTracerProvider), when building them is wasted work.
func recordingTracer() (trace.Tracer, bool) {
	t := tracer()
	_, ids := t.(idTracer)
	return t, !ids
}

// StartWebhookSpan starts the server span of one vendor webhook, named
// "POST /webhooks/{account}". The endpoint is public, so a traceparent sent by
// the caller becomes a link rather than the parent. The query string (which
// may hold the webhook token) and headers are never recorded. End it with EndHTTP.
func StartWebhookSpan(ctx context.Context, r *http.Request, account string) (context.Context, trace.Span) {
	tr := tracer()
	if it, ok := tr.(idTracer); ok {
		// What it.Start does, without reading options it knows.
		ctx = trace.ContextWithSpanContext(ctx, it.spanContext(trace.SpanContextFromContext(ctx)))
		return ctx, trace.SpanFromContext(ctx)
	}
	method, methodAttrs := httpMethod(r.Method)
	// Room for every attribute below at once: growing the slice step by step was
	// most of this function's cost.
	attrs := make([]attribute.KeyValue, 0, 14)
	attrs = append(attrs, methodAttrs...)
	attrs = append(attrs,
		semconv.HTTPRoute(WebhookRoute),
		semconv.URLPath(r.URL.Path),
		AttrAccount.String(account),
	)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs = append(attrs, semconv.URLScheme(scheme))
	if host, port := splitHostPort(r.Host); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if host, port := splitHostPort(r.RemoteAddr); host != "" {
		attrs = append(attrs, semconv.ClientAddress(host), semconv.NetworkPeerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(port))
		}
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	if r.ProtoMajor > 0 {
		attrs = append(attrs, semconv.NetworkProtocolVersion(protocolVersion(r.ProtoMajor, r.ProtoMinor)))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...)}
	remote := trace.SpanContextFromContext(traceContext.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
	if remote.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}))
	}
	var name string
	switch method {
	case http.MethodPost:
		name = http.MethodPost + " " + WebhookRoute // a constant: webhooks are POSTed
	case "_OTHER":
		name = "HTTP " + WebhookRoute
	default:
		name = method + " " + WebhookRoute
	}
	return tr.Start(ctx, name, opts...)
}

// protocolVersion is network.protocol.version: "1.1", "2".
func protocolVersion(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 1 && minor == 0:
		return "1.0"
	case major == 2:
		return "2"
	case major == 1:
		return "1." + strconv.Itoa(minor)
	}
	return strconv.Itoa(major)
}

// EndHTTP records the response status on a server span and ends it; 5xx
// marks the span as failed (4xx is the client's fault, per the HTTP conventions).
func EndHTTP(span trace.Span, status int) {
	if !span.IsRecording() {
		// Nothing to record (the attributes would still cost an allocation each).
		span.End()
		return
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// End records err (if any) on span and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// MessagingOption adds optional messaging attributes to a span.
type MessagingOption func(*[]attribute.KeyValue)

// ConsumerGroup sets messaging.consumer.group.name.
func ConsumerGroup(name string) MessagingOption {
	return func(a *[]attribute.KeyValue) {
		if name != "" {
			*a = append(*a, semconv.MessagingConsumerGroupName(name))
		}
	}
}

// Partition sets messaging.destination.partition.id (for producer spans,
// when the partition is known before sending).
func Partition(p int) MessagingOption {
	return func(a *[]attribute.KeyValue) {
		*a = append(*a, semconv.MessagingDestinationPartitionID(strconv.Itoa(p)))
	}
}

// StartProducerSpan starts the "send {topic}" producer span for one record and
// injects its context into ev's traceparent/tracestate extensions, so the
// event carries the trace to its consumers. ev may be nil (a raw DLQ record).
func StartProducerSpan(ctx context.Context, topic string, ev *cloudevents.Event, opts ...MessagingOption) (context.Context, trace.Span) {
	tr, recording := recordingTracer()
	var span trace.Span
	if recording {
		attrs := messagingAttrs(topic, semconv.MessagingOperationTypeSend, "send", ev, len(opts))
		for _, o := range opts {
			o(&attrs)
		}
		ctx, span = tr.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	} else {
		ctx, span = tr.Start(ctx, "send", trace.WithSpanKind(trace.SpanKindProducer))
	}
	InjectEvent(ctx, ev)
	return ctx, span
}

// StartConsumerSpan starts the "process {topic}" consumer span for one
// record. Its parent is the trace in ev's traceparent/tracestate when present
// (so a command's processing continues the platform's trace), else ctx's span.
func StartConsumerSpan(ctx context.Context, topic string, partition int, offset int64, ev *cloudevents.Event, opts ...MessagingOption) (context.Context, trace.Span) {
	attrs := messagingAttrs(topic, semconv.MessagingOperationTypeProcess, "process", ev, 2+len(opts))
	attrs = append(attrs,
		semconv.MessagingDestinationPartitionID(strconv.Itoa(partition)),
		semconv.MessagingKafkaOffset(int(offset)),
	)
	for _, o := range opts {
		o(&attrs)
	}
	if ev != nil {
		ctx = ExtractEvent(ctx, *ev)
	}
	return tracer().Start(ctx, "process "+topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// messagingAttrs returns the attributes every messaging span has, with room for
// extra more (one allocation for the lot).
func messagingAttrs(topic string, op attribute.KeyValue, opName string, ev *cloudevents.Event, extra int) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8+extra)
	attrs = append(attrs,
		semconv.MessagingSystemKafka,
		op,
		semconv.MessagingOperationName(opName),
		semconv.MessagingDestinationName(topic),
	)
	if ev != nil {
		attrs = appendEventAttrs(attrs, ev.ID(), ev.Type(), extString(*ev, "partitionkey"))
	}
	return attrs
}

// appendEventAttrs appends the attributes of an event's id, type and partition key.
func appendEventAttrs(attrs []attribute.KeyValue, id, typ, key string) []attribute.KeyValue {
	if id != "" {
		attrs = append(attrs, semconv.MessagingMessageID(id), semconv.CloudEventsEventID(id))
	}
	if typ != "" {
		attrs = append(attrs, semconv.CloudEventsEventType(typ))
	}
	if key != "" {
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(key))
	}
	return attrs
}

// StartRecordSpan starts the span StartProducerSpan starts for an event with this
// id, type and partition key, for a producer that writes the record itself: it
// returns the span context StartProducerSpan would inject into the event (not
// valid: none; see AppendTraceParent). The span is nil when nothing would record it
// (no exporter): there is then nothing to end, and no context is built.
func StartRecordSpan(ctx context.Context, topic, id, typ, key string) (trace.Span, trace.SpanContext) {
	tr := tracer()
	if it, ok := tr.(idTracer); ok {
		return nil, it.spanContext(trace.SpanContextFromContext(ctx))
	}
	attrs := messagingAttrs(topic, semconv.MessagingOperationTypeSend, "send", nil, 0)
	attrs = appendEventAttrs(attrs, id, typ, key)
	_, span := tr.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	return span, span.SpanContext()
}

// TraceParentLen is the length of a traceparent AppendTraceParent appends.
const TraceParentLen = 55

// AppendTraceParent appends the traceparent the W3C propagator writes for sc, which
// must be valid; its tracestate is sc.TraceState().String(), when not empty.
func AppendTraceParent(dst []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	// Only the flags the propagator keeps: sampled and random.
	flags := sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom)
	dst = append(dst, "00-"...)
	dst = hex.AppendEncode(dst, tid[:])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, sid[:])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, []byte{byte(flags)})
}

// InjectEvent writes ctx's span context into ev as the CloudEvents
// distributed tracing extension (traceparent, and tracestate when non-empty;
// a stale tracestate is removed). Without a valid span in ctx, ev is unchanged.
func InjectEvent(ctx context.Context, ev *cloudevents.Event) {
	// Inject writes nothing for an invalid span context: skip the carrier.
	if ev == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	var c eventCarrier
	traceContext.Inject(ctx, &c)
	tp := c.traceparent
	if tp == "" {
		return
	}
	ev.SetExtension(ExtTraceParent, tp)
	if ts := c.tracestate; ts != "" {
		ev.SetExtension(ExtTraceState, ts)
	} else {
		ev.SetExtension(ExtTraceState, nil) // nil deletes
	}
}

// ExtractEvent returns ctx carrying the remote span context found in ev's
// traceparent/tracestate extensions, or ctx unchanged when there is none or
// it is malformed.
func ExtractEvent(ctx context.Context, ev cloudevents.Event) context.Context {
	tp := extString(ev, ExtTraceParent)
	if tp == "" {
		return ctx
	}
	c := propagation.MapCarrier{ExtTraceParent: tp}
	if ts := extString(ev, ExtTraceState); ts != "" {
		c[ExtTraceState] = ts
	}
	return traceContext.Extract(ctx, c)
}

// eventCarrier receives what the trace context propagator injects, without the
// map a propagation.MapCarrier allocates.
type eventCarrier struct{ traceparent, tracestate string }

func (c *eventCarrier) Get(key string) string {
	switch key {
	case ExtTraceParent:
		return c.traceparent
	case ExtTraceState:
		return c.tracestate
	}
	return ""
}

func (c *eventCarrier) Set(key, value string) {
	switch key {
	case ExtTraceParent:
		c.traceparent = value
	case ExtTraceState:
		c.tracestate = value
	}
}

func (c *eventCarrier) Keys() []string { return []string{ExtTraceParent, ExtTraceState} }

func extString(ev cloudevents.Event, name string) string {
	var v any
	var ok bool
	if ec, isV1 := ev.Context.(*event.EventContextV1); isV1 {
		// What ev.Extensions() holds, without copying the map.
		v, ok = ec.Extensions[name]
	} else {
		v, ok = ev.Extensions()[name]
	}
	if !ok {
		return ""
	}
	s, err := types.ToString(v)
	if err != nil {
		return ""
	}
	return s
}

// httpMethod returns the semconv method value and attributes: unknown methods
// become "_OTHER" with the original kept, to bound cardinality.
func httpMethod(m string) (string, []attribute.KeyValue) {
	switch m {
	case "":
		m = http.MethodGet
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		return "_OTHER", []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("_OTHER"), semconv.HTTPRequestMethodOriginal(m)}
	}
	return m, []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(m)}
}

// methodName is httpMethod's method alone, without allocating its attributes.
func methodName(m string) string {
	switch m {
	case "":
		return http.MethodGet
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

func splitHostPort(hp string) (string, int) {
	if hp == "" {
		return "", 0
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return strings.Trim(hp, "[]"), 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}
