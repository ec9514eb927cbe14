package bridge_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

// errListenerBroken is what failingListener's Accept returns once it has failed: not
// temporary, so http.Server.Serve gives up and returns it.
var errListenerBroken = errors.New("listener broken (test)")

// failingListener accepts its first connection and then fails every Accept, as a
// listener whose socket went away after the server started.
type failingListener struct {
	net.Listener
	accepts atomic.Int32
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.accepts.Add(1) > 1 {
		return nil, errListenerBroken
	}
	return l.Listener.Accept()
}

func TestRunEndsWithTheReasonWhenTheHTTPServerFailsAfterStart(t *testing.T) {
	const shutdownTimeout = 3 * time.Second
	k := newCluster(t)
	vars := baseVars(k.Addrs(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	vars["CALLBRIDGE_SHUTDOWN_TIMEOUT"] = shutdownTimeout.String()
	env := &outEnv{testEnv: start(t, k, vars), vars: vars}
	env.writer = &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	t.Cleanup(func() { env.writer.Close() })

	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: inner}
	t.Cleanup(func() { inner.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.bridge.Run(ctx, ln) }()

	// The outbound half is running: a command gets its result.
	env.send(event.TopicTaskControl, "before-http-fails", map[string]any{"account": "nobody", "taskId": "1", "action": "start"})
	if _, r := env.result("before-http-fails"); r.Error == nil || r.Error.Code != command.ErrUnknownAccount {
		t.Fatalf("result %+v, want failed with %s", r, command.ErrUnknownAccount)
	}

	// A connection takes the listener's one good Accept; the next Accept fails.
	conn, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	failedAt := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, errListenerBroken) || !strings.Contains(err.Error(), inner.Addr().String()) {
			t.Errorf("Run returned %v, want the listener's failure naming %s", err, inner.Addr())
		}
		if took := time.Since(failedAt); took > shutdownTimeout {
			t.Errorf("Run returned %s after the HTTP server failed, past the shutdown timeout %s", took, shutdownTimeout)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("Run still running %s after the HTTP server failed: the outbound half was not stopped", time.Since(failedAt))
	}
}

func TestRunReturnsNilWhenItsContextEnds(t *testing.T) {
	k := newCluster(t)
	env := start(t, k, baseVars(k.Addrs(), "http://127.0.0.1:1", "http://127.0.0.1:1"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.bridge.Run(ctx, ln) }()
	waitFor(t, "the bridge to serve", func() bool { return httpGet(t, "http://"+ln.Addr().String()+"/healthz") == http.StatusOK })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after its context ended, want nil", err)
		}
	case <-time.After(env.cfg.ShutdownTimeout + 5*time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// CALLBRIDGE_HTTP_MAX_CONNS bounds the connections open at once: a new one past it
// takes the place of the longest-idle, and callbridge_http_connections reports them.
func TestRunBoundsOpenConnections(t *testing.T) {
	env := newInbound(t, map[string]string{"CALLBRIDGE_HTTP_MAX_CONNS": "2"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.bridge.Run(ctx, ln) }()
	defer func() { cancel(); <-done }()

	get := func(c net.Conn, path string) (string, error) {
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return "", err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for _, c := range conns[:2] {
		if _, err := get(c, "/healthz"); err != nil {
			t.Fatal(err)
		}
		// The server marks a connection idle after its response is out, which the
		// client may read first: give it time, so that the first is idle longest.
		time.Sleep(100 * time.Millisecond)
	}
	// The third connection is served in the place of the first, which was idle longest.
	metrics, err := get(conns[2], "/metrics")
	if err != nil {
		t.Fatalf("the connection past the bound was not served: %v", err)
	}
	if !strings.Contains(metrics, "\ncallbridge_http_connections 2\n") {
		t.Errorf("/metrics lacks callbridge_http_connections 2")
	}
	_ = conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	var ne net.Error
	if _, err := conns[0].Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Error("the longest-idle connection is still open")
	}
	if _, err := get(conns[1], "/healthz"); err != nil {
		t.Errorf("the other idle connection was closed too: %v", err)
	}
}
