package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func itoa(i int) string { return strconv.Itoa(i) }

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransport(t *testing.T) {
	const (
		phone     = "13712345633"
		appSecret = "s3cr3t-app-secret"
		signature = "deadbeefsignature"
	)
	tests := []struct {
		name       string
		status     int  // server reply
		fail       bool // base transport returns an error quoting the URL
		attempt    int
		wantLabels string // of the http.client.request.duration series, after its method and server labels
		wantError  bool
	}{
		{name: "ok first attempt", status: 200, wantLabels: `http_response_status_code="200"`},
		{name: "server error on retry", status: 503, attempt: 3, wantLabels: `error_type="503",http_request_method="POST",http_response_status_code="503"`, wantError: true},
		{name: "transport error", fail: true, attempt: 2, wantLabels: `error_type="_OTHER",http_request_method="POST",server_address="127.0.0.1"`, wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel, exp, _ := setupTest(t, "info")
			var mu sync.Mutex
			var gotHeader http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				gotHeader = r.Header.Clone()
				mu.Unlock()
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, `{"code":200}`)
			}))
			defer srv.Close()

			var base http.RoundTripper = http.DefaultTransport
			if tc.fail {
				base = rtFunc(func(r *http.Request) (*http.Response, error) {
					return nil, fmt.Errorf("Post %q: %w", r.URL.String(), errors.New("connection refused"))
				})
			}
			client := &http.Client{Transport: Transport(base, "yiwise")}

			ctx, cons := StartConsumerSpan(context.Background(), "task.create", 0, 1, newEvent(t, "cmd-1", "k"))
			if tc.attempt > 0 {
				ctx = WithAttempt(ctx, tc.attempt)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/apiOpen/v1/task/createTask?phone="+phone, strings.NewReader(`{}`))
			req.Header.Set("appKey", "key-1")
			req.Header.Set("appSecret", appSecret)
			req.Header.Set("signature", signature)
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			} else if !tc.fail {
				t.Fatalf("Do: %v", err)
			}
			cons.End()
			if req.Header.Get("traceparent") != "" {
				t.Errorf("caller's request was modified")
			}

			s := spanByName(t, exp, "POST /apiOpen/v1/task/createTask")
			if s.SpanKind != trace.SpanKindClient {
				t.Errorf("kind = %v", s.SpanKind)
			}
			if s.Parent.SpanID() != cons.SpanContext().SpanID() || s.SpanContext.TraceID() != cons.SpanContext().TraceID() {
				t.Errorf("client span does not nest under the consumer span")
			}
			attempt := tc.attempt
			if attempt == 0 {
				attempt = 1
			}
			want := map[string]string{
				"callbridge.vendor": "yiwise", "callbridge.endpoint": "/apiOpen/v1/task/createTask",
				"callbridge.attempt": itoa(attempt), "http.request.method": "POST",
				"url.path": "/apiOpen/v1/task/createTask", "server.address": "127.0.0.1",
			}
			if !tc.fail {
				want["http.response.status_code"] = itoa(tc.status)
			}
			wantAttrs(t, s, want)
			if (s.Status.Code == codes.Error) != tc.wantError {
				t.Errorf("status = %v, want error %v", s.Status, tc.wantError)
			}
			// Nothing on the span may carry the query (phone) or a secret header.
			everything := s.Name + " " + s.Status.Description
			for k, v := range attrMap(s.Attributes) {
				everything += " " + k + "=" + v
			}
			for _, e := range s.Events {
				everything += " " + e.Name + fmt.Sprint(attrMap(e.Attributes))
			}
			for _, secret := range []string{phone, appSecret, signature, "key-1", "phone="} {
				if strings.Contains(everything, secret) {
					t.Errorf("span leaks %q: %s", secret, everything)
				}
			}
			if !tc.fail {
				mu.Lock()
				tp := gotHeader.Get("traceparent")
				mu.Unlock()
				sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp}))
				if sc.SpanID() != s.SpanContext.SpanID() {
					t.Errorf("vendor got traceparent %q, want span %s", tp, s.SpanContext.SpanID())
				}
			}
			body := scrape(t, tel)
			got := series(body, MetricHTTPClient+"_count", `callbridge_endpoint="/apiOpen/v1/task/createTask",callbridge_vendor="yiwise"`, tc.wantLabels, `server_address="127.0.0.1"`, `server_port="`)
			if len(got) != 1 || !strings.HasSuffix(got[0], "} 1") {
				t.Errorf("metrics lack one %s series with %s: %q", MetricHTTPClient, tc.wantLabels, got)
			}
			if strings.Contains(body, phone) {
				t.Errorf("metrics leak the phone number")
			}
		})
	}
}

func TestAttemptFrom(t *testing.T) {
	for _, tc := range []struct {
		ctx  context.Context
		want int
	}{
		{context.Background(), 1},
		{WithAttempt(context.Background(), 4), 4},
		{WithAttempt(context.Background(), 0), 1},
	} {
		if got := AttemptFrom(tc.ctx); got != tc.want {
			t.Errorf("AttemptFrom = %d, want %d", got, tc.want)
		}
	}
}
