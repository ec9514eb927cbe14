package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// pendingUpdate is the ledger's Pending value of a task.update's vendor call.
const pendingUpdate = "update"

// taskUpdate changes a task, on vendors whose client is a platform.TaskUpdater. Fields
// the vendor cannot change fail with unsupported_by_vendor before any call. An update
// that was in flight when a previous run stopped is made again: it writes absolute
// values, so a second one leaves the task as one would.
func (s *session) taskUpdate(ctx context.Context, c *command.TaskUpdate) error {
	s.e.Steps.TaskID = string(c.TaskID)
	up, ok := s.client.(platform.TaskUpdater)
	if !ok {
		return &command.Error{Code: command.ErrUnsupportedByVendor, Message: s.acct.Vendor + " has no task update API"}
	}
	_, err := s.step(ctx, pendingUpdate, func(ctx context.Context, _ int) (platform.Reply, error) {
		return up.UpdateTask(ctx, c)
	})
	return err
}
