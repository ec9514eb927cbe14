package telemetry

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLogCorrelation(t *testing.T) {
	tests := []struct {
		name    string
		inSpan  bool
		log     func(ctx context.Context, l *slog.Logger)
		wantIDs bool
		check   func(t *testing.T, line map[string]any)
	}{
		{name: "inside span", inSpan: true, wantIDs: true,
			log: func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "hello") }},
		{name: "outside span", inSpan: false, wantIDs: false,
			log: func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "hello") }},
		{name: "no context inside span", inSpan: true, wantIDs: false,
			log: func(_ context.Context, l *slog.Logger) { l.Info("hello") }},
		{name: "logger.With inside span", inSpan: true, wantIDs: true,
			log: func(ctx context.Context, l *slog.Logger) { l.With("account", "byai-main").InfoContext(ctx, "hello") },
			check: func(t *testing.T, line map[string]any) {
				if line["account"] != "byai-main" {
					t.Errorf("With attr lost: %v", line)
				}
			}},
		{name: "group keeps ids at top level", inSpan: true, wantIDs: true,
			log: func(ctx context.Context, l *slog.Logger) {
				l.With("a", 1).WithGroup("cmd").With("id", "c1").InfoContext(ctx, "hello", "type", "task.create")
			},
			check: func(t *testing.T, line map[string]any) {
				g, _ := line["cmd"].(map[string]any)
				if line["a"] != float64(1) || g["id"] != "c1" || g["type"] != "task.create" {
					t.Errorf("group structure wrong: %v", line)
				}
				if _, ok := g["trace_id"]; ok {
					t.Errorf("trace_id inside group: %v", line)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tel, _, logs := setupTest(t, "info")
			ctx := context.Background()
			var spanTrace, spanID string
			if tc.inSpan {
				var end func()
				c, span := tel.Tracer().Start(ctx, "op")
				ctx, end = c, func() { span.End() }
				defer end()
				spanTrace, spanID = span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
			}
			tc.log(ctx, tel.Logger())
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("want 1 line, got %q", logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatalf("not JSON: %v: %s", err, lines[0])
			}
			if tc.wantIDs {
				if line["trace_id"] != spanTrace || line["span_id"] != spanID {
					t.Errorf("ids = %v/%v, want %s/%s", line["trace_id"], line["span_id"], spanTrace, spanID)
				}
			} else if _, ok := line["trace_id"]; ok {
				t.Errorf("unexpected trace_id: %v", line)
			}
			if line["msg"] != "hello" {
				t.Errorf("msg = %v", line["msg"])
			}
			if tc.check != nil {
				tc.check(t, line)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	tests := []struct {
		level     string
		wantErr   bool
		debugLogs bool
		infoLogs  bool
	}{
		{level: "", infoLogs: true},
		{level: "debug", debugLogs: true, infoLogs: true},
		{level: "INFO", infoLogs: true},
		{level: "warn"},
		{level: "error"},
		{level: "verbose", wantErr: true},
		{level: "trace", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			if tc.wantErr {
				_, err := Setup(context.Background(), Options{LogLevel: tc.level, SpanExporter: nil})
				if err == nil || !strings.Contains(err.Error(), `"`+tc.level+`"`) {
					t.Fatalf("Setup(%q) error = %v, want one naming the value", tc.level, err)
				}
				return
			}
			tel, _, logs := setupTest(t, tc.level)
			tel.Logger().Debug("d")
			tel.Logger().Info("i")
			if got := strings.Contains(logs.String(), `"msg":"d"`); got != tc.debugLogs {
				t.Errorf("debug logged = %v, want %v", got, tc.debugLogs)
			}
			if got := strings.Contains(logs.String(), `"msg":"i"`); got != tc.infoLogs {
				t.Errorf("info logged = %v, want %v", got, tc.infoLogs)
			}
		})
	}
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13712345633", "137******33"},
		{"+86 137-1234-5633", "+86 1**-****-**33"},
		{"12345", "*****"},
		{"123456", "123*56"},
		{"", ""},
		{"n/a", "n/a"},
	}
	for _, tc := range tests {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
