package inbound

import "time"

// writers runs the detached writes on goroutines kept for reuse. A write goes deep
// into the producer, so a fresh goroutine grew its stack (copying it twice or so) for
// every webhook; a kept one has grown it already. Goroutines idle for ten seconds end,
// so that those a burst started (one per held webhook, up to the in-flight bound) do
// not outlive it.
var writers = newRunner(10 * time.Second)

type runner struct {
	jobs chan func()
	idle time.Duration
}

func newRunner(idle time.Duration) *runner { return &runner{jobs: make(chan func()), idle: idle} }

// do runs f on an idle goroutine, or on a new one when none is idle.
func (r *runner) do(f func()) {
	select {
	case r.jobs <- f:
	default:
		go r.loop(f)
	}
}

func (r *runner) loop(f func()) {
	idle := time.NewTimer(r.idle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(r.idle)
		select {
		case f = <-r.jobs:
		case <-idle.C:
			return
		}
	}
}
