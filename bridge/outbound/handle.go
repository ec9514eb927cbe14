package outbound

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// handle settles one record: a result on command.result, or the record on the
// dead-letter topic. It returns an error only when neither could be stored.
func (o *Outbound) handle(ctx context.Context, msg kafka.Message) error {
	// A command already handed to the vendor is finished even when the process is
	// asked to stop: an interrupted call would leave its outcome unknown.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.CommandTimeout)
	defer cancel()
	typ := o.topicOf[msg.Topic]
	ev, err := cekafka.FromKafka(msg)
	if err != nil {
		d := publish.DeadLetter{
			Reason: "not a CloudEvent: " + err.Error(), Source: "command",
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

	e, err := o.exec.run(ctx, typ, ev)
	if err != nil {
		return err
	}
	key := string(msg.Key)
	if key == "" {
		key = ev.ID()
	}
	if err := o.publishResult(ctx, key, e); err != nil {
		return err
	}
	r := e.Result
	attrs := []any{"command_id", r.CommandID, "type", r.CommandType, "account", r.Account, "outcome", r.Outcome, "attempts", r.Attempts}
	if r.Error != nil {
		attrs = append(attrs, "error_code", r.Error.Code, "error", r.Error.Message)
	}
	o.log.InfoContext(ctx, "command settled", attrs...)
	o.cfg.Telemetry.Meters().Command(ctx, r.CommandType, r.Account, outcomeLabel(r))
	return nil
}

func outcomeLabel(r *command.Result) string {
	if r.Error != nil {
		return r.Error.Code
	}
	return r.Outcome
}

// publishResult produces the recorded result. Its id and time come from the ledger,
// so publishing it again for a repeated command yields the identical event.
func (o *Outbound) publishResult(ctx context.Context, key string, e ledger.Entry) error {
	r := e.Result
	if r.VendorRequestIDs == nil {
		r.VendorRequestIDs = []string{}
	}
	typ := event.TypeCommandSucceeded
	if r.Outcome == command.Failed {
		typ = event.TypeCommandFailed
	}
	vendor := r.Vendor
	if vendor == "" {
		vendor = "unknown"
	}
	out := event.Out{
		Topic:   event.TopicCommandResult,
		Type:    typ,
		ID:      event.ID("callbridge", r.Account, "command.result", r.CommandID),
		Subject: "command/" + r.CommandID,
		Time:    e.UpdatedAt,
		Key:     key,
		Data:    r,
	}
	if err := o.cfg.Publisher.Publish(ctx, vendor, r.Account, []event.Out{out}); err != nil {
		return fmt.Errorf("outbound: publish result of %s: %w", r.CommandID, err)
	}
	return nil
}
