package outbound

import (
	"context"
	"fmt"
	"net/http"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/vendorhttp"
)

// resolve finds the account the command names and its vendor client; an account
// that is not configured (or whose vendor is not registered) settles the command as
// unknown_account.
type resolve struct {
	// Accounts by name.
	Accounts map[string]*platform.Account
	// Clients by account name.
	Clients map[string]platform.Client
}

func (r resolve) Middleware(next Handler) Handler {
	return func(ctx context.Context, c *Command) error {
		name := c.Entry.Account
		acct, ok := r.Accounts[name]
		client := r.Clients[name]
		if !ok || client == nil {
			return &command.Error{Code: command.ErrUnknownAccount, Message: fmt.Sprintf("account %q is not configured", name)}
		}
		c.Account, c.Client = acct, client
		return next(ctx, c)
	}
}

// vendorClients builds one client per account whose vendor is registered, each on a
// transport that traces and rate-limits that account's requests (to this instance's
// share of the deployment's limit).
func vendorClients(cfg Config) map[string]platform.Client {
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	clients := map[string]platform.Client{}
	for name, acct := range cfg.Accounts {
		v, ok := platform.Lookup(acct.Vendor)
		if !ok {
			continue
		}
		// The process's one limiter per account (shared with reconciliation), inside
		// this instance's share of the deployment's RATE_LIMIT.
		rt := vendorhttp.Transport(base, acct, cfg.Telemetry)
		clients[name] = v.NewClient(acct, &http.Client{Transport: cfg.Share.Transport(rt, acct.RateLimit)})
	}
	return clients
}
