package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestProducerConsumerPropagation(t *testing.T) {
	otherTrace := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name          string
		parentState   string // tracestate on the producer's parent, "" for none
		preset        map[string]string
		wantState     string
		consumerGroup string
	}{
		{name: "plain", wantState: ""},
		{name: "tracestate carried", parentState: "vendor=abc", wantState: "vendor=abc"},
		{name: "stale extensions replaced", preset: map[string]string{"traceparent": otherTrace, "tracestate": "old=1"}, wantState: "", consumerGroup: "callbridge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, exp, _ := setupTest(t, "info")
			ctx := context.Background()
			if tc.parentState != "" {
				// A remote parent carrying tracestate, as a platform's command would.
				ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{
					"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
					"tracestate":  tc.parentState,
				})
			}
			ctx, webhook := StartWebhookSpan(ctx, httptest.NewRequest(http.MethodPost, "/webhooks/byai-main?token=sekrit", nil), "byai-main")

			ev := newEvent(t, "ev-1", "task-42")
			for k, v := range tc.preset {
				ev.SetExtension(k, v)
			}
			_, prod := StartProducerSpan(ctx, "call.finished", ev)
			prodSC := prod.SpanContext()
			prod.End()
			EndHTTP(webhook, http.StatusOK)

			if got, want := ev.Extensions()["traceparent"], "00-"+prodSC.TraceID().String()+"-"+prodSC.SpanID().String()+"-01"; got != want {
				t.Fatalf("traceparent = %v, want %v", got, want)
			}
			if got, _ := ev.Extensions()["tracestate"].(string); got != tc.wantState {
				t.Fatalf("tracestate = %q, want %q", got, tc.wantState)
			}

			received := roundTrip(t, ev)
			// The consumer's own context holds an unrelated span; the event's trace must win.
			cctx, unrelated := tracer().Start(context.Background(), "unrelated")
			var opts []MessagingOption
			if tc.consumerGroup != "" {
				opts = append(opts, ConsumerGroup(tc.consumerGroup))
			}
			cctx, cons := StartConsumerSpan(cctx, "call.finished", 3, 1234, received, opts...)
			consSC := cons.SpanContext()

			result := newEvent(t, "res-1", "cmd-key")
			_, resSpan := StartProducerSpan(cctx, "command.result", result)
			resSpan.End()
			cons.End()
			unrelated.End()

			c := spanByName(t, exp, "process call.finished")
			if c.SpanKind != trace.SpanKindConsumer {
				t.Errorf("consumer kind = %v", c.SpanKind)
			}
			if c.Parent.TraceID() != prodSC.TraceID() || c.Parent.SpanID() != prodSC.SpanID() {
				t.Errorf("consumer parent = %s/%s, want producer %s/%s", c.Parent.TraceID(), c.Parent.SpanID(), prodSC.TraceID(), prodSC.SpanID())
			}
			if !c.Parent.IsRemote() {
				t.Errorf("consumer parent should be remote")
			}
			if consSC.TraceID() != prodSC.TraceID() {
				t.Errorf("consumer trace %s != producer trace %s", consSC.TraceID(), prodSC.TraceID())
			}
			if got := c.SpanContext.TraceState().String(); got != tc.wantState {
				t.Errorf("consumer tracestate = %q, want %q", got, tc.wantState)
			}
			want := map[string]string{
				"messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
				"messaging.destination.name": "call.finished", "messaging.destination.partition.id": "3",
				"messaging.kafka.offset": "1234", "messaging.message.id": "ev-1", "messaging.kafka.message.key": "task-42",
				"cloudevents.event_type": "callbridge.call.finished",
			}
			if tc.consumerGroup != "" {
				want["messaging.consumer.group.name"] = tc.consumerGroup
			}
			wantAttrs(t, c, want)

			p := spanByName(t, exp, "send call.finished")
			if p.SpanKind != trace.SpanKindProducer {
				t.Errorf("producer kind = %v", p.SpanKind)
			}
			wantAttrs(t, p, map[string]string{
				"messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": "call.finished",
				"messaging.message.id": "ev-1", "messaging.kafka.message.key": "task-42",
			})
			w := spanByName(t, exp, "POST /webhooks/{account}")
			if p.Parent.SpanID() != w.SpanContext.SpanID() {
				t.Errorf("producer span is not a child of the webhook span")
			}

			// The result event continues the command's trace.
			r := spanByName(t, exp, "send command.result")
			if r.Parent.SpanID() != consSC.SpanID() || r.SpanContext.TraceID() != prodSC.TraceID() {
				t.Errorf("result span not under consumer span")
			}
			if got, _ := result.Extensions()["traceparent"].(string); !strings.Contains(got, prodSC.TraceID().String()) {
				t.Errorf("result traceparent %q lacks trace %s", got, prodSC.TraceID())
			}
		})
	}
}

