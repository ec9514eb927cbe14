// Package vendorhttp builds the HTTP client every vendor request of a process goes
// through: telemetry (a client span and http.client.request.duration per request),
// then the account's rate limit. The limiter is one per account per process, shared by
// every user of the account's client (the outbound half, reconciliation, the CLI), so
// that together they stay within the account's RATE_LIMIT.
package vendorhttp

import (
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/time/rate"

	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

var (
	mu       sync.Mutex
	limiters = map[limiterKey]*rate.Limiter{}
)

type limiterKey struct {
	account string
	rate    float64
}

// limiter returns the process's limiter of acct; nil when it has no rate limit.
func limiter(acct *platform.Account) *rate.Limiter {
	if acct.RateLimit <= 0 {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	k := limiterKey{acct.Name, acct.RateLimit}
	l, ok := limiters[k]
	if !ok {
		l = rate.NewLimiter(rate.Limit(acct.RateLimit), max(1, int(acct.RateLimit)))
		limiters[k] = l
	}
	return l
}

// Transport is acct's chain over base (nil: http.DefaultTransport): telemetry, then the
// account's shared rate limit. tel may be nil.
func Transport(base http.RoundTripper, acct *platform.Account, tel *telemetry.Telemetry) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	rt := tel.Transport(base, acct.Vendor)
	if l := limiter(acct); l != nil {
		rt = &limited{next: rt, lim: l}
	}
	return rt
}

// Client returns acct's vendor API client on Transport.
func Client(base http.RoundTripper, acct *platform.Account, tel *telemetry.Telemetry) (platform.Client, error) {
	v, ok := platform.Lookup(acct.Vendor)
	if !ok {
		return nil, fmt.Errorf("account %s: vendor %q is not registered", acct.Name, acct.Vendor)
	}
	return v.NewClient(acct, &http.Client{Transport: Transport(base, acct, tel)}), nil
}

type limited struct {
	next http.RoundTripper
	lim  *rate.Limiter
}

func (t *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.lim.Wait(r.Context()); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(r)
}
