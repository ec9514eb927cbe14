package cekafka

import (
	"context"
	"errors"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/binding/transformer"
	"github.com/segmentio/kafka-go"
)

var modes = []struct {
	name     string
	ctx      func(context.Context) context.Context
	encoding binding.Encoding
}{
	{"binary", func(ctx context.Context) context.Context { return ctx }, binding.EncodingBinary},
	{"structured", binding.WithForceStructured, binding.EncodingStructured},
}

func TestRoundTripKeepsEveryAttribute(t *testing.T) {
	events := []struct {
		name string
		e    cloudevents.Event
	}{
		{"full event", fullEvent()},
		{"minimal event without data", minimalEvent()},
		{"text data", func() cloudevents.Event {
			e := minimalEvent()
			_ = e.SetData("text/plain", "plain text, not JSON")
			return e
		}()},
		{"binary data (data_base64 when structured)", func() cloudevents.Event {
			e := minimalEvent()
			_ = e.SetData("application/octet-stream", []byte{0, 1, 2, 0xff, 0xfe})
			return e
		}()},
	}
	for _, mode := range modes {
		for _, ev := range events {
			t.Run(mode.name+"/"+ev.name, func(t *testing.T) {
				m, err := ToKafka(mode.ctx(context.Background()), ev.e, "call.finished")
				if err != nil {
					t.Fatal(err)
				}
				if m.Topic != "call.finished" {
					t.Fatalf("topic %q", m.Topic)
				}
				if got := NewMessage(&m).ReadEncoding(); got != mode.encoding {
					t.Fatalf("encoding %v, want %v", got, mode.encoding)
				}
				got, err := FromKafka(m)
				if err != nil {
					t.Fatal(err)
				}
				assertSameEvent(t, &ev.e, got)
			})
		}
	}
}

func TestBinaryRecordLayout(t *testing.T) {
	e := fullEvent()
	m, err := ToKafka(context.Background(), e, "t")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce_specversion":  "1.0",
		"ce_id":           e.ID(),
		"ce_source":       e.Source(),
		"ce_type":         e.Type(),
		"ce_subject":      "call/9001",
		"ce_time":         "2019-01-12T08:09:32.123456789Z",
		"ce_dataschema":   e.DataSchema(),
		"content-type":    "application/json",
		"ce_vendor":       "byai",
		"ce_account":      "byai-main",
		"ce_partitionkey": "task-43",
		"ce_traceparent":  traceparent,
		"ce_tracestate":   tracestate,
	}
	got := headerMap(t, m.Headers)
	if len(got) != len(want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if string(m.Key) != "task-43" {
		t.Errorf("key %q, want the partitionkey", m.Key)
	}
	if string(m.Value) != string(e.Data()) {
		t.Errorf("value %s, want the data", m.Value)
	}
}

func TestStructuredRecordLayout(t *testing.T) {
	m, err := ToKafka(binding.WithForceStructured(context.Background()), fullEvent(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if got := headerMap(t, m.Headers); len(got) != 1 || got["content-type"] != "application/cloudevents+json" {
		t.Fatalf("headers %v, want only content-type application/cloudevents+json", got)
	}
	if string(m.Key) != "task-43" {
		t.Errorf("key %q, want the partitionkey", m.Key)
	}
	for _, s := range []string{`"specversion":"1.0"`, `"partitionkey":"task-43"`, `"data":{"callId":"9001"`} {
		if !strings.Contains(string(m.Value), s) {
			t.Errorf("value %s lacks %s", m.Value, s)
		}
	}
}

func TestKeyMapping(t *testing.T) {
	tests := []struct {
		name    string
		ctx     context.Context
		event   cloudevents.Event
		initKey []byte
		wantKey string
	}{
		{"partitionkey becomes the key", context.Background(), fullEvent(), nil, "task-43"},
		{"no partitionkey leaves no key", context.Background(), minimalEvent(), nil, ""},
		{"skip key mapping keeps the caller's key", WithSkipKeyMapping(context.Background()), fullEvent(), []byte("mine"), "mine"},
		{"structured mode maps the key too", binding.WithForceStructured(context.Background()), fullEvent(), nil, "task-43"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := kafka.Message{Key: tt.initKey}
			if err := WriteMessage(tt.ctx, binding.ToMessage(&tt.event), &m); err != nil {
				t.Fatal(err)
			}
			if string(m.Key) != tt.wantKey {
				t.Fatalf("key %q, want %q", m.Key, tt.wantKey)
			}
		})
	}
}

func TestWriteMessageReplacesStaleHeaders(t *testing.T) {
	e := fullEvent()
	m := kafka.Message{Headers: []kafka.Header{{Key: "ce_id", Value: []byte("stale")}, {Key: "x-other", Value: []byte("1")}}, Value: []byte("stale")}
	if err := WriteMessage(context.Background(), binding.ToMessage(&e), &m); err != nil {
		t.Fatal(err)
	}
	h := headerMap(t, m.Headers)
	if h["ce_id"] != e.ID() || h["x-other"] != "" || string(m.Value) != string(e.Data()) {
		t.Fatalf("stale record content survived: %v %s", h, m.Value)
	}
}

// A consumed record re-bound with a transformer goes through the binding's direct
// binary path, which reads our Message's metadata (GetAttribute/GetExtension).
func TestConsumedRecordRebindsWithTransformer(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			src, err := ToKafka(mode.ctx(context.Background()), fullEvent(), "in")
			if err != nil {
				t.Fatal(err)
			}
			var out kafka.Message
			if err := WriteMessage(context.Background(), NewMessage(&src), &out, transformer.AddExtension("replayed", "yes")); err != nil {
				t.Fatal(err)
			}
			if string(out.Key) != "task-43" {
				t.Errorf("key %q", out.Key)
			}
			got, err := FromKafka(out)
			if err != nil {
				t.Fatal(err)
			}
			want := fullEvent()
			want.SetExtension("replayed", "yes")
			assertSameEvent(t, &want, got)
		})
	}
}

