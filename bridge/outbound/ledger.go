package outbound

import (
	"context"
	"time"

	"github.com/callbridge/callbridge/internal/ledger"
)

// Store is what executing a command needs from the idempotency ledger.
type Store interface {
	// Get returns the recorded entry of a command id read from partition p. An
	// error means the ledger cannot tell (the partition is not loaded here).
	Get(p int, id string) (ledger.Entry, bool, error)
	// Put records e in partition e.Partition durably and returns it as recorded
	// (UpdatedAt and Owner stamped). An error means the write may or may not have
	// landed.
	Put(ctx context.Context, e ledger.Entry) (ledger.Entry, error)
}

// Ledger is what the outbound half needs from the ledger: the Store its steps use,
// the load run after every rebalance, and retention.
type Ledger interface {
	Store
	// Assign loads the ledger partitions of the command partitions this instance
	// owns (and lets the others go); it returns once every write any instance
	// acknowledged in them before the call is visible to Get. Interrupted, it keeps
	// its progress for the next call.
	Assign(ctx context.Context, partitions []int) error
	// SettledBefore lists up to limit settled commands last written before t.
	SettledBefore(t time.Time, limit int) []ledger.Ref
	// Forget drops a command from partition p of the ledger.
	Forget(ctx context.Context, p int, id string) error
}
