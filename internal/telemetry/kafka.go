package telemetry

import (
	"context"
	"strings"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ExtractKafkaHeaders returns ctx carrying the remote span context of a record's
// plain W3C traceparent (and tracestate) headers, the way OpenTelemetry's Kafka
// instrumentations write them, or ctx unchanged when there is none or it is
// malformed. Header names match case-insensitively and, when one repeats, the last
// wins (as the CloudEvents binding reads ce_ headers).
//
// Call it before StartConsumerSpan: the CloudEvents traceparent extension
// (ce_traceparent, or traceparent in a structured event) that StartConsumerSpan
// reads then wins when a record carries both, and the plain headers serve when the
// event has none (or a malformed one).
func ExtractKafkaHeaders(ctx context.Context, headers []kafka.Header) context.Context {
	var tp, ts []byte
	for _, h := range headers {
		switch {
		case strings.EqualFold(h.Key, ExtTraceParent):
			tp = h.Value
		case strings.EqualFold(h.Key, ExtTraceState):
			ts = h.Value
		}
	}
	if len(tp) == 0 {
		return ctx
	}
	c := propagation.MapCarrier{ExtTraceParent: string(tp)}
	if len(ts) > 0 {
		c[ExtTraceState] = string(ts)
	}
	if sc := trace.SpanContextFromContext(traceContext.Extract(context.Background(), c)); sc.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}
