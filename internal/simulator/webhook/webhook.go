// Package webhook delivers the simulated vendors' callbacks the way Yiwise and BYAI do:
// a JSON POST that counts as delivered only when the receiver answers 2xx with the body
// "success"; otherwise it is retried, up to 10 attempts in all, after 1, 2, 4, 8 …
// minutes (each delay multiplied by the time scale). Deliveries run concurrently.
package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
)

// Defaults from the vendors' callback documents.
const (
	DefaultMaxAttempts = 10
	DefaultFirstDelay  = time.Minute
)

// Config configures a Sender. The zero value delivers on the vendors' real schedule.
type Config struct {
	// Client sends the requests; nil means a client with a 10s timeout.
	Client *http.Client
	// Clock drives the retry delays; nil means the real clock.
	Clock clock.Clock
	// TimeScale multiplies every retry delay (0.001 turns a minute into 60ms); 0 means 1.
	TimeScale float64
	// MaxAttempts is the number of attempts per delivery, the first included; 0 means 10.
	MaxAttempts int
	// FirstDelay is the wait after the first failed attempt, doubled after each further
	// failure (before scaling); 0 means one minute.
	FirstDelay time.Duration
	// OnAttempt, when set, is called after every attempt (from the delivery's goroutine).
	OnAttempt func(Attempt)
}

// Delivery is one callback to deliver.
type Delivery struct {
	// URL is where to POST.
	URL string
	// Kind names the callback for logs and stats, e.g. "CALL_INSTANCE_RESULT".
	Kind string
	// Body is the JSON body.
	Body []byte
	// Render, when set, builds the body afresh for each attempt instead of Body (a
	// signed callback carries the attempt's own dateTime and sign).
	Render func() []byte
	// Seal, when set, wraps each attempt's body as a sealing vendor sends it: the
	// query parameters to add to URL, the body and its content type.
	Seal func(body []byte) Sealed
}

// Sealed is a callback body wrapped for sending (Delivery.Seal).
type Sealed struct {
	Query       url.Values
	Body        []byte
	ContentType string
}

// Attempt reports one POST of a delivery.
type Attempt struct {
	Kind string
	URL  string
	// N is the attempt number, from 1.
	N int
	// At is the clock's time when the attempt was made.
	At time.Time
	// Status is the receiver's HTTP status, 0 when the request failed.
	Status int
	// Err is the transport error or the reason the reply was not a success.
	Err error
	// OK reports a successful delivery.
	OK bool
	// GaveUp reports that this was the last attempt and it failed.
	GaveUp bool
	// NextDelay is the (scaled) wait before the next attempt, when one follows.
	NextDelay time.Duration
}

// Stats counts deliveries and attempts since the Sender was made.
type Stats struct {
	// Attempts is the number of POSTs made.
	Attempts int64
	// Successes is the number of deliveries the receiver acknowledged.
	Successes int64
	// Failures is the number of attempts that did not succeed.
	Failures int64
	// GaveUp is the number of deliveries abandoned after the last attempt.
	GaveUp int64
	// Canceled is the number of deliveries stopped by their context.
	Canceled int64
	// Pending is the number of deliveries still under way.
	Pending int64
}

// Sender delivers callbacks. Safe for concurrent use.
type Sender struct {
	cfg Config
	wg  sync.WaitGroup

	attempts, successes, failures, gaveUp, canceled, pending atomic.Int64
}

// New returns a Sender.
func New(cfg Config) *Sender {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.FirstDelay <= 0 {
		cfg.FirstDelay = DefaultFirstDelay
	}
	return &Sender{cfg: cfg}
}

// Send starts delivering d in the background; it stops when ctx is done.
func (s *Sender) Send(ctx context.Context, d Delivery) {
	s.pending.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.pending.Add(-1)
		s.deliver(ctx, d)
	}()
}

// Wait blocks until every delivery has finished (succeeded, given up or been canceled).
func (s *Sender) Wait() { s.wg.Wait() }

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{
		Attempts:  s.attempts.Load(),
		Successes: s.successes.Load(),
		Failures:  s.failures.Load(),
		GaveUp:    s.gaveUp.Load(),
		Canceled:  s.canceled.Load(),
		Pending:   s.pending.Load(),
	}
}

// Delay is the unscaled wait after the failed attempt n (from 1): 1, 2, 4, 8 … times first.
func Delay(first time.Duration, n int) time.Duration {
	return first << (n - 1)
}

func (s *Sender) deliver(ctx context.Context, d Delivery) {
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			s.canceled.Add(1)
			return
		}
		a := Attempt{Kind: d.Kind, URL: d.URL, N: n, At: s.cfg.Clock.Now()}
		s.attempts.Add(1)
		a.Status, a.Err = s.post(ctx, d)
		a.OK = a.Err == nil
		switch {
		case a.OK:
			s.successes.Add(1)
		case n >= s.cfg.MaxAttempts:
			s.failures.Add(1)
			s.gaveUp.Add(1)
			a.GaveUp = true
		default:
			s.failures.Add(1)
			a.NextDelay = time.Duration(float64(Delay(s.cfg.FirstDelay, n)) * s.cfg.TimeScale)
		}
		if s.cfg.OnAttempt != nil {
			s.cfg.OnAttempt(a)
		}
		if a.OK || a.GaveUp {
			return
		}
		if err := clock.Sleep(ctx, s.cfg.Clock, a.NextDelay); err != nil {
			s.canceled.Add(1)
			return
		}
	}
}

// post makes one attempt; a nil error means the receiver acknowledged the callback.
func (s *Sender) post(ctx context.Context, d Delivery) (int, error) {
	body := d.Body
	if d.Render != nil {
		body = d.Render()
	}
	target, contentType := d.URL, "application/json;charset=UTF-8"
	if d.Seal != nil {
		sealed := d.Seal(body)
		body, contentType = sealed.Body, sealed.ContentType
		target = withQuery(target, sealed.Query)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build callback request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "*/*")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post callback: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read callback reply: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	// The vendors look for the literal body "success"; anything else is a failure.
	if strings.TrimSpace(string(reply)) != "success" {
		return resp.StatusCode, fmt.Errorf("receiver answered %q, not \"success\"", truncate(string(reply), 64))
	}
	return resp.StatusCode, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// withQuery adds q to the query of rawURL, keeping what it has (a token, say).
func withQuery(rawURL string, q url.Values) string {
	u, err := url.Parse(rawURL)
	if err != nil || len(q) == 0 {
		return rawURL
	}
	all := u.Query()
	for k, vs := range q {
		all[k] = vs
	}
	u.RawQuery = all.Encode()
	return u.String()
}
