package outbound

import (
	"context"
	"errors"
	"fmt"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// session is one command's execution against one account: its sagas make vendor
// calls through step, which checkpoints each in the ledger.
type session struct {
	e      *ledger.Entry
	acct   *platform.Account
	client platform.Client
	store  Store
	retry  RetryPolicy
	tel    *telemetry.Telemetry
}

// call is one attempt at a vendor request; attempt counts from 1.
type call func(ctx context.Context, attempt int) (platform.Reply, error)

// checkpoint records the entry; pending names the vendor call about to be made.
func (s *session) checkpoint(ctx context.Context, pending string) error {
	s.e.Pending = pending
	rec, err := s.store.Put(ctx, *s.e)
	if err != nil {
		return fmt.Errorf("outbound: checkpoint %s of %s: %w", pending, s.e.CommandID, err)
	}
	*s.e = rec
	return nil
}

// step makes one vendor call (with retries) under a pending checkpoint. A final
// vendor failure comes back as a *command.Error (see classify); any other error
// means nothing could be recorded.
func (s *session) step(ctx context.Context, name string, fn call) (platform.Reply, error) {
	return s.stepOr(ctx, name, classify, fn)
}

// stepOr is step with fail saying what a final vendor failure settles as.
func (s *session) stepOr(ctx context.Context, name string, fail func(error) *command.Error, fn call) (platform.Reply, error) {
	if err := s.checkpoint(ctx, name); err != nil {
		return platform.Reply{}, err
	}
	reply, attempts, err := s.retry.do(ctx, s.tel, s.acct.Vendor, name, fn)
	s.e.Attempts = max(s.e.Attempts, attempts)
	if reply.RequestID != "" {
		s.e.VendorRequestIDs = append(s.e.VendorRequestIDs, reply.RequestID)
	}
	var ve *platform.Error
	if errors.As(err, &ve) && ve.RequestID != "" {
		s.e.VendorRequestIDs = append(s.e.VendorRequestIDs, ve.RequestID)
	}
	switch {
	case err == nil:
		s.e.Pending = ledger.PendingNone
		return reply, nil
	case ctx.Err() != nil:
		// Stopped mid-call: the vendor may or may not have acted. Leave the step
		// pending; whoever runs the command next resolves it.
		return reply, fmt.Errorf("outbound: %s interrupted: %w", name, ctx.Err())
	default:
		return reply, fail(err)
	}
}
