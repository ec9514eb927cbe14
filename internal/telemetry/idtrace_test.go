package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestIDTracerGivesIDsWithoutRecording(t *testing.T) {
	tr := idTracerProvider{}.Tracer(ScopeName)
	rootCtx, root := tr.Start(context.Background(), "root")
	rsc := root.SpanContext()
	if !rsc.IsValid() || !rsc.IsSampled() || root.IsRecording() {
		t.Fatalf("root span context %v sampled %v recording %v: want valid, sampled, not recording", rsc, rsc.IsSampled(), root.IsRecording())
	}
	if !trace.SpanContextFromContext(rootCtx).Equal(rsc) {
		t.Fatal("the context does not carry the new span")
	}
	_, child := tr.Start(rootCtx, "child")
	csc := child.SpanContext()
	if csc.TraceID() != rsc.TraceID() || csc.SpanID() == rsc.SpanID() || !csc.SpanID().IsValid() {
		t.Errorf("child %v of %v: want the same trace and a new span id", csc, rsc)
	}
	_, other := tr.Start(context.Background(), "other")
	if other.SpanContext().TraceID() == rsc.TraceID() {
		t.Error("two roots share a trace id")
	}
	_, fresh := tr.Start(rootCtx, "fresh", trace.WithNewRoot())
	if fresh.SpanContext().TraceID() == rsc.TraceID() {
		t.Error("WithNewRoot kept the parent's trace")
	}

	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rsc.TraceID(), SpanID: rsc.SpanID()})
	_, s := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), unsampled), "s")
	if s.SpanContext().IsSampled() {
		t.Error("an unsampled parent's child is sampled")
	}
}

func TestSetupWithoutExporterUsesIDTracer(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := Setup(context.Background(), Options{LogWriter: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	_, span := tel.Tracer().Start(context.Background(), "x")
	if !span.SpanContext().IsValid() || span.IsRecording() {
		t.Errorf("span context %v recording %v: want ids and no recording", span.SpanContext(), span.IsRecording())
	}
}
