package bridge_test

import (
	"context"
	"errors"
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
