package outbound

import (
	"context"
	"encoding/json"

	"github.com/callbridge/callbridge/internal/command"
)

// decode reads the account the command names. Data that does not decode settles the
// command as invalid_command.
func decode(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		var head struct {
			Account string `json:"account"`
		}
		if err := json.Unmarshal(c.Data, &head); err != nil {
			return &command.Error{Code: command.ErrInvalidCommand, Message: "command data does not decode: " + err.Error()}
		}
		c.Entry.Account = head.Account
		return next(ctx, c)
	}
}
