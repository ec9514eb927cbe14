package inbound

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A write is one webhook's records on their way to Kafka. It runs detached from the
// request that started it: a request that gives up at the produce timeout answers 503,
// but the write goes on until the producer reports its real outcome, so that
//
//   - what it holds (the body, the records queued in the producer) stays counted
//     against the in-flight bound until the producer lets go of it, and
//   - a retry of the same webhook finds it by event id, and waits for it or answers
//     from it, instead of writing the records a second time.
type write struct {
	done  chan struct{}
	start time.Time
	// prev and next link the running writes, oldest first (under writes.mu).
	prev, next *write
	// Set before done is closed.
	err     error
	outcome string
}

// writes tracks the writes in flight and the event ids recently acknowledged, and
// bounds how many webhooks may hold memory while waiting for Kafka.
type writes struct {
	// max is the bound on held webhooks (CALLBRIDGE_WEBHOOK_MAX_INFLIGHT).
	max int64
	// held counts webhooks from admission until their write finished.
	held atomic.Int64
	// burst says held went past a quarter of max since memory was last returned.
	burst atomic.Bool
	// stalledAt caches the last look for a stalled write (unix nanoseconds) and
	// stalledSeen what it found, so that admissions past a quarter of max do not
	// each take the lock.
	stalledAt   atomic.Int64
	stalledSeen atomic.Bool

	mu sync.Mutex
	// pending maps an event id to the write carrying it.
	pending map[string]*write
	// oldest and newest end the list of writes not yet finished, in the order
	// they started (within the microseconds between reading the clock and taking
	// the lock), for readiness and stalls: a map cost a hash insert and delete
	// per webhook, and finding the longest wait meant walking it.
	oldest, newest *write
	// acked remembers the event ids acknowledged within ackTTL.
	acked  *ackWindow
	ackTTL time.Duration
	// lastOK and lastFail are when a write last succeeded and last failed.
	lastOK, lastFail time.Time
}

func newWrites(max int, ackTTL time.Duration, ackMax int) *writes {
	return &writes{max: int64(max), pending: map[string]*write{},
		acked: newAckWindow(ackMax), ackTTL: ackTTL}
}

// stallAfter is how long a write may wait for its acknowledgement, with more than a
// quarter of the bound held, before Kafka counts as not keeping up. A healthy
// cluster acknowledges acks=all in milliseconds; holding a quarter of the default
// bound (256) at 50 ms each already takes over 5,000 webhooks/s on one instance.
// The moment this matters most is Kafka's return after an outage: the vendors'
// retries of the backlog arrive at several times the usual rate while the first
// produces reconnect, and with 250 ms here the whole bound filled within that
// quarter second (twice the goroutines, and a peak near the container's limit).
const stallAfter = 50 * time.Millisecond

// admit takes one of the bounded slots; false when all are held. Past a quarter of
// them, a webhook is admitted only while Kafka keeps up (the last write to finish
// succeeded, and none has waited longer than stallAfter): when it stops
// acknowledging, or is catching up after an outage, the bound is reached in a
// fraction of a second at vendor rates, and each held webhook keeps a connection and
// two goroutines busy, whose descriptors the Go runtime keeps for good. Refused at
// once instead, the vendor retries later all the same.
func (w *writes) admit(now func() time.Time) bool {
	n := w.held.Add(1)
	if n > w.max || n > w.max/4 && w.stalled(now()) {
		w.held.Add(-1)
		return false
	}
	return true
}

// stalled says whether the last write to finish failed or a running one has waited
// longer than stallAfter, looking at most every 10 ms.
func (w *writes) stalled(now time.Time) bool {
	t := now.UnixNano()
	if last := w.stalledAt.Load(); t-last < int64(10*time.Millisecond) && t >= last {
		return w.stalledSeen.Load()
	}
	w.mu.Lock()
	seen := w.lastFail.After(w.lastOK) || w.waitedOver(now, stallAfter)
	w.mu.Unlock()
	w.stalledSeen.Store(seen)
	w.stalledAt.Store(t)
	return seen
}

