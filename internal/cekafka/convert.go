package cekafka

import (
	"context"
	"errors"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/segmentio/kafka-go"
)

// ErrNotCloudEvent is wrapped by FromKafka's error when a record is not a valid
// CloudEvent in either mode; such records belong on the dead-letter topic.
var ErrNotCloudEvent = errors.New("record is not a CloudEvent")

// ToKafka binds a valid event to a record for topic: binary mode, or structured
// when ctx comes from binding.WithForceStructured; the key is the partitionkey
// extension when set.
func ToKafka(ctx context.Context, e cloudevents.Event, topic string) (kafka.Message, error) {
	if err := e.Validate(); err != nil {
		return kafka.Message{}, fmt.Errorf("cekafka: invalid event %q: %w", e.ID(), err)
	}
	m := kafka.Message{Topic: topic}
	if err := WriteMessage(ctx, binding.ToMessage(&e), &m); err != nil {
		return kafka.Message{}, fmt.Errorf("cekafka: binding event %q: %w", e.ID(), err)
	}
	return m, nil
}

// FromKafka decodes a record in either mode into a validated event. The error
// wraps ErrNotCloudEvent (and the cause) when the record is not a CloudEvent.
func FromKafka(m kafka.Message) (*cloudevents.Event, error) {
	msg := NewMessage(&m)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, fmt.Errorf("%w: no ce_specversion header and content-type %q is not a CloudEvents format", ErrNotCloudEvent, msg.ContentType)
	}
	e, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCloudEvent, err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCloudEvent, err)
	}
	return e, nil
}
