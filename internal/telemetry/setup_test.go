package telemetry

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSetupExporters(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  bool
		withSpan bool
	}{
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}, withSpan: true},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}},
		{name: "default is otlp http, no collector", env: map[string]string{"OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, withSpan: true},
		{name: "otlp grpc, no collector", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, withSpan: true},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin-ish"}, wantErr: true},
		{name: "bad otlp protocol", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			start := time.Now()
			tel, err := Setup(context.Background(), Options{LogWriter: &syncBuffer{}})
			if tc.wantErr {
				if err == nil {
					_ = tel.Shutdown(context.Background())
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Setup blocked for %v", d)
			}
			if tc.withSpan {
				_, span := tel.Tracer().Start(context.Background(), "op")
				if !span.SpanContext().IsValid() {
					t.Errorf("span has no ids with %v", tc.env)
				}
				span.End()
			}
			// Shutdown may fail to export to the absent collector, but must
			// give up when its context ends.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start = time.Now()
			_ = tel.Shutdown(ctx)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Shutdown took %v", d)
			}
		})
	}
}

// TestNoOTLPEndpointExportsNothing: OTLP is the default exporter, but with no
// endpoint configured nothing would receive spans and the exporter would warn about
// localhost:4318 every few seconds; with an endpoint, spans are exported as before.
func TestNoOTLPEndpointExportsNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		export bool
	}{
		{"unset", map[string]string{}, false},
		{"otlp named, no endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, true},
		{"console", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
				t.Setenv(k, tc.env[k])
			}
			logs := &syncBuffer{}
			tel, err := Setup(context.Background(), Options{LogWriter: logs})
			if err != nil {
				t.Fatal(err)
			}
			_, span := tel.Tracer().Start(context.Background(), "op")
			if !span.SpanContext().IsValid() {
				t.Error("span has no ids")
			}
			span.End()
			if got := tel.tp != nil; got != tc.export {
				t.Errorf("spans exported = %v, want %v", got, tc.export)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = tel.Shutdown(ctx)
			if !tc.export && logs.String() != "" {
				t.Errorf("logs without an endpoint:\n%s", logs.String())
			}
		})
	}
}

func TestLogDurationsAreReadable(t *testing.T) {
	logs := &syncBuffer{}
	tel, err := Setup(context.Background(), Options{LogWriter: logs})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	tel.Logger().Warn("retrying", "retry_in", time.Second, "group", slog.GroupValue(slog.Duration("took", 1500*time.Millisecond)))
	if got := logs.String(); !strings.Contains(got, `"retry_in":"1s"`) || !strings.Contains(got, `"took":"1.5s"`) {
		t.Errorf("durations not written as Go durations: %s", got)
	}
}
