package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// syncBuffer is a goroutine-safe log sink (the otel error handler may log
// from exporter goroutines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setupTest runs Setup with an in-memory exporter. Setup installs globals,
// so tests in this package do not run in parallel.
func setupTest(t *testing.T, level string) (*Telemetry, *tracetest.InMemoryExporter, *syncBuffer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	logs := &syncBuffer{}
	tel, err := Setup(context.Background(), Options{
		ServiceName: "callbridge-test", ServiceVersion: "t", LogLevel: level, LogWriter: logs, SpanExporter: exp,
	})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel, exp, logs
}

func spanByName(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range exp.GetSpans() {
			names = append(names, s.Name)
		}
		t.Fatalf("want exactly one span %q, have %d among %v", name, len(found), names)
	}
	return found[0]
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func wantAttrs(t *testing.T, span tracetest.SpanStub, want map[string]string) {
	t.Helper()
	got := attrMap(span.Attributes)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: attribute %s = %q, want %q (all: %v)", span.Name, k, got[k], v, got)
		}
	}
}

func newEvent(t *testing.T, id, key string) *cloudevents.Event {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/callbridge/byai/byai-main")
	ev.SetType("callbridge.call.finished")
	ev.SetExtension("partitionkey", key)
	if err := ev.SetData(cloudevents.ApplicationJSON, map[string]string{"callId": "c1"}); err != nil {
		t.Fatal(err)
	}
	return &ev
}

// roundTrip serializes ev as a structured CloudEvent and back, as a hop
// through Kafka would, so the tests see string extensions like a consumer does.
func roundTrip(t *testing.T, ev *cloudevents.Event) *cloudevents.Event {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out := cloudevents.NewEvent()
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
