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
//
// A Reaper can also bound the connections open at once (Listener): a burst of new
// connections past the bound first takes the place of idle ones, and waits in the
// listen backlog only while every connection has a request on it. What a connection
// costs in the Go runtime (its goroutine's descriptor, its poller entry) is kept for
// good once allocated, so the number open at the busiest moment sets the process's
// size for the rest of its life.
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
	// open counts connections from StateNew until StateClosed or StateHijacked.
	open int
	// freed wakes a Listener waiting for room (waiting) when a connection closes
	// or turns idle.
	freed   chan struct{}
	waiting bool
}

const (
	DefaultMax   = 16
	DefaultAfter = 5 * time.Second
)

// ConnState is the server's ConnState hook (chain it when the server has its own).
func (r *Reaper) ConnState(c net.Conn, s http.ConnState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch s {
	case http.StateNew:
		r.open++
	case http.StateClosed, http.StateHijacked:
		r.open--
		r.wakeLocked()
	case http.StateIdle:
		// A connection a waiting Listener can close for its new one.
		r.wakeLocked()
	}
	if s == http.StateIdle {
		if r.idle == nil {
			r.idle = map[net.Conn]time.Time{}
		}
		r.idle[c] = time.Now()
		return
	}
	delete(r.idle, c)
}

// wakeLocked tells a Listener waiting for room to look again.
func (r *Reaper) wakeLocked() {
	if !r.waiting {
		return
	}
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// Open is how many connections are open now.
func (r *Reaper) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

// Listener returns ln bounded to max connections open at once (max <= 0: ln as it
// is), for a server whose ConnState hook is r's. A connection accepted while max are
// open is handed to the server only once another has closed: the longest-idle one is
// closed for it at once, and when none is idle it waits for a request to finish
// with its connection.
func (r *Reaper) Listener(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, r: r, max: max, done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	r    *Reaper
	max  int
	once sync.Once
	done chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// The server counts c open (StateNew) before it accepts again, so open stays
	// within max with c among them.
	if err := l.r.room(l.max, l.done); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// room waits until fewer than max connections are open, closing the longest-idle
// one meanwhile when there is one.
func (r *Reaper) room(max int, done <-chan struct{}) error {
	for {
		r.mu.Lock()
		if r.open < max {
			r.waiting = false
			r.mu.Unlock()
			return nil
		}
		if r.freed == nil {
			r.freed = make(chan struct{}, 1)
		}
		r.waiting = true
		var oldest net.Conn
		var since time.Time
		for c, t := range r.idle {
			if oldest == nil || t.Before(since) {
				oldest, since = c, t
			}
		}
		// Closed under the lock, as Reap does, so that it is closed only while no
		// request is on it.
		if oldest != nil {
			delete(r.idle, oldest)
			_ = oldest.Close()
		}
		freed := r.freed
		r.mu.Unlock()
		if oldest != nil && r.Closed != nil {
			r.Closed(1)
		}
		select {
		case <-freed:
		case <-done:
			r.mu.Lock()
			r.waiting = false
			r.mu.Unlock()
			return net.ErrClosed
		}
	}
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
