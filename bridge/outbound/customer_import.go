package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// customerImport adds customers to an existing task.
func (s *session) customerImport(ctx context.Context, c *command.CustomerImport) error {
	s.e.Steps.TaskID = string(c.TaskID)
	return s.importCustomers(ctx, string(c.TaskID), c.Customers)
}

// importCustomers imports in vendor-sized batches, checkpointing after each batch and
// resuming after the last recorded one. A batch that was in flight when a previous
// run stopped is not repeated: it may have been imported.
func (s *session) importCustomers(ctx context.Context, taskID string, customers []command.Customer) error {
	st := &s.e.Steps
	if _, ok := ledger.ImportBatch(s.e.Pending); ok {
		return unknownOutcome(s.e.Pending)
	}
	size := s.client.ImportBatchSize()
	for i := st.ImportedBatches; i*size < len(customers); i++ {
		batch := customers[i*size : min((i+1)*size, len(customers))]
		reply, err := s.step(ctx, ledger.PendingImport(i), func(ctx context.Context, _ int) (platform.Reply, error) {
			return s.client.ImportCustomers(ctx, taskID, batch)
		})
		if err != nil {
			return err
		}
		st.ImportedBatches = i + 1
		st.Accepted += reply.Accepted
		st.Rejected += reply.Rejected
	}
	return nil
}
