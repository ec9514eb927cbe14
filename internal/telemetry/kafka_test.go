package telemetry

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"
)

// TestConsumerSpanContinuesTheRecordsTrace: the trace context of a command record
// comes from ce_traceparent (the event's extension) or from the plain W3C headers
// OpenTelemetry's Kafka instrumentations write; the extension wins when both exist.
func TestConsumerSpanContinuesTheRecordsTrace(t *testing.T) {
	const (
		ceTP    = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		plainTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	)
	tests := []struct {
		name       string
		ext        map[string]string // the event's traceparent/tracestate extensions
		headers    []kafka.Header
		wantParent string // traceparent of the consumer span's parent; "" for a root span
		wantState  string
	}{
		{name: "ce_traceparent only", ext: map[string]string{"traceparent": ceTP}, wantParent: ceTP},
		{name: "traceparent only", headers: h("traceparent", plainTP), wantParent: plainTP},
		{name: "traceparent with tracestate", headers: h("traceparent", plainTP, "tracestate", "congo=t61rcWkgMzE"), wantParent: plainTP, wantState: "congo=t61rcWkgMzE"},
		{name: "header names in another case", headers: h("TraceParent", plainTP, "TRACESTATE", "a=1"), wantParent: plainTP, wantState: "a=1"},
		{name: "a repeated header: the last wins", headers: h("traceparent", ceTP, "traceparent", plainTP), wantParent: plainTP},
		{
			name: "both: ce_traceparent wins, with its own tracestate", ext: map[string]string{"traceparent": ceTP, "tracestate": "ce=1"},
			headers: h("traceparent", plainTP, "tracestate", "plain=1"), wantParent: ceTP, wantState: "ce=1",
		},
		{
			name: "both: the plain tracestate does not join ce_traceparent", ext: map[string]string{"traceparent": ceTP},
			headers: h("traceparent", plainTP, "tracestate", "plain=1"), wantParent: ceTP,
		},
		{name: "malformed ce_traceparent: the plain header serves", ext: map[string]string{"traceparent": "00-nothex-xyz-01"}, headers: h("traceparent", plainTP), wantParent: plainTP},
		{name: "malformed traceparent header: a new trace", headers: h("traceparent", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")},
		{name: "tracestate without traceparent: a new trace", headers: h("tracestate", "a=1")},
		{name: "none: a new trace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, exp, _ := setupTest(t, "info")
			ev := newEvent(t, "cmd-1", "k")
			for k, v := range tc.ext {
				ev.SetExtension(k, v)
			}
			ctx := context.Background()
			if tc.wantParent != "" {
				// The consumer's own context holds an unrelated span: the record's trace wins.
				var unrelated trace.Span
				ctx, unrelated = tracer().Start(ctx, "unrelated")
				defer unrelated.End()
			}
			ctx = ExtractKafkaHeaders(ctx, tc.headers)
			_, span := StartConsumerSpan(ctx, "task.create", 0, 1, roundTrip(t, ev))
			span.End()
			s := spanByName(t, exp, "process task.create")
			if tc.wantParent == "" {
				if s.Parent.IsValid() {
					t.Errorf("parent %v, want a root span", s.Parent)
				}
				return
			}
			got := "00-" + s.Parent.TraceID().String() + "-" + s.Parent.SpanID().String() + "-01"
			if got != tc.wantParent || !s.Parent.IsRemote() {
				t.Errorf("parent %s (remote %v), want remote %s", got, s.Parent.IsRemote(), tc.wantParent)
			}
			if st := s.SpanContext.TraceState().String(); st != tc.wantState {
				t.Errorf("tracestate %q, want %q", st, tc.wantState)
			}
		})
	}
}

func h(kv ...string) []kafka.Header {
	var hs []kafka.Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return hs
}
