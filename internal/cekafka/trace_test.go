package cekafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/segmentio/kafka-go"
)

func traceHeaderList(hs []kafka.Header) string {
	s := ""
	for _, h := range hs {
		s += fmt.Sprintf("%s=%s;", h.Key, h.Value)
	}
	return s
}

func TestAddTraceHeadersRepeatsTheExtensionAsW3CHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   []kafka.Header
		want string
	}{
		{
			name: "traceparent",
			in:   []kafka.Header{{Key: "ce_id", Value: []byte("1")}, {Key: "ce_traceparent", Value: []byte("tp")}},
			want: "ce_id=1;ce_traceparent=tp;traceparent=tp;",
		},
		{
			name: "traceparent and tracestate",
			in:   []kafka.Header{{Key: "ce_tracestate", Value: []byte("a=1")}, {Key: "ce_traceparent", Value: []byte("tp")}},
			want: "ce_tracestate=a=1;ce_traceparent=tp;traceparent=tp;tracestate=a=1;",
		},
		{
			name: "stale plain headers replaced, a stale tracestate removed",
			in: []kafka.Header{{Key: "traceparent", Value: []byte("old")}, {Key: "tracestate", Value: []byte("old=1")},
				{Key: "ce_traceparent", Value: []byte("tp")}, {Key: "x", Value: []byte("y")}},
			want: "ce_traceparent=tp;x=y;traceparent=tp;",
		},
		{
			name: "no trace context: unchanged",
			in:   []kafka.Header{{Key: "content-type", Value: []byte("application/cloudevents+json")}, {Key: "traceparent", Value: []byte("theirs")}},
			want: "content-type=application/cloudevents+json;traceparent=theirs;",
		},
		{name: "no headers", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := kafka.Message{Headers: tc.in}
			AddTraceHeaders(&m)
			if got := traceHeaderList(m.Headers); got != tc.want {
				t.Errorf("headers %s\nwant    %s", got, tc.want)
			}
		})
	}
}

// TestAddTraceHeadersOnBoundRecords: a binary record of either binding path gets
// both header forms; BinaryMessage leaves room for them, so the headers are not copied.
func TestAddTraceHeadersOnBoundRecords(t *testing.T) {
	e := fullEvent()
	for _, path := range []string{"ToKafka", "BinaryMessage"} {
		t.Run(path, func(t *testing.T) {
			bind := func() kafka.Message {
				var m kafka.Message
				var err error
				if path == "ToKafka" {
					m, err = ToKafka(context.Background(), e, "t")
				} else {
					m, err = BinaryMessage(context.Background(), &e, "t")
				}
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := bind()
			AddTraceHeaders(&m)
			h := map[string]string{}
			for _, x := range m.Headers {
				h[x.Key] = string(x.Value)
			}
			if h["traceparent"] != traceparent || h["tracestate"] != tracestate || h["ce_traceparent"] != traceparent || h["ce_tracestate"] != tracestate {
				t.Errorf("headers %v: want traceparent and tracestate in both forms", h)
			}
			if path == "BinaryMessage" {
				m := bind()
				before := &m.Headers[0]
				AddTraceHeaders(&m)
				if &m.Headers[0] != before {
					t.Error("AddTraceHeaders grew a BinaryMessage record's headers: BinaryMessage should leave room")
				}
			}
		})
	}
	// Structured records carry the trace context in the value only.
	s, err := ToKafka(binding.WithForceStructured(context.Background()), e, "t")
	if err != nil {
		t.Fatal(err)
	}
	AddTraceHeaders(&s)
	if got := traceHeaderList(s.Headers); got != "content-type=application/cloudevents+json;" {
		t.Errorf("structured record headers %s", got)
	}
}
