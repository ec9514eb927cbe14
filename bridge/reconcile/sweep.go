// Package reconcile recovers calls whose webhooks never arrived: it reads an account's
// finished calls back through the vendor's query APIs (platform.CallLister) and
// publishes call.finished — with the id, key and data the webhook would have produced,
// data marked recovered — for every call whose event is not on the topic yet.
//
// Three parts, each usable alone:
//   - Published (published.go) knows which call.finished ids are already on Kafka, by
//     reading the topic itself from the window's start.
//   - Sweep (sweep.go) pages one window of one account through the vendor and
//     publishes what is missing; `callbridge reconcile` runs it once.
//   - Engine (engine.go) runs sweeps every RECONCILE_INTERVAL per account, keeps each
//     account's progress on a compacted topic, and lets exactly one instance sweep an
//     account at a time.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// Publisher produces events and returns once Kafka acknowledged them
// (*publish.Publisher).
type Publisher interface {
	Publish(ctx context.Context, vendor, account string, outs []event.Out) error
}

// Outcomes of a call read back, the outcome label of callbridge_reconciled_total.
const (
	OutcomePublished        = "published"
	OutcomeAlreadyPublished = "already_published"
)

// Counts are what a sweep found.
type Counts struct {
	// Pages and Calls are what the vendor listed.
	Pages, Calls int
	// Published were missing from the topic and were published (or, in a dry run,
	// would have been).
	Published int
	// AlreadyPublished were on the topic already.
	AlreadyPublished int
}

func (c *Counts) add(o Counts) {
	c.Pages += o.Pages
	c.Calls += o.Calls
	c.Published += o.Published
	c.AlreadyPublished += o.AlreadyPublished
}

// Sweep reads one window of one account's finished calls and publishes the missing
// ones.
type Sweep struct {
	// Account is the account swept (required).
	Account *platform.Account
	// Lister reads its calls (required), on the account's rate-limited transport.
	Lister platform.CallLister
	// Published holds the ids already on call.finished; the caller refreshes it for the
	// window before Run (required).
	Published *Published
	// Publisher produces the recovered events; required unless DryRun.
	Publisher Publisher
	// DryRun publishes nothing: Missing still sees every call that would be.
	DryRun bool
	// Missing, if set, is called with each call that is (or, dry, would be) published.
	Missing func(event.Out)
	// Checkpoint, if set, is called after each page is published with the cursor of
	// the next page ("" after the last) and the counts so far; an error stops the
	// sweep. The engine stores progress here.
	Checkpoint func(ctx context.Context, next string, c Counts) error
	// PageAttempts is how often a page is asked for when the vendor fails with a
	// retryable error; default 3.
	PageAttempts int
	// Backoff is the wait before the second attempt, doubled after each; default 1s.
	Backoff time.Duration
	// Telemetry counts calls; nil records nothing.
	Telemetry *telemetry.Telemetry
}

// Run pages [from, to) starting at cursor ("" the first page) until the last page.
// It stops at the first failure (a page the vendor would not give, a publish Kafka
// did not acknowledge, a failed checkpoint) and returns the counts so far: the
// checkpoint before the failure is where a new Run resumes, without gaps, and calls
// it publishes again are found in Published, without repeats.
func (s *Sweep) Run(ctx context.Context, from, to time.Time, cursor string) (Counts, error) {
	var total Counts
	if s.Lister == nil || s.Published == nil || (s.Publisher == nil && !s.DryRun) {
		return total, errors.New("reconcile: sweep needs a lister, the published ids and a publisher")
	}
	m := s.Telemetry.Meters()
	for {
		page, err := s.page(ctx, from, to, cursor)
		if err != nil {
			return total, err
		}
		var c Counts
		c.Pages, c.Calls = 1, len(page.Calls)
		var missing []event.Out
		for _, out := range page.Calls {
			if out.Topic != event.TopicCallFinished || s.Published.Has(out.ID) {
				c.AlreadyPublished++
				continue
			}
			missing = append(missing, recovered(out))
		}
		c.Published = len(missing)
		if len(missing) > 0 && !s.DryRun {
			if err := s.Publisher.Publish(ctx, s.Account.Vendor, s.Account.Name, missing); err != nil {
				return total, fmt.Errorf("reconcile: publish %d recovered calls of %s: %w", len(missing), s.Account.Name, err)
			}
		}
		for _, out := range missing {
			if !s.DryRun {
				s.Published.Add(out.ID, time.Now())
			}
			if s.Missing != nil {
				s.Missing(out)
			}
		}
		if !s.DryRun {
			m.Reconciled(ctx, s.Account.Name, OutcomePublished, c.Published)
			m.Reconciled(ctx, s.Account.Name, OutcomeAlreadyPublished, c.AlreadyPublished)
		}
		total.add(c)
		if s.Checkpoint != nil {
			if err := s.Checkpoint(ctx, page.Next, total); err != nil {
				return total, err
			}
		}
		if page.Next == "" {
			return total, nil
		}
		cursor = page.Next
	}
}

// page asks for one page, retrying retryable vendor failures.
func (s *Sweep) page(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
	attempts, wait := s.PageAttempts, s.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if wait <= 0 {
		wait = time.Second
	}
	for i := 1; ; i++ {
		page, err := s.Lister.ListCalls(ctx, from, to, cursor)
		if err == nil {
			return page, nil
		}
		if i >= attempts || !platform.IsRetryable(err) {
			return page, fmt.Errorf("reconcile: list calls of %s: %w", s.Account.Name, err)
		}
		select {
		case <-ctx.Done():
			return page, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// recovered marks out's data as read back: the same event otherwise.
func recovered(out event.Out) event.Out {
	if d, ok := out.Data.(*event.CallFinished); ok {
		cp := *d
		cp.Recovered = true
		out.Data = &cp
	}
	return out
}
