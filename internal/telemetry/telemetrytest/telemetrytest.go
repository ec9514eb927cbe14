// Package telemetrytest sets up telemetry for tests and benchmarks of other packages.
package telemetrytest

import (
	"context"
	"io"
	"testing"

	"github.com/callbridge/callbridge/internal/telemetry"
)

// Production is telemetry as deployed without a collector (spans get ids, for
// traceparent and logs, but record nothing; Prometheus metrics), whatever the
// environment says. Logs at the default level are formatted and discarded, so
// benchmarks measure producing them, not a terminal. It is shut down when tb ends.
func Production(tb testing.TB) *telemetry.Telemetry {
	tb.Helper()
	tb.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel
}
