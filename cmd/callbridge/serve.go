package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/callbridge/callbridge/bridge"
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
	b, err := startBridge(ctx, cfg, tel)
	if err != nil {
		return err
	}
	return b.Run(ctx, nil)
}

// startBridge connects to Kafka, retrying with backoff: Kafka restarting, or not yet
// reachable when the pod starts, should not crash-loop the process. Meanwhile the
// listener answers /healthz (alive) and /readyz (not ready) and nothing else.
func startBridge(ctx context.Context, cfg *config.Config, tel *telemetry.Telemetry) (*bridge.Bridge, error) {
	log := tel.Logger()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	waiting := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = io.WriteString(w, "ok")
			return
		}
		http.Error(w, "starting: Kafka not reachable yet", http.StatusServiceUnavailable)
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = waiting.Serve(ln)
	}()
	// Shutdown closes the listener; the bridge listens on the address again.
	defer func() {
		_ = waiting.Shutdown(context.WithoutCancel(ctx))
		<-served
	}()
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		b, err := bridge.New(attempt, cfg, bridge.Options{Telemetry: tel})
		cancel()
		if err == nil {
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		log.WarnContext(ctx, "cannot start yet; retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}
