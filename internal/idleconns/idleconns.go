// Package idleconns closes an HTTP server's surplus idle keep-alive connections.
//
// A vendor that retries a backlog opens as many connections as it has callback
// workers, up to the server's in-flight bound, and keeps them alive afterwards. Most
// HTTP clients reuse their most recently used connection first, so once the backlog
// has drained the rest sit idle until the server's idle timeout (minutes), each
// holding a goroutine stack and buffers: tens of MiB for a thousand connections.
// A Reaper closes the connections that have been idle longest beyond a small number
// kept for reuse, once they have been idle a few seconds, so that steady traffic is
// never made to reconnect while a burst's connections are let go soon after it.
package idleconns

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Reaper tracks an http.Server's connections through its ConnState hook. The zero
// value keeps DefaultMax connections idle after DefaultAfter.
type Reaper struct {
	// Max is how many idle connections are kept however long they stay idle (up to the
	// server's IdleTimeout). 0 means DefaultMax.
	Max int
	// After is how long a connection must have been idle before it may be closed.
	// 0 means DefaultAfter.
	After time.Duration
	// Closed, when set, is told each time surplus connections are closed.
	Closed func(n int)

	mu   sync.Mutex
	idle map[net.Conn]time.Time
}

const (
	DefaultMax   = 16
	DefaultAfter = 5 * time.Second
)

// ConnState is the server's ConnState hook (chain it when the server has its own).
func (r *Reaper) ConnState(c net.Conn, s http.ConnState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s == http.StateIdle {
		if r.idle == nil {
			r.idle = map[net.Conn]time.Time{}
		}
		r.idle[c] = time.Now()
		return
	}
	delete(r.idle, c)
}

// Idle is how many connections are idle now.
func (r *Reaper) Idle() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.idle)
}

// Run reaps every half of After until ctx is done.
func (r *Reaper) Run(ctx context.Context) {
	t := time.NewTicker(r.after() / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Reap(now)
		}
	}
}

func (r *Reaper) after() time.Duration {
	if r.After > 0 {
		return r.After
	}
	return DefaultAfter
}

// Reap closes the longest-idle connections beyond Max among those idle for After by
// now, and says how many it closed.
func (r *Reaper) Reap(now time.Time) int {
	max := r.Max
	if max <= 0 {
		max = DefaultMax
	}
	// Under the lock, so that a connection that turns active meanwhile (ConnState
	// takes the lock first) is never closed under its request.
	r.mu.Lock()
	surplus := len(r.idle) - max
	if surplus <= 0 {
		r.mu.Unlock()
		return 0
	}
	type idleConn struct {
		c     net.Conn
		since time.Time
	}
	var old []idleConn
	for c, since := range r.idle {
		if now.Sub(since) >= r.after() {
			old = append(old, idleConn{c, since})
		}
	}
	slices.SortFunc(old, func(a, b idleConn) int { return a.since.Compare(b.since) })
	old = old[:min(surplus, len(old))]
	for _, ic := range old {
		delete(r.idle, ic.c)
		_ = ic.c.Close()
	}
	r.mu.Unlock()
	if len(old) > 0 && r.Closed != nil {
		r.Closed(len(old))
	}
	return len(old)
}
