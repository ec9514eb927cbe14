package outbound

import (
	"context"
	"fmt"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
)

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

// outcomeLabel is the commands metric's outcome: the error code of a failure.
func outcomeLabel(r *command.Result) string {
	if r.Error != nil {
		return r.Error.Code
	}
	return r.Outcome
}