func TestConsumerWithoutUsableTraceparent(t *testing.T) {
	tests := []struct {
		name        string
		traceparent string
	}{
		{"absent", ""},
		{"malformed", "00-nothex-xyz-01"},
		{"all-zero trace id", "00-00000000000000000000000000000000-b7ad6b7169203331-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, exp, _ := setupTest(t, "info")
			ev := newEvent(t, "ev-2", "k")
			if tc.traceparent != "" {
				ev.SetExtension("traceparent", tc.traceparent)
			}
			_, span := StartConsumerSpan(context.Background(), "task.create", 0, 7, ev)
			if !span.SpanContext().IsValid() {
				t.Errorf("consumer span has no valid context")
			}
			span.End()
			if s := spanByName(t, exp, "process task.create"); s.Parent.IsValid() {
				t.Errorf("want a root span, parent = %v", s.Parent)
			}
		})
	}
}

func TestInjectExtractEvent(t *testing.T) {
	_, _, _ = setupTest(t, "info")
	ev := newEvent(t, "x", "k")
	InjectEvent(context.Background(), ev) // no span: untouched
	if _, ok := ev.Extensions()["traceparent"]; ok {
		t.Fatalf("traceparent injected without a span")
	}
	ctx, span := tracer().Start(context.Background(), "op")
	defer span.End()
	InjectEvent(ctx, ev)
	if err := ev.Validate(); err != nil {
		t.Fatalf("event invalid after inject: %v", err)
	}
	got := trace.SpanContextFromContext(ExtractEvent(context.Background(), *roundTrip(t, ev)))
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Fatalf("extracted %v, want %v", got, span.SpanContext())
	}
	InjectEvent(ctx, nil) // must not panic
}

func TestWebhookSpan(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     string // incoming traceparent
		wantError  bool
		wantLinked bool
	}{
		{name: "ok", status: 200},
		{name: "bad auth is not a server error", status: 401},
		{name: "kafka down", status: 503, wantError: true},
		{name: "caller traceparent becomes a link", status: 200, header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", wantLinked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, exp, _ := setupTest(t, "info")
			r := httptest.NewRequest(http.MethodPost, "http://bridge.example:8080/webhooks/yiwise-east?token=sekrit", strings.NewReader("{}"))
			r.RemoteAddr = "203.0.113.9:5555"
			r.Header.Set("User-Agent", "yiwise-callback")
			r.Header.Set("X-Callbridge-Token", "sekrit")
			if tc.header != "" {
				r.Header.Set("traceparent", tc.header)
			}
			_, span := StartWebhookSpan(r.Context(), r, "yiwise-east")
			EndHTTP(span, tc.status)
			s := spanByName(t, exp, "POST /webhooks/{account}")
			if s.SpanKind != trace.SpanKindServer {
				t.Errorf("kind = %v", s.SpanKind)
			}
			wantAttrs(t, s, map[string]string{
				"http.request.method": "POST", "url.path": "/webhooks/yiwise-east", "http.route": "/webhooks/{account}",
				"server.address": "bridge.example", "server.port": "8080", "client.address": "203.0.113.9",
				"callbridge.account": "yiwise-east", "http.response.status_code": itoa(tc.status),
			})
			for k, v := range attrMap(s.Attributes) {
				if strings.Contains(v, "sekrit") {
					t.Errorf("attribute %s leaks the token: %q", k, v)
				}
			}
			if got := s.Status.Code == codes.Error; got != tc.wantError {
				t.Errorf("error status = %v, want %v", got, tc.wantError)
			}
			if tc.wantLinked != (len(s.Links) == 1) || s.Parent.IsValid() {
				t.Errorf("links = %v parent = %v", s.Links, s.Parent)
			}
		})
	}
}
