package telemetry

import "context"

// WebhookRefused counts one webhook answered 503 at once because the in-flight bound
// was reached (callbridge_webhook_refusals_total).
func (m *Metrics) WebhookRefused(ctx context.Context, account string) {
	if m == nil {
		return
	}
	m.refusals.Add(ctx, 1, m.attrs(attrKey{lblAccount, account}).add...)
}

// ObserveWebhooksInflight makes f the source of callbridge_webhooks_inflight; f runs
// on every scrape. The returned function unregisters it.
func (m *Metrics) ObserveWebhooksInflight(f func() int64) (unregister func()) {
	if m == nil {
		return func() {}
	}
	return m.observe(m.inflight, f)
}

// ObserveHTTPConnections makes f the source of callbridge_http_connections; f runs on
// every scrape. The returned function unregisters it.
func (m *Metrics) ObserveHTTPConnections(f func() int64) (unregister func()) {
	if m == nil {
		return func() {}
	}
	return m.observe(m.connections, f)
}
