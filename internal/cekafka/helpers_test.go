package cekafka

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tracestate  = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
)

// fullEvent has every attribute the product publishes set, with a non-UTC time
// and non-ASCII data.
func fullEvent() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("4b9c1e2a-7d3f-8a21-9c44-0e5f6a7b8c9d")
	e.SetSource("/callbridge/byai/byai-main")
	e.SetType("callbridge.call.finished")
	e.SetSubject("call/9001")
	e.SetTime(time.Date(2019, 1, 12, 16, 9, 32, 123456789, time.FixedZone("CST", 8*3600)))
	e.SetDataSchema("https://callbridge.example/schemas/call.finished.v1.json")
	e.SetExtension("vendor", "byai")
	e.SetExtension("account", "byai-main")
	e.SetExtension("partitionkey", "task-43")
	e.SetExtension("traceparent", traceparent)
	e.SetExtension("tracestate", tracestate)
	// json.RawMessage, not []byte: sdk-go marks []byte data as binary, which
	// structured mode would carry as data_base64.
	if err := e.SetData(cloudevents.ApplicationJSON, json.RawMessage(`{"callId":"9001","taskName":"回访任务","answered":true,"durationSeconds":37}`)); err != nil {
		panic(err)
	}
	return e
}

// minimalEvent has only the required attributes: no key, no data.
func minimalEvent() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID("min-1")
	e.SetSource("/test")
	e.SetType("test.minimal")
	return e
}

// assertSameEvent compares two events attribute for attribute.
func assertSameEvent(t *testing.T, want, got *cloudevents.Event) {
	t.Helper()
	if got == nil {
		t.Fatal("got no event")
	}
	fmtTime := func(e *cloudevents.Event) string {
		if e.Time().IsZero() {
			return ""
		}
		return e.Time().UTC().Format(time.RFC3339Nano)
	}
	checks := []struct{ name, want, got string }{
		{"specversion", want.SpecVersion(), got.SpecVersion()},
		{"id", want.ID(), got.ID()},
		{"source", want.Source(), got.Source()},
		{"type", want.Type(), got.Type()},
		{"subject", want.Subject(), got.Subject()},
		{"time", fmtTime(want), fmtTime(got)},
		{"dataschema", want.DataSchema(), got.DataSchema()},
		{"datacontenttype", want.DataContentType(), got.DataContentType()},
		{"data", string(want.Data()), string(got.Data())},
		{"extension names", extNames(want), extNames(got)},
	}
	for name, v := range want.Extensions() {
		w, _ := types.Format(v)
		g, _ := types.Format(got.Extensions()[name])
		checks = append(checks, struct{ name, want, got string }{"extension " + name, w, g})
	}
	for _, c := range checks {
		if c.want != c.got {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func extNames(e *cloudevents.Event) string {
	var names []string
	for k := range e.Extensions() {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// headerMap flattens kafka-go headers; a repeated key fails the test.
func headerMap(t *testing.T, hs []kafka.Header) map[string]string {
	t.Helper()
	m := make(map[string]string, len(hs))
	for _, h := range hs {
		if _, dup := m[h.Key]; dup {
			t.Fatalf("header %q repeated in %v", h.Key, hs)
		}
		m[h.Key] = string(h.Value)
	}
	return m
}

// The in-memory conversions between kafka-go and sarama records carry exactly
// what crosses the wire: key, value and headers.

func toConsumerMessage(m kafka.Message) *sarama.ConsumerMessage {
	cm := &sarama.ConsumerMessage{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		cm.Headers = append(cm.Headers, &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return cm
}

func fromProducerMessage(t *testing.T, pm *sarama.ProducerMessage) kafka.Message {
	t.Helper()
	m := kafka.Message{Topic: pm.Topic}
	var err error
	if pm.Key != nil {
		if m.Key, err = pm.Key.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	if pm.Value != nil {
		if m.Value, err = pm.Value.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range pm.Headers {
		m.Headers = append(m.Headers, kafka.Header{Key: string(h.Key), Value: h.Value})
	}
	return m
}

// stripSaramaKafkaExtensions removes the extensions kafka_sarama's consumer-side
// constructor adds from the record's coordinates (ce_kafkaoffset, ...): they are
// not part of the event that was produced.
func stripSaramaKafkaExtensions(e *cloudevents.Event) {
	for _, name := range []string{"kafkaoffset", "kafkapartition", "kafkatopic"} {
		e.SetExtension(name, nil)
	}
}

func newCluster(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readRecords reads n records from partition 0 of topic with kafka-go.
func readRecords(t *testing.T, brokers []string, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx := testCtx(t, 10*time.Second)
	out := make([]kafka.Message, 0, n)
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("reading %s after %d records: %v", topic, len(out), err)
		}
		out = append(out, m)
	}
	return out
}
