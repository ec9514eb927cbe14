package telemetry

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// idTracerProvider serves when no span exporter is configured. Its spans record
// nothing, since nothing would read what they recorded, but each has a fresh span
// id in its parent's trace (or a new trace), so traceparent propagation to events
// and vendors and the trace_id/span_id of logs work as with recording spans.
//
// Sampling flags follow the parent; a new trace is sampled, as under the SDK's
// default parentbased_always_on, so that consumers of the events downstream may
// record it.
type idTracerProvider struct{ embedded.TracerProvider }

func (idTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return idTracer{} }

type idTracer struct{ embedded.Tracer }

func (t idTracer) Start(ctx context.Context, _ string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanContextFromContext(ctx)
	if len(opts) > 0 {
		if cfg := trace.NewSpanStartConfig(opts...); cfg.NewRoot() {
			parent = trace.SpanContext{}
		}
	}
	// A context's span context is carried by a non-recording span: exactly this span.
	ctx = trace.ContextWithSpanContext(ctx, t.spanContext(parent))
	return ctx, trace.SpanFromContext(ctx)
}

// spanContext is the span context of a new span under parent (none: invalid).
func (idTracer) spanContext(parent trace.SpanContext) trace.SpanContext {
	scc := trace.SpanContextConfig{TraceFlags: trace.FlagsSampled}
	if parent.IsValid() {
		scc = trace.SpanContextConfig{TraceID: parent.TraceID(), TraceFlags: parent.TraceFlags(), TraceState: parent.TraceState()}
	} else {
		for !scc.TraceID.IsValid() {
			binary.BigEndian.PutUint64(scc.TraceID[:8], rand.Uint64())
			binary.BigEndian.PutUint64(scc.TraceID[8:], rand.Uint64())
		}
	}
	for !scc.SpanID.IsValid() {
		binary.BigEndian.PutUint64(scc.SpanID[:], rand.Uint64())
	}
	return trace.NewSpanContext(scc)
}
