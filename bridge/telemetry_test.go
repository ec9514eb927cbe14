package bridge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/telemetry"
)

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	var names []string
	for _, s := range spans {
		if s.Name == name && s.SpanKind == kind {
			return s
		}
		names = append(names, s.Name+"/"+s.SpanKind.String())
	}
	t.Fatalf("no %s span %q among %v", kind, name, names)
	return tracetest.SpanStub{}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func traceparentOf(t *testing.T, ev *cloudevents.Event) (trace.TraceID, trace.SpanID) {
	t.Helper()
	tp, _ := ev.Extensions()["traceparent"].(string)
	parts := strings.Split(tp, "-")
	if len(parts) != 4 {
		t.Fatalf("traceparent %q", tp)
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("traceparent %q: %v %v", tp, err1, err2)
	}
	return tid, sid
}

func TestOneWebhookIsOneTraceIntoTheEvent(t *testing.T) {
	env := newInbound(t, nil)
	env.spans.Reset()
	if status, _ := env.post("byai-main", byaiToken, readFixture(t, "byai/job_info_result.json")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	spans := env.spans.GetSpans()
	server := spanNamed(t, spans, "POST /webhooks/{account}", trace.SpanKindServer)
	producer := spanNamed(t, spans, "send "+event.TopicTaskStatus, trace.SpanKindProducer)
	if producer.Parent.SpanID() != server.SpanContext.SpanID() || producer.SpanContext.TraceID() != server.SpanContext.TraceID() {
		t.Errorf("producer span is not a child of the webhook span")
	}
	if got := attr(server, "http.response.status_code"); got != "200" {
		t.Errorf("server span status %q", got)
	}
	if attr(producer, "messaging.system") != "kafka" || attr(producer, "messaging.destination.name") != event.TopicTaskStatus {
		t.Errorf("producer span attributes %v", producer.Attributes)
	}
	ev := env.events(event.TopicTaskStatus, 1)[0]
	tid, sid := traceparentOf(t, ev)
	if tid != server.SpanContext.TraceID() || sid != producer.SpanContext.SpanID() {
		t.Errorf("event traceparent %s/%s, want trace %s span %s", tid, sid, server.SpanContext.TraceID(), producer.SpanContext.SpanID())
	}
	// Log lines written inside the webhook carry its trace id.
	if !strings.Contains(env.logs.String(), `"trace_id":"`+server.SpanContext.TraceID().String()+`"`) {
		t.Errorf("no log line with the webhook's trace id")
	}
}

func TestOneCommandContinuesThePlatformsTrace(t *testing.T) {
	env := newOutbound(t, nil)
	env.byai.FailNext(byai.EndpointSingleCall, http.StatusInternalServerError, 1)
	const platformTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const platformSpan = "00f067aa0ba902b7"
	env.send(event.TopicCallSingle, "traced-1", singleCall("13900000008"), func(ev *cloudevents.Event, m *kafka.Message) {
		m.Headers = append(m.Headers, kafka.Header{Key: "ce_traceparent", Value: []byte("00-" + platformTrace + "-" + platformSpan + "-01")})
	})
	resultEv, _ := env.result("traced-1")

	var spans tracetest.SpanStubs
	for _, s := range env.spans.GetSpans() {
		if s.SpanContext.TraceID().String() == platformTrace {
			spans = append(spans, s)
		}
	}
	consumer := spanNamed(t, spans, "process "+event.TopicCallSingle, trace.SpanKindConsumer)
	if consumer.Parent.SpanID().String() != platformSpan {
		t.Errorf("consumer span parent %s, want the command's span %s", consumer.Parent.SpanID(), platformSpan)
	}
	var vendorSpans []tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindClient && attr(s, string(telemetry.AttrEndpoint)) != "" {
			vendorSpans = append(vendorSpans, s)
		}
	}
	if len(vendorSpans) != 2 {
		t.Fatalf("%d vendor client spans in the command's trace, want 2 (a 500 and the retry)", len(vendorSpans))
	}
	for i, s := range vendorSpans {
		if s.Parent.SpanID() != consumer.SpanContext.SpanID() {
			t.Errorf("vendor span %d is not a child of the consumer span", i)
		}
		if attr(s, string(telemetry.AttrVendor)) != "byai" || !strings.HasSuffix(attr(s, string(telemetry.AttrEndpoint)), "task/singleCallByMobile") {
			t.Errorf("vendor span attributes %v", s.Attributes)
		}
		for _, a := range s.Attributes {
			if v := a.Value.Emit(); strings.Contains(v, "13900000008") || strings.Contains(v, "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q") {
				t.Errorf("vendor span attribute %s leaks %q", a.Key, v)
			}
		}
	}
	attempts := attr(vendorSpans[0], string(telemetry.AttrAttempt)) + "," + attr(vendorSpans[1], string(telemetry.AttrAttempt))
	statuses := attr(vendorSpans[0], "http.response.status_code") + "," + attr(vendorSpans[1], "http.response.status_code")
	if attempts != "1,2" && attempts != "2,1" || statuses != "500,200" && statuses != "200,500" {
		t.Errorf("attempts %s statuses %s", attempts, statuses)
	}
	producer := spanNamed(t, spans, "send "+event.TopicCommandResult, trace.SpanKindProducer)
	if producer.Parent.SpanID() != consumer.SpanContext.SpanID() {
		t.Errorf("result producer span is not a child of the consumer span")
	}
	tid, sid := traceparentOf(t, resultEv)
	if tid.String() != platformTrace || sid != producer.SpanContext.SpanID() {
		t.Errorf("result traceparent %s/%s, want the platform's trace %s", tid, sid, platformTrace)
	}
}

func TestMetricsEndpointShowsEveryMetric(t *testing.T) {
	env := newOutbound(t, nil)
	env.byai.FailNext(byai.EndpointSingleCall, http.StatusInternalServerError, 1)
	env.send(event.TopicCallSingle, "metrics-1", singleCall("13900000009"))
	env.result("metrics-1")
	if status, _ := env.post("byai-main", byaiToken, readFixture(t, "byai/call_instance_result.json")); status != http.StatusOK {
		t.Fatalf("webhook status %d", status)
	}
	if status, _ := env.post("byai-main", byaiToken, []byte("garbage")); status != http.StatusOK {
		t.Fatalf("garbage status %d", status)
	}
	k := inProcess(t, env.kafka)
	k.SetDown(true)
	if status, _ := env.post("byai-main", byaiToken, readFixture(t, "byai/job_info_result.json")); status != http.StatusServiceUnavailable {
		t.Fatalf("status with Kafka down %d", status)
	}
	// The write goes on past the 503 until the producer gives up.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(scrapeMetrics(t, env.srv.URL), telemetry.MetricKafkaProducerErrs) {
			break
		}
	}
	k.SetDown(false)

	resp, err := http.Get(env.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, name := range telemetry.MetricNames {
		if name == telemetry.MetricReconciled || name == telemetry.MetricReconcileSuccess {
			continue // no account here reconciles: TestReconciliationRecoversCallsThroughTheBridge shows them
		}
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, want := range []string{`outcome="published"`, `outcome="dead_lettered"`, `outcome="kafka_unavailable"`,
		`http_response_status_code="500"`, `http_response_status_code="503"`, `http_route="/webhooks/{account}"`, `callbridge_build_info{`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks a series with %s", want)
		}
	}
}

func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
