package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// taskCreate runs the saga create → import batches → start, resuming after the last
// recorded step.
func (s *session) taskCreate(ctx context.Context, c *command.TaskCreate) error {
	st := &s.e.Steps
	if p := s.e.Pending; p == ledger.PendingCreate || p == ledger.PendingFind {
		// A find pending is a previous resume that was itself interrupted while asking.
		// The create call may have reached the vendor: ask it rather than create twice.
		ids, err := s.findTasks(ctx, c.Name)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
		case 1:
			st.TaskID, st.Created = ids[0], true
		default:
			return unknownOutcome(ledger.PendingCreate)
		}
	}
	// An interrupted import batch is resolved (as outcome_unknown) in importCustomers.
	if !st.Created {
		reply, err := s.step(ctx, ledger.PendingCreate, func(ctx context.Context, attempt int) (platform.Reply, error) {
			if attempt > 1 {
				// A failed attempt may still have created the task.
				if ids, err := s.client.FindTasks(ctx, c.Name); err == nil && len(ids) == 1 {
					return platform.Reply{ID: ids[0]}, nil
				}
			}
			return s.client.CreateTask(ctx, c)
		})
		if err != nil {
			return err
		}
		st.TaskID, st.Created = reply.ID, true
	}
	if len(c.Customers) > 0 {
		if err := s.importCustomers(ctx, st.TaskID, c.Customers); err != nil {
			return err
		}
	}
	if c.Start && !st.Started {
		start := &command.TaskControl{TaskID: command.ID(st.TaskID), Action: command.ActionStart}
		if _, err := s.step(ctx, ledger.PendingStart, func(ctx context.Context, _ int) (platform.Reply, error) {
			return s.client.ControlTask(ctx, start)
		}); err != nil {
			return err
		}
		st.Started = true
	}
	return nil
}

// findTasks asks the vendor for the tasks named name, to resolve a create whose
// outcome was never recorded.
func (s *session) findTasks(ctx context.Context, name string) ([]string, error) {
	var ids []string
	// Could not ask: the create stays unknown rather than being repeated.
	askFailed := func(error) *command.Error {
		ce := unknownOutcome(ledger.PendingCreate)
		ce.Message += "; asking the vendor failed"
		return ce
	}
	_, err := s.stepOr(ctx, ledger.PendingFind, askFailed, func(ctx context.Context, _ int) (platform.Reply, error) {
		var err error
		ids, err = s.client.FindTasks(ctx, name)
		return platform.Reply{}, err
	})
	return ids, err
}