// release gives a slot back. When a burst of held webhooks has drained (Kafka came
// back), the memory they held is handed back to the operating system at once rather
// than over the runtime's next minutes, so that the process's size returns to where
// it was before the outage.
func (w *writes) release() {
	n := w.held.Add(-1)
	if n > w.max/4 {
		w.burst.Store(true)
		return
	}
	if n <= w.max/64 && w.burst.Load() && w.burst.CompareAndSwap(true, false) {
		go func() {
			// More than once: the first collection frees what the drained writes
			// held, the later ones return it once their pools let go and the
			// vendors' retries of the backlog, which come for a while after, are done.
			for _, d := range []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second} {
				time.Sleep(d)
				debug.FreeOSMemory()
			}
		}()
	}
}

// claim sorts the event ids of a webhook: those acknowledged within the window need
// nothing; those in flight are waited for (others); the rest (fresh, by index) are
// this webhook's to write, under the returned write (nil when there are none).
func (w *writes) claim(ids []string, now time.Time) (fresh []int, mine *write, others []*write) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, id := range ids {
		if w.acked.has(id, now.UnixNano()) {
			continue
		}
		if o := w.pending[id]; o != nil {
			if o != mine && !containsWrite(others, o) {
				others = append(others, o)
			}
			continue
		}
		if mine == nil {
			mine = w.begin(now)
		}
		w.pending[id] = mine
		fresh = append(fresh, i)
	}
	return fresh, mine, others
}

func containsWrite(ws []*write, x *write) bool {
	for _, w := range ws {
		if w == x {
			return true
		}
	}
	return false
}

// finish records the outcome of wr, which carried ids, and wakes its waiters.
func (w *writes) finish(wr *write, ids []string, err error, outcome string, now time.Time) {
	w.mu.Lock()
	w.unlink(wr)
	for _, id := range ids {
		if w.pending[id] == wr {
			delete(w.pending, id)
		}
		if err == nil {
			w.acked.add(id, now.UnixNano(), now.Add(w.ackTTL).UnixNano())
		}
	}
	if err == nil {
		w.lastOK = now
	} else {
		w.lastFail = now
	}
	w.mu.Unlock()
	wr.err, wr.outcome = err, outcome
	close(wr.done)
}

// health says whether a webhook arriving now would be acknowledged: no write has been
// waiting longer than stuck, and the last write to finish succeeded, or failed longer
// ago than stale (with nothing in flight since, only a probe can tell).
func (w *writes) health(now time.Time, stuck, stale time.Duration) (ok bool, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waitedOver(now, stuck) {
		return false, "a produce has waited more than " + stuck.String()
	}
	if w.lastFail.After(w.lastOK) && now.Sub(w.lastFail) < stale {
		return false, "the last produce failed"
	}
	return true, ""
}

// waitedOver says whether a running write has waited longer than d. Called with w.mu
// held.
func (w *writes) waitedOver(now time.Time, d time.Duration) bool {
	return w.oldest != nil && now.Sub(w.oldest.start) > d
}

// begin starts a write at now, linked as the newest running. Called with w.mu held.
func (w *writes) begin(now time.Time) *write {
	wr := &write{done: make(chan struct{}), start: now, prev: w.newest}
	if w.newest != nil {
		w.newest.next = wr
	} else {
		w.oldest = wr
	}
	w.newest = wr
	return wr
}

// unlink takes wr out of the running writes. Called with w.mu held.
func (w *writes) unlink(wr *write) {
	if wr.prev != nil {
		wr.prev.next = wr.next
	} else if w.oldest == wr {
		w.oldest = wr.next
	}
	if wr.next != nil {
		wr.next.prev = wr.prev
	} else if w.newest == wr {
		w.newest = wr.prev
	}
	wr.prev, wr.next = nil, nil
}
