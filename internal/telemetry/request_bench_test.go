package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkWebhookTelemetry is what the inbound handler records per webhook, as set
// up in production without an OTLP endpoint: span ids but no exporter, Prometheus
// metrics.
func BenchmarkWebhookTelemetry(b *testing.B) {
	b.Setenv("OTEL_TRACES_EXPORTER", "")
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	b.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel, err := Setup(context.Background(), Options{LogWriter: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	r := httptest.NewRequest(http.MethodPost, "/webhooks/a?token=t", nil)
	m := tel.Meters()
	b.ReportAllocs()
	for b.Loop() {
		ctx, span := StartWebhookSpan(r.Context(), r, "a")
		EndHTTP(span, http.StatusOK)
		m.Webhook(ctx, "a", "call.finished", "published")
		m.ServerRequest(ctx, ServerRequest{Method: r.Method, Route: WebhookRoute, Scheme: "http", Status: http.StatusOK, Account: "a"}, time.Millisecond)
	}
}
