package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
	m.ServerRequest(ctx, ServerRequest{Method: "POST", Route: WebhookRoute, Status: 200, Account: "byai-main"}, 30*time.Millisecond)
	m.ClientRequest(ctx, ClientRequest{Vendor: "byai", Endpoint: "/openapi/v1/task/create", Method: "POST", Host: "api.example.com", Port: 443, Status: 200}, 80*time.Millisecond)
	m.VendorRetry(ctx, "byai", "/openapi/v1/task/create")
	m.DLQWrite(ctx, "unparseable")
	m.ProducerError(ctx, "call.finished")
	m.Reconciled(ctx, "byai-main", "published", 3)
	m.ReconcileSucceeded(ctx, "byai-main", time.Unix(1764400000, 500e6))
	unLedger := m.ObserveLedgerSize(func() int64 { return 17 })
	m.ObserveWebhooksInflight(func() int64 { return 3 })
	m.ObserveHTTPConnections(func() int64 { return 9 })
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
		"callbridge_webhooks_inflight 3",
		"callbridge_http_connections 9",
		`callbridge_commands_total{account="byai-main",outcome="succeeded",type="task.create"} 1`,
		`callbridge_publish_duration_seconds_bucket{topic="call.finished",le="0.025"} 1`,
		`http_server_request_duration_seconds_bucket{callbridge_account="byai-main",http_request_method="POST",http_response_status_code="200",http_route="/webhooks/{account}",url_scheme="http",le="0.05"} 1`,
		`http_client_request_duration_seconds_count{callbridge_endpoint="/openapi/v1/task/create",callbridge_vendor="byai",http_request_method="POST",http_response_status_code="200",server_address="api.example.com",server_port="443"} 1`,
		`# TYPE http_server_request_duration_seconds histogram`,
		`callbridge_build_info{commit="`,
		`callbridge_vendor_retries_total{endpoint="/openapi/v1/task/create",vendor="byai"} 1`,
		`callbridge_dlq_writes_total{reason="unparseable"} 1`,
		`callbridge_kafka_producer_errors_total{topic="call.finished"} 1`,
		`callbridge_ledger_entries 17`,
		`callbridge_reconciled_total{account="byai-main",outcome="published"} 3`,
		`callbridge_reconcile_last_success_timestamp_seconds{account="byai-main"} 1.7644000005e+09`,
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
		m.ServerRequest(ctx, ServerRequest{Method: "POST", Route: "/r", Status: 200}, time.Second)
		m.ClientRequest(ctx, ClientRequest{Vendor: "v", Endpoint: "/e", Method: "GET", Status: 200}, time.Second)
		m.ObserveBuildInfo("v", "c")()
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

// series returns the lines of body that start with name{ and contain every one of labels.
func series(body, name string, labels ...string) []string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func TestServerRequestFollowsHTTPConventions(t *testing.T) {
	tests := []struct {
		name    string
		req     ServerRequest
		want    []string // labels of the _count series
		notWant []string
	}{
		{
			name:    "accepted webhook has method, status, route, scheme and account, no error",
			req:     ServerRequest{Method: "POST", Route: WebhookRoute, Status: 200, Account: "acct-a"},
			want:    []string{`http_request_method="POST"`, `http_response_status_code="200"`, `http_route="/webhooks/{account}"`, `url_scheme="http"`, `callbridge_account="acct-a"`},
			notWant: []string{"error_type"},
		},
		{
			name: "a 503 is a server error",
			req:  ServerRequest{Method: "POST", Route: WebhookRoute, Scheme: "https", Status: 503, Account: "acct-a"},
			want: []string{`http_response_status_code="503"`, `error_type="503"`, `url_scheme="https"`},
		},
		{
			name:    "a 401 is not a server error",
			req:     ServerRequest{Method: "POST", Route: WebhookRoute, Status: 401, Account: "acct-a"},
			want:    []string{`http_response_status_code="401"`},
			notWant: []string{"error_type"},
		},
		{
			name:    "an unknown method and no account are bounded",
			req:     ServerRequest{Method: "BREW", Route: WebhookRoute, Status: 405},
			want:    []string{`http_request_method="_OTHER"`},
			notWant: []string{"BREW", "callbridge_account"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel, _, _ := setupTest(t, "info")
			tel.Metrics.ServerRequest(context.Background(), tc.req, 20*time.Millisecond)
			got := series(scrape(t, tel), MetricHTTPServer+"_count", tc.want...)
			if len(got) != 1 {
				t.Fatalf("want one %s_count series with %v, got %q", MetricHTTPServer, tc.want, got)
			}
			for _, bad := range tc.notWant {
				if strings.Contains(got[0], bad) {
					t.Errorf("series %s has %s", got[0], bad)
				}
			}
		})
	}
}

func TestBuildInfo(t *testing.T) {
	tests := []struct {
		name            string
		version, commit string
		want            string
	}{
		{name: "stamped version and commit", version: "1.2.3", commit: "abc123", want: `callbridge_build_info{commit="abc123",go_version="` + runtime.Version() + `",version="1.2.3"} 1`},
		{name: "unstamped build says dev", want: `version="dev"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel, err := Setup(context.Background(), Options{ServiceVersion: tc.version, Commit: tc.commit, LogWriter: &syncBuffer{}, SpanExporter: tracetest.NewInMemoryExporter()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tel.Shutdown(context.Background()) }()
			body := scrape(t, tel)
			if got := series(body, MetricBuildInfo); len(got) != 1 || !strings.Contains(got[0], tc.want) || !strings.HasSuffix(got[0], " 1") {
				t.Errorf("build info %q, want one series with %s = 1", got, tc.want)
			}
		})
	}
}
