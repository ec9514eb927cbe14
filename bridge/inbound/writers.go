package inbound

import (
	"slices"
	"sync"
	"time"
)

// A runner runs the detached writes on goroutines kept for reuse. A write goes deep
// into the producer, so a fresh goroutine grew its stack (copying it twice or so) for
// every webhook; a kept one has grown it already. The most recently idle goroutine
// takes the next write, so that under steady traffic the same few stay busy and
// those a burst started (one per held webhook, up to the in-flight bound) go idle and
// end after ten seconds instead of outliving it.

type runner struct {
	idleFor time.Duration
	mu      sync.Mutex
	idle    []*worker // most recently idle last
	stopped bool
}

type worker struct{ jobs chan func() }

func newRunner(idleFor time.Duration) *runner { return &runner{idleFor: idleFor} }

// do runs f on the most recently idle goroutine, or on a new one when none is idle.
func (r *runner) do(f func()) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		go f()
		return
	}
	if n := len(r.idle); n > 0 {
		w := r.idle[n-1]
		r.idle[n-1] = nil
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		w.jobs <- f
		return
	}
	r.mu.Unlock()
	go r.loop(&worker{jobs: make(chan func(), 1)}, f)
}

func (r *runner) loop(w *worker, f func()) {
	timer := time.NewTimer(r.idleFor)
	defer timer.Stop()
	for {
		f()
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		r.idle = append(r.idle, w)
		r.mu.Unlock()
		timer.Reset(r.idleFor)
		select {
		case f = <-w.jobs:
			if f == nil {
				return
			}
			continue
		case <-timer.C:
		}
		r.mu.Lock()
		if i := slices.Index(r.idle, w); i >= 0 {
			r.idle = slices.Delete(r.idle, i, i+1)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		// Taken just as it timed out: its job (or the stop) is on the way.
		if f = <-w.jobs; f == nil {
			return
		}
	}
}

// stop ends the idle goroutines, and the busy ones once their write is done; writes
// handed to it later run on goroutines of their own.
func (r *runner) stop() {
	r.mu.Lock()
	idle := r.idle
	r.idle, r.stopped = nil, true
	r.mu.Unlock()
	for _, w := range idle {
		w.jobs <- nil
	}
}

// goroutines is how many goroutines the runner keeps idle.
func (r *runner) goroutines() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.idle)
}
