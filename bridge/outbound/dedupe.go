package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/ledger"
)

// deduplicate executes a command at most once. A command the ledger has settled is
// not run again: its recorded entry is returned, so its result is published again.
// Otherwise the command runs from its recorded checkpoint, or from the start.
type deduplicate struct {
	// Store is the idempotency ledger.
	Store Store
}

func (d deduplicate) Middleware(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		e, seen, err := d.Store.Get(c.Partition, c.ID)
		if err != nil {
			// Not knowing is not "never seen": leave the record for the next run.
			return err
		}
		if seen && e.Done() {
			c.Entry, c.Duplicate = e, true
			return nil
		}
		if !seen {
			e = ledger.Entry{CommandID: c.ID, CommandType: c.Type, State: ledger.StateStarted}
		}
		e.Partition = c.Partition
		c.Entry = e
		return next(ctx, c)
	}
}
