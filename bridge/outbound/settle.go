package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// settle turns what the rest of the chain returned into the command's result and
// records it: nil is success, a *command.Error is the failure the result reports.
// Any other error is returned as it is: nothing is recorded and the entry stays at
// its last checkpoint for whoever reads the record next.
type settle struct {
	// Store records the settled entry.
	Store Store
	// Accounts name each result's vendor, also for commands that failed before
	// reaching it.
	Accounts map[string]*platform.Account
}

func (s settle) Middleware(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		err := next(ctx, c)
		var failure *command.Error
		if err != nil && !errors.As(err, &failure) {
			return err
		}
		e := c.Entry
		e.Result = s.result(&e, failure)
		e.State = ledger.StateDone
		e.Pending = ledger.PendingNone
		rec, err := s.Store.Put(ctx, e)
		if err != nil {
			return fmt.Errorf("outbound: record result of %s: %w", e.CommandID, err)
		}
		// What was recorded (Put stamps the time) is what is published, so a repeat of
		// the command publishes the identical result.
		c.Entry = rec
		return nil
	}
}

func (s settle) result(e *ledger.Entry, failure *command.Error) *command.Result {
	r := &command.Result{
		CommandID:        e.CommandID,
		CommandType:      e.CommandType,
		Account:          e.Account,
		Outcome:          command.Succeeded,
		TaskID:           e.Steps.TaskID,
		CallID:           e.Steps.CallID,
		Attempts:         e.Attempts,
		VendorRequestIDs: append([]string{}, e.VendorRequestIDs...),
		Error:            failure,
	}
	if a, ok := s.Accounts[e.Account]; ok {
		r.Vendor = a.Vendor
	}
	if e.CommandType == event.TopicCustomerImport || e.Steps.ImportedBatches > 0 {
		r.Imported = &command.Imported{Accepted: e.Steps.Accepted, Rejected: e.Steps.Rejected}
	}
	if failure != nil {
		r.Outcome = command.Failed
	}
	return r
}
