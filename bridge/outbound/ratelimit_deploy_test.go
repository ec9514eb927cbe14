package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// stampingVendor records when each request arrived: what the vendor sees.
type stampingVendor struct {
	mu sync.Mutex
	at []time.Time
}

func (v *stampingVendor) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	v.mu.Lock()
	v.at = append(v.at, time.Now())
	v.mu.Unlock()
}

// busiestSecond is the most requests in any one-second window [t, t+1s) that starts
// at least skip after begin.
func busiestSecond(at []time.Time, begin time.Time, skip time.Duration) (int, time.Time) {
	at = slices.Clone(at)
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most, when := 0, time.Time{}
	for i, t := range at {
		if t.Before(begin.Add(skip)) {
			continue
		}
		n := 0
		for _, u := range at[i:] {
			if u.Sub(t) >= time.Second {
				break
			}
			n++
		}
		if n > most {
			most, when = n, t
		}
	}
	return most, when
}

// instance is one bridge process's vendor traffic for one account: a Share fed by
// its group membership and workers sending as fast as the limit allows.
type instance struct {
	share  *Share
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func newInstance() *instance { return &instance{share: NewShare()} }

// run starts sending; like the outbound half, which consumes only once its first
// generation gave the share its place.
func (in *instance) run(url string, perSecond float64) {
	rt := in.share.Transport(http.DefaultTransport, perSecond)
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	for range 4 { // partitions in parallel
		in.done.Add(1)
		go func() {
			defer in.done.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
				if resp, err := rt.RoundTrip(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
}

func (in *instance) stop() { in.cancel(); in.done.Wait() }

// regroup is a generation: every live instance learns its place among them.
func regroup(live []*instance) {
	for i, in := range live {
		in.share.Set(i, len(live))
	}
}

func TestTheVendorNeverSeesMoreThanTheRateLimitWhateverTheInstances(t *testing.T) {
	const limit = 10
	phase := 2500 * time.Millisecond
	if testing.Short() {
		phase = 1500 * time.Millisecond
	}
	vendor := &stampingVendor{}
	srv := httptest.NewServer(vendor)
	defer srv.Close()
	begin := time.Now()

	// 1 instance, then a second joins, then a third, then one leaves, then another.
	a := newInstance()
	regroup([]*instance{a})
	a.run(srv.URL, limit)
	time.Sleep(phase)
	b := newInstance()
	regroup([]*instance{a, b})
	b.run(srv.URL, limit)
	time.Sleep(phase)
	c := newInstance()
	regroup([]*instance{a, b, c})
	c.run(srv.URL, limit)
	time.Sleep(phase)
	a.stop() // crashes: the others learn of it a moment later (session timeout)
	time.Sleep(300 * time.Millisecond)
	regroup([]*instance{b, c})
	time.Sleep(phase)
	b.stop()
	regroup([]*instance{c})
	time.Sleep(phase)
	c.stop()

	vendor.mu.Lock()
	at := slices.Clone(vendor.at)
	vendor.mu.Unlock()
	most, when := busiestSecond(at, begin, time.Second)
	if most > limit {
		t.Errorf("the vendor saw %d requests in the second from %v (%.2fs in), want at most %d", most, when.Format(time.StampMilli), when.Sub(begin).Seconds(), limit)
	}
	// The limit is used, not just respected: over the run, near limit per second.
	run := time.Since(begin).Seconds()
	if got := float64(len(at)) / run; got < limit*0.6 {
		t.Errorf("%.1f requests/s on average, want close to %d", got, limit)
	}
	t.Logf("%d requests in %.1fs; busiest second %d", len(at), run, most)
}

func TestQuotasAddUpToTheLimit(t *testing.T) {
	for _, tt := range []struct {
		limit   float64
		members int
	}{{10, 1}, {10, 2}, {10, 3}, {7, 3}, {2.5, 2}, {100, 7}} {
		sum := 0
		for i := range tt.members {
			q, w := quotaOf(tt.limit, i, tt.members)
			if w < time.Second {
				t.Errorf("window %v", w)
			}
			sum += q
		}
		if sum != int(tt.limit) {
			t.Errorf("limit %v over %d members: quotas add up to %d", tt.limit, tt.members, sum)
		}
	}
}
