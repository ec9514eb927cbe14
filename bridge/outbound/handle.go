package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// Publisher is what the outbound half needs from internal/publish.
type Publisher interface {
	Publish(ctx context.Context, vendor, account string, outs []event.Out) error
	DeadLetter(ctx context.Context, d publish.DeadLetter, reasonKind string) error
}

// handle settles one record: a result on command.result, or the record on the
// dead-letter topic. It returns an error only when neither could be stored.
func (o *Outbound) handle(ctx context.Context, msg kafka.Message) error {
	// A command already handed to the vendor is finished even when the process is
	// asked to stop: an interrupted call would leave its outcome unknown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.CommandTimeout)
	defer cancel()
	ev, err := cekafka.FromKafka(msg)
	if err != nil {
		d := publish.DeadLetter{
			Reason: err.Error(), Source: "command", // cekafka says "record is not a CloudEvent: why"
			Body: msg.Value, Key: msg.Key, Headers: msg.Headers,
			Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset,
		}
		if err := o.cfg.Publisher.DeadLetter(ctx, d, "not_a_cloudevent"); err != nil {
			return fmt.Errorf("outbound: dead-letter %s/%d@%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
		}
		o.log.WarnContext(ctx, "record is not a CloudEvent; dead-lettered", "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset)
		return nil
	}
	// A plain W3C traceparent header continues the producer's trace; the event's own
	// (ce_traceparent) wins in StartConsumerSpan when both are there.
	ctx = telemetry.ExtractKafkaHeaders(ctx, msg.Headers)
	ctx, span := telemetry.StartConsumerSpan(ctx, msg.Topic, msg.Partition, msg.Offset, ev, telemetry.ConsumerGroup(o.cfg.Group))
	defer span.End()

	c := &Command{ID: ev.ID(), Type: o.topicOf[msg.Topic], Partition: msg.Partition, CEType: ev.Type(), Data: ev.Data()}
	if err := o.exec(ctx, c); err != nil {
		return err
	}
	key := string(msg.Key)
	if key == "" {
		key = c.ID
	}
	if err := o.publishResult(ctx, key, c.Entry); err != nil {
		var invalid *publish.InvalidEventError
		if !errors.As(err, &invalid) {
			return err
		}
		// A result that breaks its own schema is our bug, and would stop the partition
		// for good if it held the offset: keep the command for replay once fixed.
		d := publish.DeadLetter{
			Reason: "its result does not match the schema: " + err.Error(), Source: "command",
			Account: c.Entry.Account, Body: msg.Value, Key: msg.Key, Headers: msg.Headers,
			Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset,
		}
		if err := o.cfg.Publisher.DeadLetter(ctx, d, "invalid_result"); err != nil {
			return fmt.Errorf("outbound: dead-letter %s/%d@%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
		}
		o.log.ErrorContext(ctx, "command result does not match its schema; command dead-lettered", "command_id", c.ID, "error", err)
		return nil
	}
	r := c.Entry.Result
	attrs := []any{"command_id", r.CommandID, "type", r.CommandType, "account", r.Account, "outcome", r.Outcome, "attempts", r.Attempts}
	if r.Error != nil {
		attrs = append(attrs, "error_code", r.Error.Code, "error", r.Error.Message)
	}
	o.log.InfoContext(ctx, "command settled", attrs...)
	outcome := outcomeLabel(r)
	if c.Duplicate {
		outcome = "duplicate" // settled before: its result published again, nothing executed
	}
	o.cfg.Telemetry.Meters().Command(ctx, r.CommandType, r.Account, outcome)
	return nil
}
