package outbound

import (
	"context"
	"time"

	"github.com/callbridge/callbridge/internal/ledger"
)

// Store is what executing a command needs from the idempotency ledger.
type Store interface {
	// Get returns the recorded entry of a command id.
	Get(id string) (ledger.Entry, bool)
	// Put records e durably and returns it as recorded (UpdatedAt and Owner stamped).
	// An error means the write may or may not have landed.
	Put(ctx context.Context, e ledger.Entry) (ledger.Entry, error)
}

// Ledger is what the outbound half needs from the ledger: the Store its steps use,
// the read barrier run after every rebalance, and retention.
type Ledger interface {
	Store
	// Sync returns once every write any instance acknowledged before the call is
	// visible to Get.
	Sync(ctx context.Context) error
	// SettledBefore lists settled commands last written before t.
	SettledBefore(t time.Time) []string
	// Forget drops a command from the ledger.
	Forget(ctx context.Context, id string) error
}
