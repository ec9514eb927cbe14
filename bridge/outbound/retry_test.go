package outbound

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform"
)

func TestRetryPolicy(t *testing.T) {
	fast := RetryPolicy{MaxAttempts: 4, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	tests := []struct {
		name     string
		policy   RetryPolicy
		fails    []error // the answer of each attempt; nil after they run out
		attempts int
		err      bool
	}{
		{"success needs one attempt", fast, nil, 1, false},
		{"retryable failures are retried until one succeeds", fast, []error{vendorErr(http.StatusBadGateway), vendorErr(http.StatusTooManyRequests)}, 3, false},
		{"retryable failures stop at MaxAttempts", fast, []error{vendorErr(500), vendorErr(500), vendorErr(500), vendorErr(500), vendorErr(500)}, 4, true},
		{"a final failure is not retried", fast, []error{vendorErr(http.StatusForbidden)}, 1, true},
		{"an error that is not a vendor answer is not retried", fast, []error{errors.New("bug")}, 1, true},
		{"the zero policy makes five attempts", RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond},
			[]error{vendorErr(500), vendorErr(500), vendorErr(500), vendorErr(500), vendorErr(500), vendorErr(500)}, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, attempts, err := tt.policy.do(context.Background(), nil, testVendor, "step", func(_ context.Context, attempt int) (platform.Reply, error) {
				calls++
				if attempt != calls {
					t.Errorf("attempt %d on call %d", attempt, calls)
				}
				if calls <= len(tt.fails) {
					return platform.Reply{}, tt.fails[calls-1]
				}
				return platform.Reply{ID: "ok"}, nil
			})
			if attempts != tt.attempts || calls != tt.attempts || (err != nil) != tt.err {
				t.Errorf("attempts %d calls %d err %v, want %d attempts, error %v", attempts, calls, err, tt.attempts, tt.err)
			}
		})
	}
}

func TestTheZeroRetryPolicyWaitsTheDefaultBackoff(t *testing.T) {
	start := time.Now()
	_, attempts, err := RetryPolicy{}.do(context.Background(), nil, testVendor, "step", func(_ context.Context, attempt int) (platform.Reply, error) {
		if attempt == 1 {
			return platform.Reply{}, vendorErr(http.StatusServiceUnavailable)
		}
		return platform.Reply{}, nil
	})
	// 200ms randomized by ±50%.
	if took := time.Since(start); err != nil || attempts != 2 || took < 100*time.Millisecond {
		t.Errorf("attempts %d err %v after %v, want a second attempt after at least 100ms", attempts, err, took)
	}
}

func TestRetryBacksOffExponentiallyWithJitter(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 4, Initial: 20 * time.Millisecond, Max: time.Second}
	var at []time.Time
	_, _, _ = p.do(context.Background(), nil, testVendor, "step", func(context.Context, int) (platform.Reply, error) {
		at = append(at, time.Now())
		return platform.Reply{}, vendorErr(http.StatusServiceUnavailable)
	})
	// Waits of 20, 30 and 45ms, each randomized by ±50%.
	for i, min := range []time.Duration{10 * time.Millisecond, 15 * time.Millisecond, 22 * time.Millisecond} {
		if gap := at[i+1].Sub(at[i]); gap < min {
			t.Errorf("wait %d was %v, want at least %v", i+1, gap, min)
		}
	}
}

func TestRetryStopsWaitingWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	p := RetryPolicy{MaxAttempts: 10, Initial: time.Hour, Max: time.Hour}
	start := time.Now()
	_, attempts, err := p.do(ctx, nil, testVendor, "step", func(context.Context, int) (platform.Reply, error) {
		return platform.Reply{}, vendorErr(http.StatusServiceUnavailable)
	})
	if attempts != 1 || err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("attempts %d err %v after %v, want one attempt ended by the context", attempts, err, time.Since(start))
	}
}
