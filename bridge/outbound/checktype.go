package outbound

import (
	"context"
	"fmt"

	"github.com/callbridge/callbridge/internal/command"
)

// typePrefix is what every command's CloudEvent type starts with: the type of a
// command on topic T is typePrefix+T (command.TypeTaskCreate, …).
const typePrefix = "callbridge."

// checkType holds the record's CloudEvent type to its topic's: the topic decides
// what a command is, and a type naming another command settles it as
// invalid_command before its data is even read, so a record meant for one command
// can never run as another. (A record without a type is not a CloudEvent: the
// binding requires one, and it is dead-lettered before the chain.)
func checkType(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		if want := typePrefix + c.Type; c.CEType != want {
			return &command.Error{Code: command.ErrInvalidCommand,
				Message: fmt.Sprintf("ce_type %q does not match topic %s (want %q)", c.CEType, c.Type, want)}
		}
		return next(ctx, c)
	}
}
