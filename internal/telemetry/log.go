package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys added by the handler from NewLogHandler.
const (
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// ParseLevel maps "debug", "info", "warn" (or "warning") and "error",
// case-insensitively, to a slog.Level; "" is info. Anything else is an error
// that names the bad value.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("telemetry: invalid log level %q (want debug, info, warn or error)", s)
}

// NewLogHandler wraps h so that every record handled with a context carrying
// a valid span gets top-level trace_id and span_id attributes.
func NewLogHandler(h slog.Handler) slog.Handler {
	return &traceHandler{base: h, inner: h}
}

// traceHandler keeps the handler as it was before the first WithGroup (base)
// and replays the later WithGroup/WithAttrs calls (ops), because attributes
// added to a record land inside the open groups and trace ids must stay at
// the top level where log pipelines look for them.
type traceHandler struct {
	base  slog.Handler
	ops   []func(slog.Handler) slog.Handler
	inner slog.Handler // base with ops applied
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.inner.Handle(ctx, r)
	}
	ids := []slog.Attr{
		slog.String(LogKeyTraceID, sc.TraceID().String()),
		slog.String(LogKeySpanID, sc.SpanID().String()),
	}
	if len(h.ops) == 0 {
		r = r.Clone() // the caller may still own r's attribute storage
		r.AddAttrs(ids...)
		return h.inner.Handle(ctx, r)
	}
	hh := h.base.WithAttrs(ids)
	for _, op := range h.ops {
		hh = op(hh)
	}
	return hh.Handle(ctx, r)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.ops) == 0 {
		nh := h.base.WithAttrs(attrs)
		return &traceHandler{base: nh, inner: nh}
	}
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(attrs) })
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *traceHandler) with(op func(slog.Handler) slog.Handler) *traceHandler {
	return &traceHandler{base: h.base, ops: append(slices.Clip(h.ops), op), inner: op(h.inner)}
}

// MaskPhone hides the middle of a phone number for logs, keeping the first 3
// and last 2 digits: "13712345633" → "137******33". Non-digit characters
// (+, spaces, dashes) are kept; a number of 5 digits or fewer is masked
// entirely, since keeping 5 digits of it would reveal all of it.
func MaskPhone(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	head, tail := 3, 2
	if n <= head+tail {
		head, tail = 0, 0
	}
	b := []byte(s)
	d := 0
	for i := range b {
		if !isDigit(b[i]) {
			continue
		}
		d++
		if d > head && d <= n-tail {
			b[i] = '*'
		}
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ReadableDurations is a slog ReplaceAttr that writes durations as Go durations
// ("1.5s") rather than the JSON handler's integer nanoseconds (1500000000).
func ReadableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}
