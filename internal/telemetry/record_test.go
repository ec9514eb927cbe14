package telemetry

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// AppendTraceParent writes what the W3C propagator injects, whatever the flags.
func TestAppendTraceParentMatchesPropagator(t *testing.T) {
	ts, err := trace.ParseTraceState("congo=t61rcWkgMzE")
	if err != nil {
		t.Fatal(err)
	}
	for f := range 256 {
		sc := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(f)},
			SpanID:  trace.SpanID{0xfe, 1, 2, 3, 4, 5, 6, byte(f)}, TraceFlags: trace.TraceFlags(f), TraceState: ts,
		})
		c := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
		if got := string(AppendTraceParent([]byte("x"), sc)); got != "x"+c["traceparent"] || len(got) != 1+TraceParentLen {
			t.Fatalf("flags %#x: %q, want x%q", f, got, c["traceparent"])
		}
	}
}

// Without an exporter StartRecordSpan builds no span, and gives the record the
// trace context a producer span would have.
func TestStartRecordSpanWithIDTracer(t *testing.T) {
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(idTracerProvider{})
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	ts, err := trace.ParseTraceState("rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	for _, ctx := range []context.Context{
		context.Background(),
		trace.ContextWithRemoteSpanContext(context.Background(), parent),
		trace.ContextWithRemoteSpanContext(context.Background(), parent.WithTraceFlags(0).WithTraceState(trace.TraceState{})),
	} {
		span, sc := StartRecordSpan(ctx, "call.finished", "id", "type", "key")
		if span != nil {
			t.Fatal("a span without an exporter")
		}
		ev := newEvent(t, "id", "key")
		_, prod := StartProducerSpan(ctx, "call.finished", ev)
		want := prod.SpanContext()
		if !sc.IsValid() || sc.SpanID() == want.SpanID() {
			t.Fatalf("span context %v: want valid and a fresh span id", sc)
		}
		if p := trace.SpanContextFromContext(ctx); p.IsValid() && sc.TraceID() != p.TraceID() {
			t.Fatalf("trace %v, want the parent's %v", sc.TraceID(), p.TraceID())
		}
		if sc.TraceFlags() != want.TraceFlags() || sc.TraceState().String() != want.TraceState().String() || sc.IsRemote() {
			t.Fatalf("span context %v, want flags and state of %v", sc, want)
		}
	}
}

// With an exporter StartRecordSpan records the span StartProducerSpan records.
func TestStartRecordSpanMatchesProducerSpan(t *testing.T) {
	_, exp, _ := setupTest(t, "info")
	for _, key := range []string{"", "task-42"} {
		exp.Reset()
		ev := newEvent(t, "ev-1", key)
		_, prod := StartProducerSpan(context.Background(), "call.finished", ev)
		prod.End()
		span, sc := StartRecordSpan(context.Background(), "call.finished", "ev-1", "callbridge.call.finished", key)
		if span == nil || !sc.Equal(span.SpanContext()) {
			t.Fatalf("span %v, context %v: want the span and its context", span, sc)
		}
		span.End()
		spans := exp.GetSpans()
		if len(spans) != 2 {
			t.Fatalf("%d spans", len(spans))
		}
		a, b := spans[0], spans[1]
		if a.Name != b.Name || a.SpanKind != b.SpanKind || !reflect.DeepEqual(attrMap(a.Attributes), attrMap(b.Attributes)) {
			t.Fatalf("record span %s %v %v, want %s %v %v", b.Name, b.SpanKind, attrMap(b.Attributes), a.Name, a.SpanKind, attrMap(a.Attributes))
		}
	}
}
