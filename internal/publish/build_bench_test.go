package publish

import (
	"context"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/event"
)

// BenchmarkBuild measures turning one normalized call into its Kafka record, Kafka
// aside: marshal, CloudEvent, binary-mode record.
func BenchmarkBuild(b *testing.B) {
	p := &Publisher{}
	out := event.Out{
		Topic: event.TopicCallFinished, Type: event.TypeCallFinished, ID: "0123456789abcdef0123456789abcdef",
		Subject: "call/1", Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), Key: "42",
		Data: &event.CallFinished{Vendor: "byai", Account: "a", CallID: "1", Status: "answered",
			Tags: []string{"x"}, Concerns: []string{}, Transcript: []event.Utterance{{Speaker: "robot", Text: "您好"}},
			Raw: []byte(`{"sceneInstance":{"callInstanceId":1}}`)},
	}
	b.ReportAllocs()
	for b.Loop() {
		ev, err := p.Build("byai", "a", out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cekafka.BinaryMessage(context.Background(), &ev, "callbridge.call.finished"); err != nil {
			b.Fatal(err)
		}
	}
}
