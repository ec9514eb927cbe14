package idleconns_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/idleconns"
)

// A burst's connections are closed once idle past After, down to Max, and the server
// goes on answering on the ones kept and on new ones.
func TestReaperClosesSurplusIdleConnections(t *testing.T) {
	for _, tc := range []struct {
		name        string
		conns, max  int
		wait        time.Duration
		wantClosed  int
		after       time.Duration
		activeAfter int // connections that send another request before the reap
	}{
		{name: "surplus past After is closed", conns: 20, max: 5, after: 50 * time.Millisecond, wait: 100 * time.Millisecond, wantClosed: 15},
		{name: "within Max nothing is closed", conns: 5, max: 5, after: 50 * time.Millisecond, wait: 100 * time.Millisecond, wantClosed: 0},
		{name: "not yet idle for After", conns: 20, max: 5, after: time.Hour, wait: 0, wantClosed: 0},
		{name: "recently used connections are kept", conns: 20, max: 5, after: 200 * time.Millisecond, wait: 250 * time.Millisecond, activeAfter: 10, wantClosed: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &idleconns.Reaper{Max: tc.max, After: tc.after}
			var hits atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				_, _ = io.WriteString(w, "success")
			}))
			srv.Config.ConnState = r.ConnState
			srv.Start()
			defer srv.Close()

			conns := make([]net.Conn, tc.conns)
			for i := range conns {
				c, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
				request(t, c)
			}
			waitFor(t, func() bool { return r.Idle() == tc.conns })
			time.Sleep(tc.wait)
			for _, c := range conns[:tc.activeAfter] {
				request(t, c)
			}
			if tc.activeAfter > 0 {
				waitFor(t, func() bool { return r.Idle() == tc.conns })
			}
			if got := r.Reap(time.Now()); got != tc.wantClosed {
				t.Fatalf("closed %d, want %d", got, tc.wantClosed)
			}
			// The ones used last are the ones kept, and still answer.
			for _, c := range conns[:tc.activeAfter] {
				request(t, c)
			}
			if tc.wantClosed > 0 {
				// The closed ones are the oldest: the first dialled past activeAfter.
				closed := conns[tc.activeAfter]
				if stillOpen(closed) {
					t.Error("the longest-idle connection is still open")
				}
			}
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			request(t, c)
		})
	}
}

// A connection whose request is under way is never closed, however long it was idle
// before it.
func TestReaperLeavesActiveConnections(t *testing.T) {
	r := &idleconns.Reaper{Max: 1, After: time.Millisecond}
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "success")
	}))
	srv.Config.ConnState = r.ConnState
	srv.Start()
	defer srv.Close()
	defer once.Do(func() { close(release) })

	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		request(t, c)
		conns = append(conns, c)
	}
	time.Sleep(5 * time.Millisecond)
	// The first connection starts a slow request, then everything idle is reaped.
	if _, err := io.WriteString(conns[0], "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.Idle() == 2 })
	r.Reap(time.Now())
	once.Do(func() { close(release) })
	if err := readResponse(conns[0]); err != nil {
		t.Fatalf("the active connection's request failed: %v", err)
	}
}

func request(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := readResponse(c); err != nil {
		t.Fatal(err)
	}
}

func readResponse(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	// "HTTP/1.1 200 OK" ... "success": read until the body's last byte.
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if len(buf) >= 7 && string(buf[len(buf)-7:]) == "success" {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

// Past its bound, Listener hands a new connection to the server in the place of the
// longest-idle one; when none is idle, only once a request has finished with its
// connection. Open never exceeds the bound.
func TestListenerBoundsOpenConnections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max, idle int // connections left idle before the new one
		busy      int // connections with a request under way
		// replaced: the new connection is answered by closing the oldest idle one;
		// otherwise it waits for a busy request to finish.
		replaced bool
	}{
		{name: "idle one closed for the new", max: 3, idle: 3, replaced: true},
		{name: "within the bound", max: 4, idle: 3, replaced: true},
		{name: "every connection busy: waits", max: 2, busy: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &idleconns.Reaper{}
			release := make(chan struct{})
			var once sync.Once
			var overBound atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if r.Open() > tc.max {
					overBound.Add(1)
				}
				if req.URL.Path == "/slow" {
					<-release
				}
				_, _ = io.WriteString(w, "success")
			}))
			srv.Listener = r.Listener(srv.Listener, tc.max)
			srv.Config.ConnState = r.ConnState
			srv.Start()
			defer srv.Close()
			defer once.Do(func() { close(release) })

			dial := func() net.Conn {
				c, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			var idle []net.Conn
			for i := range tc.idle {
				c := dial()
				request(t, c)
				idle = append(idle, c)
				// Idle (the server marks it after the response) before the next one
				// is, so that the first is the longest-idle.
				waitFor(t, func() bool { return r.Idle() == i+1 })
			}
			for range tc.busy {
				if _, err := io.WriteString(dial(), "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, func() bool { return r.Open() == tc.idle+tc.busy })

			c := dial()
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if !tc.replaced {
				_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Fatal("answered while every connection was busy")
				}
				once.Do(func() { close(release) })
			}
			if err := readResponse(c); err != nil {
				t.Fatalf("the new connection was not answered: %v", err)
			}
			if tc.replaced && tc.idle >= tc.max {
				if stillOpen(idle[0]) {
					t.Error("the longest-idle connection is still open")
				}
				request(t, idle[len(idle)-1]) // the others still answer
			}
			if n := overBound.Load(); n > 0 {
				t.Errorf("%d requests saw more than %d connections open", n, tc.max)
			}
		})
	}
}

// Closing the server closes a Listener that waits for room, and a bound of 0 leaves
// the listener as it is.
func TestListenerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &idleconns.Reaper{}
	if got := r.Listener(ln, 0); got != ln {
		t.Fatal("a bound of 0 wrapped the listener")
	}
	block := make(chan struct{})
	srv := &http.Server{ConnState: r.ConnState, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block })}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(r.Listener(ln, 1)) }()
	busy, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := io.WriteString(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return r.Open() == 1 })
	waiting, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	time.Sleep(50 * time.Millisecond) // Accept has it and waits for room
	// Shutdown closes the listener first, then waits for the busy request.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	select {
	case err := <-served:
		if err != http.ErrServerClosed {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return while its listener waited for room")
	}
	close(block)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// stillOpen says whether the server has not closed c within 2 s.
func stillOpen(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err == nil || errors.As(err, &ne) && ne.Timeout()
}
