package outbound

import (
	"context"
	"math"
	"net/http"
	"sync"
	"time"
)

// windowMargin widens each one-second window a little, for clocks' granularity.
const windowMargin = 10 * time.Millisecond

// Share is this instance's part of the deployment's per-account rate limits:
// RATE_LIMIT is what the vendor sees from all instances together, so each instance
// sends its share of it. Whoever knows the membership (the outbound half, from its
// consumer group's generations) feeds it with Set; every account transport built
// with Transport follows at once. The zero Share, and a nil one, are a deployment
// of one. Anything
// else in the process that calls a vendor (reconciliation) must use transports of
// the same Share.
type Share struct {
	mu            sync.Mutex
	index, member int
	set           bool
	// recent are the shares (or, before the first Set, "nothing yet") that held
	// within the last window: other instances may still be sending under them, so
	// the quota is the smallest of them until they age out.
	recent []pastShare
}

type pastShare struct {
	index, members int // members 0: no share yet (a new instance sends nothing)
	until          time.Time
}

// NewShare returns the share of a deployment of one instance.
func NewShare() *Share { return &Share{member: 1} }

// Set says this instance is number index (0-based, in an order every member agrees
// on) of members live instances.
func (s *Share) Set(index, members int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	index, members = max(0, index), max(1, members)
	if s.set && index == s.index && members == s.member {
		return
	}
	// The old share stays in force for one more window: the instances that joined or
	// left learn of the change at slightly different moments. An instance's first
	// share follows a window of sending nothing, since it cannot know what the
	// others sent just before.
	past := pastShare{index: s.index, members: s.member, until: time.Now().Add(time.Second + windowMargin)}
	if !s.set {
		past.members = 0
	}
	s.recent = append(s.recent, past)
	s.index, s.member, s.set = index, members, true
}

// Members returns this instance's index and the number of members.
func (s *Share) Members() (index, members int) {
	if s == nil {
		return 0, 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index, max(1, s.member)
}

// quota is how many requests this instance may send in any window of the returned
// length, for a deployment-wide limit of perSecond. With at least as many whole
// requests per second as instances, the integer shares add up to the limit (the
// first members take the remainder), so the vendor never sees more than perSecond in
// any second. With fewer, each instance sends one request per members/perSecond
// seconds: the limit holds on average, not in every second.
func (s *Share) quota(perSecond float64) (int, time.Duration, time.Time) {
	if s == nil {
		q, w := quotaOf(perSecond, 0, 1)
		return q, w, time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, w := quotaOf(perSecond, s.index, s.member)
	now := time.Now()
	var until time.Time
	keep := s.recent[:0]
	for _, p := range s.recent {
		if now.After(p.until) {
			continue
		}
		keep = append(keep, p)
		pq, pw := 0, w
		if p.members > 0 {
			pq, pw = quotaOf(perSecond, p.index, p.members)
		}
		// Compare rates: the smaller per-window quota over the longer window.
		if float64(pq)/pw.Seconds() < float64(q)/w.Seconds() {
			q, w = pq, max(w, pw)
		}
		until = p.until
	}
	s.recent = keep
	return q, w, until
}

func quotaOf(perSecond float64, index, n int) (int, time.Duration) {
	total := int(math.Floor(perSecond))
	if total >= n {
		q := total / n
		if index < total%n {
			q++
		}
		return q, time.Second + windowMargin
	}
	return 1, time.Duration(float64(n)/perSecond*float64(time.Second)) + windowMargin
}

// Transport limits the requests of one account (perSecond for the whole deployment;
// 0 is no limit) to this instance's share.
func (s *Share) Transport(next http.RoundTripper, perSecond float64) http.RoundTripper {
	if perSecond <= 0 {
		return next
	}
	return &limitTransport{next: next, share: s, perSecond: perSecond}
}

// limitTransport is a sliding-window limiter: a request goes once fewer than the
// quota were under way or finished within the window before it. A request counts
// from its start until one window after its response, so the bound holds at the
// vendor whatever the network and the scheduler delay in between: of any quota+1
// requests the vendor receives within one window, the last one sent would have
// found the others in flight or finished within the window, and waited. Unlike a
// token bucket, whose burst plus refill lets up to twice the rate through in one
// second, it bounds every window.
type limitTransport struct {
	next      http.RoundTripper
	share     *Share
	perSecond float64

	mu      sync.Mutex
	slots   []*slot       // requests under way or finished within the last window, oldest first
	changed chan struct{} // closed (and replaced) whenever a request finishes
}

type slot struct {
	end time.Time // zero while under way
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s, err := t.wait(r.Context())
	if err != nil {
		return nil, err
	}
	defer t.finish(s)
	return t.next.RoundTrip(r)
}

func (t *limitTransport) finish(s *slot) {
	t.mu.Lock()
	s.end = time.Now()
	if t.changed != nil {
		close(t.changed)
		t.changed = nil
	}
	t.mu.Unlock()
}

func (t *limitTransport) wait(ctx context.Context) (*slot, error) {
	for {
		q, window, transition := t.share.quota(t.perSecond)
		t.mu.Lock()
		now := time.Now()
		keep := t.slots[:0]
		var until time.Time // when the next finished request leaves the window
		for _, s := range t.slots {
			if !s.end.IsZero() && now.Sub(s.end) >= window {
				continue
			}
			keep = append(keep, s)
			if !s.end.IsZero() && (until.IsZero() || s.end.Add(window).Before(until)) {
				until = s.end.Add(window)
			}
		}
		clear(t.slots[len(keep):])
		t.slots = keep
		if len(t.slots) < q {
			s := &slot{}
			t.slots = append(t.slots, s)
			t.mu.Unlock()
			return s, nil
		}
		// Wait for a place: a finished request leaving the window, one under way
		// finishing, or (none allowed while a new share settles) the transition ending.
		if t.changed == nil {
			t.changed = make(chan struct{})
		}
		changed := t.changed
		t.mu.Unlock()
		if q == 0 || until.IsZero() || (!transition.IsZero() && transition.Before(until)) {
			if !transition.IsZero() {
				until = transition
			}
		}
		var timer <-chan time.Time
		if !until.IsZero() {
			tm := time.NewTimer(time.Until(until))
			defer tm.Stop()
			timer = tm.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer:
		case <-changed:
		}
	}
}
