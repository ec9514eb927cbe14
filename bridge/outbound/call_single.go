package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// callSingle places one call, on vendors whose client is a platform.SingleCaller. A
// call that was in flight when a previous run stopped is never placed again.
func (s *session) callSingle(ctx context.Context, c *command.CallSingle) error {
	// A call of a task's customer belongs to that task.
	s.e.Steps.TaskID = string(c.TaskID)
	if s.e.Pending == ledger.PendingCall {
		return unknownOutcome(ledger.PendingCall)
	}
	caller, ok := s.client.(platform.SingleCaller)
	if !ok {
		return &command.Error{Code: command.ErrUnsupportedByVendor, Message: s.acct.Vendor + " has no single-call API"}
	}
	reply, err := s.step(ctx, ledger.PendingCall, func(ctx context.Context, _ int) (platform.Reply, error) {
		return caller.SingleCall(ctx, c)
	})
	if err != nil {
		return err
	}
	s.e.Steps.CallID = reply.ID
	return nil
}