func TestMessageMetadataReader(t *testing.T) {
	m, err := ToKafka(context.Background(), fullEvent(), "t")
	if err != nil {
		t.Fatal(err)
	}
	msg := NewMessage(&m)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"id attribute", attrValue(msg, spec.ID), "4b9c1e2a-7d3f-8a21-9c44-0e5f6a7b8c9d"},
		{"datacontenttype comes from content-type", attrValue(msg, spec.DataContentType), "application/json"},
		{"partitionkey extension", msg.GetExtension("partitionkey"), "task-43"},
		{"extension names are case-insensitive", msg.GetExtension("TraceParent"), traceparent},
		{"absent extension is nil", msg.GetExtension("nope"), nil},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	structured := NewMessage(&kafka.Message{Headers: []kafka.Header{{Key: "content-type", Value: []byte("application/cloudevents+json")}}})
	if a, v := structured.GetAttribute(spec.ID); a != nil || v != nil {
		t.Errorf("structured GetAttribute = %v %v, want nil nil", a, v)
	}
}

func attrValue(m *Message, k spec.Kind) any {
	_, v := m.GetAttribute(k)
	return v
}

func TestEncodingDetection(t *testing.T) {
	h := func(kv ...string) []kafka.Header {
		var hs []kafka.Header
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	tests := []struct {
		name    string
		headers []kafka.Header
		want    binding.Encoding
	}{
		{"structured json", h("content-type", "application/cloudevents+json"), binding.EncodingStructured},
		{"structured json with charset and odd case", h("Content-Type", "Application/CloudEvents+JSON; charset=utf-8"), binding.EncodingStructured},
		{"binary 1.0", h("ce_specversion", "1.0", "content-type", "application/json"), binding.EncodingBinary},
		{"binary with upper-case header keys", h("CE_SPECVERSION", "1.0"), binding.EncodingBinary},
		{"binary 0.3", h("ce_specversion", "0.3"), binding.EncodingBinary},
		{"no headers", nil, binding.EncodingUnknown},
		{"plain json", h("content-type", "application/json"), binding.EncodingUnknown},
		{"unknown spec version", h("ce_specversion", "9.9"), binding.EncodingUnknown},
		{"unregistered cloudevents format", h("content-type", "application/cloudevents+avro"), binding.EncodingUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewMessage(&kafka.Message{Headers: tt.headers}).ReadEncoding(); got != tt.want {
				t.Fatalf("encoding %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFromKafkaRejectsNonCloudEvents(t *testing.T) {
	h := func(kv ...string) []kafka.Header {
		var hs []kafka.Header
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	structured := h("content-type", "application/cloudevents+json")
	tests := []struct {
		name    string
		headers []kafka.Header
		value   string
	}{
		{"no headers, JSON value", nil, `{"id":"1","source":"/s","type":"t","specversion":"1.0"}`},
		{"no headers, no value", nil, ""},
		{"content-type only", h("content-type", "application/json"), `{"a":1}`},
		{"structured garbage", structured, `{not json`},
		{"structured empty value", structured, ``},
		{"structured JSON array", structured, `[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]`},
		{"structured without id", structured, `{"specversion":"1.0","source":"/s","type":"t"}`},
		{"structured unknown specversion", structured, `{"specversion":"7.0","id":"1","source":"/s","type":"t"}`},
		{"binary without id", h("ce_specversion", "1.0", "ce_source", "/s", "ce_type", "t"), `{}`},
		{"binary without source", h("ce_specversion", "1.0", "ce_id", "1", "ce_type", "t"), `{}`},
		{"binary with a bad time", h("ce_specversion", "1.0", "ce_id", "1", "ce_source", "/s", "ce_type", "t", "ce_time", "yesterday"), `{}`},
		{"binary with an invalid extension name", h("ce_specversion", "1.0", "ce_id", "1", "ce_source", "/s", "ce_type", "t", "ce_bad-name!", "x"), `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var value []byte
			if tt.value != "" {
				value = []byte(tt.value)
			}
			e, err := FromKafka(kafka.Message{Headers: tt.headers, Value: value})
			if !errors.Is(err, ErrNotCloudEvent) {
				t.Fatalf("FromKafka = %v, %v; want an error wrapping ErrNotCloudEvent", e, err)
			}
		})
	}
}

func TestToKafkaRejectsInvalidEvent(t *testing.T) {
	e := cloudevents.NewEvent()
	e.SetID("no-source-or-type")
	if _, err := ToKafka(context.Background(), e, "t"); err == nil {
		t.Fatal("ToKafka bound an invalid event")
	}
}
