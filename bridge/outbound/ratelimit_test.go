package outbound

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

type countTransport struct{ n atomic.Int32 }

func (c *countTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func send(t *testing.T, rt http.RoundTripper, ctx context.Context) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://vendor.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.RoundTrip(req)
	return err
}

func TestRateLimitSpacesRequestsBeyondTheBurst(t *testing.T) {
	tests := []struct {
		name      string
		perSecond float64
		requests  int
		atLeast   time.Duration
	}{
		// A burst of 20, then 20 more per second: 4 beyond the burst need 200ms.
		{"20 per second", 20, 24, 150 * time.Millisecond},
		// Less than one per second still lets one through at once.
		{"a fraction per second allows a burst of one", 0.5, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := &countTransport{}
			rt := NewShare().Transport(next, tt.perSecond)
			start := time.Now()
			for range tt.requests {
				if err := send(t, rt, context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if took := time.Since(start); took < tt.atLeast {
				t.Errorf("%d requests took %v, want at least %v", tt.requests, took, tt.atLeast)
			}
			if int(next.n.Load()) != tt.requests {
				t.Errorf("%d requests passed, want %d", next.n.Load(), tt.requests)
			}
		})
	}
}

func TestNoRateLimitIsTheTransportItself(t *testing.T) {
	next := &countTransport{}
	if rt := NewShare().Transport(next, 0); rt != http.RoundTripper(next) {
		t.Errorf("NewShare().Transport(next, 0) = %T, want next unchanged", rt)
	}
}

func TestARequestWaitingForTheLimitEndsWithItsContext(t *testing.T) {
	next := &countTransport{}
	rt := NewShare().Transport(next, 1)
	if err := send(t, rt, context.Background()); err != nil { // the burst
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := send(t, rt, ctx); err == nil {
		t.Error("a request that cannot get a token before its deadline was sent")
	}
	if next.n.Load() != 1 {
		t.Errorf("%d requests passed, want only the burst", next.n.Load())
	}
}
