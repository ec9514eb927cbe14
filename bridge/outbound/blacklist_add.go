package outbound

import (
	"context"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// pendingBlacklist is the ledger's Pending value of a blacklist.add's vendor call.
const pendingBlacklist = "blacklist"

// blacklistAdd adds a number to the account's blacklist, on vendors whose client is a
// platform.Blacklister. An add that was in flight when a previous run stopped is not
// made again (each add makes a vendor entry of its own, and no API lists them): it
// ends outcome_unknown.
func (s *session) blacklistAdd(ctx context.Context, c *command.BlacklistAdd) error {
	if s.e.Pending == pendingBlacklist {
		return unknownOutcome(pendingBlacklist)
	}
	bl, ok := s.client.(platform.Blacklister)
	if !ok {
		return &command.Error{Code: command.ErrUnsupportedByVendor, Message: s.acct.Vendor + " has no blacklist API"}
	}
	_, err := s.step(ctx, pendingBlacklist, func(ctx context.Context, _ int) (platform.Reply, error) {
		return bl.AddBlacklist(ctx, c)
	})
	return err
}
