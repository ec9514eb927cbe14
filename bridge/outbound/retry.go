package outbound

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// RetryPolicy retries retryable vendor failures (transport errors, timeouts, 5xx,
// 429) with exponential backoff and jitter; vendor 401/403/404/412 are final at once.
// Zero values are the defaults.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one step; default 5.
	MaxAttempts int
	// Initial is the first backoff; default 200ms. It grows 1.5× per attempt (the
	// backoff library's default) up to Max (default 30s), each wait randomized by
	// ±50% so instances do not retry in lockstep.
	Initial, Max time.Duration
}

// do calls fn until it succeeds, fails for good, or attempts run out, and reports how
// many attempts it made.
func (p RetryPolicy) do(ctx context.Context, tel *telemetry.Telemetry, vendor, step string,
	fn func(ctx context.Context, attempt int) (platform.Reply, error)) (platform.Reply, int, error) {
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.Initial
	if b.InitialInterval <= 0 {
		b.InitialInterval = 200 * time.Millisecond
	}
	b.MaxInterval = p.Max
	if b.MaxInterval <= 0 {
		b.MaxInterval = 30 * time.Second
	}
	b.RandomizationFactor = 0.5
	b.MaxElapsedTime = 0
	b.Reset()
	for attempt := 1; ; attempt++ {
		reply, err := fn(telemetry.WithAttempt(ctx, attempt), attempt)
		if err == nil || !platform.IsRetryable(err) || attempt >= maxAttempts || ctx.Err() != nil {
			return reply, attempt, err
		}
		tel.Meters().VendorRetry(ctx, vendor, step)
		wait := b.NextBackOff()
		select {
		case <-ctx.Done():
			return reply, attempt, err
		case <-time.After(wait):
		}
	}
}
