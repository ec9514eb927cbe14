package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/schemas"
)

// validate checks the data against its command's schema before anything reaches a
// vendor; a violation settles the command as invalid_command.
func validate(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		if err := schemas.Validate(c.Type, c.Data); err != nil {
			return &command.Error{Code: command.ErrInvalidCommand, Message: err.Error()}
		}
		return next(ctx, c)
	}
}
