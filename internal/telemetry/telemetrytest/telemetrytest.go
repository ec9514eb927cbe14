// Package telemetrytest sets up telemetry for tests and benchmarks of other packages.
package telemetrytest

import (
	"context"
	"io"
	"testing"

	"github.com/callbridge/callbridge/internal/telemetry"
)

// Production is telemetry as a process without an OTLP endpoint sets it up (span ids
// but no exporter; Prometheus metrics), whatever the environment says, logging
// nowhere. It is shut down when tb ends.
func Production(tb testing.TB) *telemetry.Telemetry {
	tb.Helper()
	tb.Setenv("OTEL_TRACES_EXPORTER", "")
	tb.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	tb.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}
