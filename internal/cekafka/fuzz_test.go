package cekafka

import (
	"context"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// FuzzFromKafka feeds arbitrary headers ("key=value" lines) and values to
// FromKafka: it must never panic, and whatever it accepts must be a valid event
// that binds back to a record decoding to the same event.
func FuzzFromKafka(f *testing.F) {
	seeds := []struct{ headers, value string }{
		{"ce_specversion=1.0\nce_id=1\nce_source=/s\nce_type=t\ncontent-type=application/json", `{"a":1}`},
		{"ce_specversion=1.0\nce_id=1\nce_source=/s\nce_type=t\nce_time=2019-01-12T16:09:32+08:00\nce_partitionkey=k\nce_traceparent=" + traceparent, ""},
		{"ce_specversion=0.3\nce_id=1\nce_source=/s\nce_type=t", "x"},
		{"content-type=application/cloudevents+json", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"x":[1,2]}}`},
		{"content-type=application/cloudevents+json", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AAEC"}`},
		{"content-type=application/cloudevents+json", `{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"not a time"}`},
		{"content-type=application/cloudevents+json", `{not json`},
		{"content-type=application/json", `{"a":1}`},
		{"", ""},
		{"CE_SPECVERSION=1.0\nCE_ID=1\nCE_SOURCE=/s\nCE_TYPE=t\nce_x-y=1", "v"},
	}
	for _, s := range seeds {
		f.Add(s.headers, []byte(s.value))
	}
	f.Fuzz(func(t *testing.T, headers string, value []byte) {
		m := kafka.Message{Topic: "fuzz", Value: value}
		if headers != "" {
			for _, line := range strings.Split(headers, "\n") {
				k, v, _ := strings.Cut(line, "=")
				m.Headers = append(m.Headers, kafka.Header{Key: k, Value: []byte(v)})
			}
		}
		e, err := FromKafka(m)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("FromKafka accepted an invalid event: %v", err)
		}
		again, err := ToKafka(context.Background(), *e, "fuzz")
		if err != nil {
			t.Fatalf("accepted event does not bind back: %v", err)
		}
		e2, err := FromKafka(again)
		if err != nil {
			t.Fatalf("re-bound event does not decode: %v", err)
		}
		if e2.ID() != e.ID() || e2.Source() != e.Source() || e2.Type() != e.Type() || string(e2.Data()) != string(e.Data()) {
			t.Fatalf("re-bound event differs:\n%v\n%v", e, e2)
		}
	})
}
