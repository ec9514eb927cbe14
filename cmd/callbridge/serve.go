package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/telemetry"
)

func serve(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	cfg, err := config.Load()
	if err != nil {
		return usageError{err}
	}
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceName: "callbridge", ServiceVersion: version, Commit: commit, LogLevel: cfg.LogLevel, LogWriter: stderr})
	if err != nil {
		return usageError{fmt.Errorf("config: CALLBRIDGE_LOG_LEVEL or OTEL_*: %w", err)}
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	logWarnings(ctx, tel.Logger(), cfg)
	// Listen before anything slow, so that a taken address fails at once, naming it.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	b, err := startBridge(ctx, cfg, tel, ln)
	if err != nil {
		_ = ln.Close()
		if ctx.Err() != nil {
			// Stopped (SIGTERM, Ctrl-C) while waiting for Kafka: a clean stop.
			tel.Logger().InfoContext(ctx, "stopped before Kafka was reachable")
			return nil
		}
		return err
	}
	return b.Run(ctx, ln)
}

// startBridge connects to Kafka, retrying with backoff: Kafka restarting, or not yet
// reachable when the pod starts, should not crash-loop the process. Meanwhile ln
// answers /healthz (alive) and /readyz (not ready) and nothing else; when it returns,
// ln is open and no longer served, for the bridge to serve on.
func startBridge(ctx context.Context, cfg *config.Config, tel *telemetry.Telemetry, ln net.Listener) (*bridge.Bridge, error) {
	log := tel.Logger()
	waiting := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		http.Error(w, "starting: Kafka not reachable yet", http.StatusServiceUnavailable)
	})}
	h := &handoff{Listener: ln}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = waiting.Serve(h)
	}()
	defer func() {
		_ = waiting.Shutdown(context.WithoutCancel(ctx))
		<-served
		h.release()
	}()
	brokers := strings.Join(cfg.Kafka.Brokers, ",")
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		// Ping first: it names each broker and the real cause (connection refused,
		// no such host, timeout), where a client call says "Broker Not Available".
		err := broker.Ping(attempt, bridge.BrokerConfig(cfg))
		var b *bridge.Bridge
		if err == nil {
			b, err = bridge.New(attempt, cfg, bridge.Options{Telemetry: tel})
		}
		cancel()
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		log.WarnContext(ctx, "cannot start yet; retrying", "brokers", brokers, "error", err.Error(), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// handoff lends a listener to the server that answers while the bridge starts. The
// server's Shutdown closes it, which here only wakes a blocked Accept (through the
// accept deadline) and leaves the socket open: the bridge then serves on the same
// socket, with no moment in which the port is closed or could be taken by another
// process.
type handoff struct {
	net.Listener
}

// deadliner is a listener whose Accept can be woken by a deadline, as *net.TCPListener.
type deadliner interface{ SetDeadline(time.Time) error }

func (h *handoff) Close() error {
	if d, ok := h.Listener.(deadliner); ok {
		return d.SetDeadline(time.Now())
	}
	// Not a TCP listener: it cannot be lent, only closed (the bridge then fails to serve).
	return h.Listener.Close()
}

// release clears the deadline Close set, once the lending server has stopped.
func (h *handoff) release() {
	if d, ok := h.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Time{})
	}
}

// logWarnings logs each likely configuration mistake (an unknown CALLBRIDGE_
// variable, no account) at warn level, once at start.
func logWarnings(ctx context.Context, log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.WarnContext(ctx, "config: "+w)
	}
}
