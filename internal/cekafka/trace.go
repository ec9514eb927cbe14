package cekafka

import "github.com/segmentio/kafka-go"

// Plain W3C Trace Context headers, as OpenTelemetry's Kafka instrumentations write
// and read them. The CloudEvents distributed tracing extension travels in
// ce_traceparent/ce_tracestate; a record written with AddTraceHeaders carries both.
const (
	TraceParentHeader = "traceparent"
	TraceStateHeader  = "tracestate"
)

// AddTraceHeaders repeats a binary-mode record's ce_traceparent and ce_tracestate
// as the plain traceparent and tracestate headers, so that consumers instrumented
// with OpenTelemetry continue the event's trace without knowing CloudEvents. Plain
// trace headers m already had are replaced, so the two forms never disagree (a
// stale plain tracestate goes when there is no ce_tracestate). A record without
// ce_traceparent (structured mode, or an event without trace context) is left
// as it is. The new headers share their values with the ce_ ones.
//
// The CloudEvents binding itself (ToKafka, BinaryMessage) writes only what the
// CloudEvents Kafka binding prescribes, as sdk-go's kafka_sarama does; producers
// of the bridge's events call this on each record.
func AddTraceHeaders(m *kafka.Message) {
	var tp, ts []byte
	for _, h := range m.Headers {
		switch h.Key {
		case prefix + TraceParentHeader:
			tp = h.Value
		case prefix + TraceStateHeader:
			ts = h.Value
		}
	}
	if len(tp) == 0 {
		return
	}
	hs := m.Headers[:0:0]
	if n := len(m.Headers); cap(m.Headers) >= n+2 {
		hs = m.Headers[:0] // room for the two headers: filter in place
	} else {
		hs = make([]kafka.Header, 0, n+2)
	}
	for _, h := range m.Headers {
		if h.Key != TraceParentHeader && h.Key != TraceStateHeader {
			hs = append(hs, h)
		}
	}
	hs = append(hs, kafka.Header{Key: TraceParentHeader, Value: tp})
	if len(ts) > 0 {
		hs = append(hs, kafka.Header{Key: TraceStateHeader, Value: ts})
	}
	m.Headers = hs
}
