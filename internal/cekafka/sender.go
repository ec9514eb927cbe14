package cekafka

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"
)

// Sender produces CloudEvents through a kafka-go writer (see broker.NewWriter).
type Sender struct {
	w *kafka.Writer
}

// NewSender returns a Sender writing with w; the caller keeps ownership of w.
func NewSender(w *kafka.Writer) *Sender { return &Sender{w: w} }

// Send binds every event for topic (binary mode unless ctx forces structured; a
// binary record's trace context also in the plain W3C headers, see AddTraceHeaders) and
// writes them in one WriteMessages call, so it returns once the brokers have
// acknowledged them all (with the writer's acks), or with the first error. Nothing
// is written when an event is invalid.
func (s *Sender) Send(ctx context.Context, topic string, events ...cloudevents.Event) error {
	if len(events) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, len(events))
	for i, e := range events {
		m, err := ToKafka(ctx, e, topic)
		if err != nil {
			return err
		}
		AddTraceHeaders(&m)
		msgs[i] = m
	}
	if err := s.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("cekafka: producing %d event(s) to %s: %w", len(msgs), topic, err)
	}
	return nil
}
