package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func TestMetricsEndpoint(t *testing.T) {
	tel, _, _ := setupTest(t, "info")
	other, _, _ := setupTest(t, "info") // a second Setup must not share the registry

	before := scrape(t, tel)
	for _, name := range []string{MetricWebhooks, MetricLedgerEntries} {
		// Documented behaviour: no series before the first recording/observer.
		if strings.Contains(before, name) {
			t.Errorf("%s present before any event", name)
		}
	}

	ctx := context.Background()
	m := tel.Metrics
	var wg sync.WaitGroup // recording is goroutine-safe
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Webhook(ctx, "byai-main", "call.finished", "published")
		}()
	}
	wg.Wait()
	m.PublishLatency(ctx, "call.finished", 12*time.Millisecond)
	m.Command(ctx, "task.create", "byai-main", "succeeded")
	m.VendorCall(ctx, "byai", "/openapi/v1/task/create", "200", 80*time.Millisecond)
	m.VendorRetry(ctx, "byai", "/openapi/v1/task/create")
	m.DLQWrite(ctx, "unparseable")
	m.ProducerError(ctx, "call.finished")
	unLedger := m.ObserveLedgerSize(func() int64 { return 17 })
	m.ObserveConsumerLag(func() []PartitionLag {
		return []PartitionLag{{Topic: "task.create", Partition: 0, Lag: 5}, {Topic: "task.create", Partition: 1, Lag: 0}}
	})

	body := scrape(t, tel)
	for _, name := range MetricNames {
		if !strings.Contains(body, "\n"+name) && !strings.HasPrefix(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, want := range []string{
		`callbridge_webhooks_total{account="byai-main",outcome="published",type="call.finished"} 4`,
		`callbridge_commands_total{account="byai-main",outcome="succeeded",type="task.create"} 1`,
		`callbridge_publish_duration_seconds_bucket{topic="call.finished",le="0.025"} 1`,
		`callbridge_vendor_retries_total{endpoint="/openapi/v1/task/create",vendor="byai"} 1`,
		`callbridge_dlq_writes_total{reason="unparseable"} 1`,
		`callbridge_kafka_producer_errors_total{topic="call.finished"} 1`,
		`callbridge_ledger_entries 17`,
		`callbridge_consumer_lag{partition="0",topic="task.create"} 5`,
		`callbridge_consumer_lag{partition="1",topic="task.create"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "_total_total") || strings.Contains(body, "_seconds_seconds") {
		t.Errorf("doubled unit suffix in /metrics")
	}

	unLedger()
	if strings.Contains(scrape(t, tel), MetricLedgerEntries+" ") {
		t.Errorf("ledger gauge still reported after unregister")
	}
	if strings.Contains(scrape(t, other), MetricWebhooks) {
		t.Errorf("second Telemetry sees the first one's metrics")
	}
}

func TestNoopAndNil(t *testing.T) {
	ctx := context.Background()
	var nilMetrics *Metrics
	recordAll := func(m *Metrics) {
		m.Webhook(ctx, "a", "b", "c")
		m.PublishLatency(ctx, "t", time.Second)
		m.Command(ctx, "a", "b", "c")
		m.VendorCall(ctx, "v", "/e", "200", time.Second)
		m.VendorRetry(ctx, "v", "/e")
		m.DLQWrite(ctx, "r")
		m.ProducerError(ctx, "t")
		m.ObserveLedgerSize(func() int64 { return 1 })()
		m.ObserveConsumerLag(func() []PartitionLag { return nil })()
	}
	recordAll(nilMetrics)
	recordAll(Noop().Metrics)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	var nilTel *Telemetry
	for _, tel := range []*Telemetry{nilTel, Noop()} {
		tel.Logger().Debug("discarded")
		_ = tel.Tracer()
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		rec := httptest.NewRecorder()
		tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != 200 {
			t.Errorf("MetricsHandler status %d", rec.Code)
		}
		resp, err := (&http.Client{Transport: tel.Transport(nil, "byai")}).Get(srv.URL + "/x")
		if err != nil {
			t.Fatalf("Transport: %v", err)
		}
		_ = resp.Body.Close()
	}
}
