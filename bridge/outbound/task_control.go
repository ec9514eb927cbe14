package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// taskControl starts, pauses, stops or deletes a task, or sets its concurrency. An
// interrupted control call is repeated: the desired end state is the same, and a
// delete that already happened answers 404, which then counts as done.
func (s *session) taskControl(ctx context.Context, c *command.TaskControl) error {
	s.e.Steps.TaskID = string(c.TaskID)
	resumedDelete := s.e.Pending == command.ActionDelete
	_, err := s.step(ctx, c.Action, func(ctx context.Context, _ int) (platform.Reply, error) {
		reply, err := s.client.ControlTask(ctx, c)
		if ve, gone := notFound(err); resumedDelete && gone {
			return platform.Reply{RequestID: ve.RequestID}, nil
		}
		return reply, err
	})
	return err
}
