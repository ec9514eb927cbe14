package telemetry_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/internal/telemetry/telemetrytest"
)

// BenchmarkWebhookTelemetry is what the inbound handler records per webhook, as set
// up in production without an OTLP endpoint: span ids but no exporter, Prometheus
// metrics.
func BenchmarkWebhookTelemetry(b *testing.B) {
	tel := telemetrytest.Production(b)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/a?token=t", nil)
	m := tel.Meters()
	b.ReportAllocs()
	for b.Loop() {
		ctx, span := telemetry.StartWebhookSpan(r.Context(), r, "a")
		telemetry.EndHTTP(span, http.StatusOK)
		m.Webhook(ctx, "a", "call.finished", "published")
		m.ServerRequest(ctx, telemetry.ServerRequest{Method: r.Method, Route: telemetry.WebhookRoute, Scheme: "http", Status: http.StatusOK, Account: "a"}, time.Millisecond)
	}
}
