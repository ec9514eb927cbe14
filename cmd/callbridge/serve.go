package main

import (
	"context"
	"fmt"
	"io"

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
	tel, err := telemetry.Setup(ctx, telemetry.Options{ServiceName: "callbridge", ServiceVersion: version, LogLevel: cfg.LogLevel, LogWriter: stderr})
	if err != nil {
		return usageError{fmt.Errorf("config: CALLBRIDGE_LOG_LEVEL or OTEL_*: %w", err)}
	}
	defer tel.Shutdown(context.WithoutCancel(ctx))
	b, err := bridge.New(ctx, cfg, bridge.Options{Telemetry: tel})
	if err != nil {
		return err
	}
	return b.Run(ctx, nil)
}
