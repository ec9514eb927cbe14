package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// Command is one command on its way through the chain: what the record said, and the
// ledger entry the steps advance.
type Command struct {
	// ID is the CloudEvent id, the command's idempotency key.
	ID string
	// Type is the command's logical topic, e.g. "task.create": the topic decides it.
	Type string
	// Partition is the partition the record was read from, and so the ledger
	// partition of its entry.
	Partition int
	// CEType is the record's CloudEvent type; checkType holds it to the topic's.
	CEType string
	// Data is the CloudEvent data, the command's JSON.
	Data []byte
	// Entry is the command's ledger entry. deduplicate loads it, the steps advance it,
	// and once settle recorded it, it holds the result to publish.
	Entry ledger.Entry
	// Duplicate is set by deduplicate for a command the ledger had already settled.
	Duplicate bool
	// Account and Client are the account the command names and its vendor client,
	// set by resolve.
	Account *platform.Account
	Client  platform.Client
}

// Handler executes a command. It returns a *command.Error (possibly wrapped) for a
// failure that settles the command, which settle records as a failed result; any
// other error means nothing could be recorded, and the record is read again.
type Handler func(ctx context.Context, c *Command) error

// Middleware is one step of the chain: it wraps the rest of it.
type Middleware func(next Handler) Handler

// chain composes ms into one middleware that runs them in order, the first outermost.
func chain(ms ...Middleware) Middleware {
	return func(h Handler) Handler {
		for i := len(ms) - 1; i >= 0; i-- {
			h = ms[i](h)
		}
		return h
	}
}

// newChain is the whole outbound path of one command, in order, with clients by
// account name. Rate limiting is in each account's HTTP transport (vendorClients) and
// retries are per vendor call (session.step), since a saga makes several calls and
// checkpoints each one.
func newChain(cfg Config, clients map[string]platform.Client) Handler {
	return chain(
		// A settled command returns its recorded entry; nothing below runs again. It
		// comes before decoding so that a repeat publishes the identical result even
		// when the command was invalid.
		deduplicate{Store: cfg.Ledger}.Middleware,
		// The one place a *command.Error becomes a failed result; records the result.
		settle{Store: cfg.Ledger, Accounts: cfg.Accounts}.Middleware,
		checkType,
		decode,
		validate,
		resolve{Accounts: cfg.Accounts, Clients: clients}.Middleware,
	)(dispatcher{Store: cfg.Ledger, Retry: cfg.Retry, Telemetry: cfg.Telemetry}.Handle)
}
