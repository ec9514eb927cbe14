package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
)

// Two producers' trace contexts: one in the CloudEvents extension, one in the plain
// W3C headers OpenTelemetry's Kafka instrumentations write.
const (
	ceTrace, ceSpan       = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	plainTrace, plainSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
)

func tp(traceID, spanID string) string { return "00-" + traceID + "-" + spanID + "-01" }

func withHeaders(kv ...string) func(*cloudevents.Event, *kafka.Message) {
	return func(_ *cloudevents.Event, m *kafka.Message) {
		for i := 0; i < len(kv); i += 2 {
			m.Headers = append(m.Headers, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
	}
}

// structuredWith rewrites the command as a structured-mode record whose event has
// the given traceparent attribute, then adds plain headers.
func structuredWith(t *testing.T, traceparent string, kv ...string) func(*cloudevents.Event, *kafka.Message) {
	return func(ev *cloudevents.Event, m *kafka.Message) {
		ev.SetExtension("traceparent", traceparent)
		s, err := cekafka.ToKafka(binding.WithForceStructured(context.Background()), *ev, m.Topic)
		if err != nil {
			t.Fatal(err)
		}
		m.Headers, m.Value = s.Headers, s.Value
		withHeaders(kv...)(ev, m)
	}
}

// TestACommandContinuesTheTraceOfItsHeaders: a command's trace context arrives as
// ce_traceparent, as the plain traceparent header (with or without tracestate), or
// both (then ce_traceparent wins, and the plain tracestate stays with its plain
// traceparent); the bridge's consumer span continues it, and the result record
// carries the continued trace in both header forms.
func TestACommandContinuesTheTraceOfItsHeaders(t *testing.T) {
	env := newOutbound(t, nil)
	tests := []struct {
		name       string
		opt        func(*cloudevents.Event, *kafka.Message)
		kcat       []string // when set, librdkafka (kcat) produces the command with these headers
		wantTrace  string
		wantParent string
		wantState  string
	}{
		{name: "ce_traceparent only", opt: withHeaders("ce_traceparent", tp(ceTrace, ceSpan)), wantTrace: ceTrace, wantParent: ceSpan},
		{name: "ce_traceparent and ce_tracestate", opt: withHeaders("ce_traceparent", tp(ceTrace, ceSpan), "ce_tracestate", "ce=1"), wantTrace: ceTrace, wantParent: ceSpan, wantState: "ce=1"},
		{name: "traceparent only", opt: withHeaders("traceparent", tp(plainTrace, plainSpan)), wantTrace: plainTrace, wantParent: plainSpan},
		{name: "traceparent and tracestate", opt: withHeaders("traceparent", tp(plainTrace, plainSpan), "tracestate", "congo=t61rcWkgMzE"), wantTrace: plainTrace, wantParent: plainSpan, wantState: "congo=t61rcWkgMzE"},
		{
			name:      "both, ce_traceparent wins",
			opt:       withHeaders("traceparent", tp(plainTrace, plainSpan), "tracestate", "plain=1", "ce_traceparent", tp(ceTrace, ceSpan)),
			wantTrace: ceTrace, wantParent: ceSpan,
		},
		{
			name:      "malformed ce_traceparent, plain traceparent serves",
			opt:       withHeaders("ce_traceparent", "00-nothex-xyz-01", "traceparent", tp(plainTrace, plainSpan)),
			wantTrace: plainTrace, wantParent: plainSpan,
		},
		{
			name:      "structured event's traceparent wins over the header",
			opt:       structuredWith(t, tp(ceTrace, ceSpan), "traceparent", tp(plainTrace, plainSpan)),
			wantTrace: ceTrace, wantParent: ceSpan,
		},
		{
			name:      "librdkafka producer, traceparent and tracestate",
			kcat:      []string{"traceparent=" + tp(plainTrace, plainSpan), "tracestate=congo=t61rcWkgMzE"},
			wantTrace: plainTrace, wantParent: plainSpan, wantState: "congo=t61rcWkgMzE",
		},
		{
			name:      "librdkafka producer, both forms",
			kcat:      []string{"traceparent=" + tp(plainTrace, plainSpan), "ce_traceparent=" + tp(ceTrace, ceSpan)},
			wantTrace: ceTrace, wantParent: ceSpan,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "traced-h-" + string(rune('a'+i))
			if tc.kcat != nil {
				produceWithKcat(t, env, id, tc.kcat)
			} else {
				env.send(event.TopicCallSingle, id, singleCall("13900000009"), tc.opt)
			}
			resultEv, _ := env.result(id)

			tid, _ := traceparentOf(t, resultEv)
			if tid.String() != tc.wantTrace {
				t.Errorf("result trace %s, want %s", tid, tc.wantTrace)
			}
			var consumer []string
			for _, s := range env.spans.GetSpans() {
				if s.Name == "process "+event.TopicCallSingle && s.SpanKind == trace.SpanKindConsumer && s.SpanContext.TraceID().String() == tc.wantTrace && attr(s, "messaging.message.id") == id {
					consumer = append(consumer, s.Parent.SpanID().String())
					if got := s.SpanContext.TraceState().String(); got != tc.wantState {
						t.Errorf("consumer span tracestate %q, want %q", got, tc.wantState)
					}
				}
			}
			if len(consumer) != 1 || consumer[0] != tc.wantParent {
				t.Errorf("consumer spans of %s in trace %s have parents %v, want [%s]", id, tc.wantTrace, consumer, tc.wantParent)
			}

			// The result record: both header forms, the same values.
			rec := resultRecord(t, env, resultEv.ID())
			h := map[string]string{}
			for _, x := range rec.Headers {
				h[x.Key] = string(x.Value)
			}
			if h["traceparent"] == "" || h["traceparent"] != h["ce_traceparent"] || !strings.Contains(h["traceparent"], tc.wantTrace) {
				t.Errorf("result headers traceparent %q ce_traceparent %q, want both, equal, in trace %s", h["traceparent"], h["ce_traceparent"], tc.wantTrace)
			}
			if h["tracestate"] != tc.wantState || h["ce_tracestate"] != tc.wantState {
				t.Errorf("result headers tracestate %q ce_tracestate %q, want %q", h["tracestate"], h["ce_tracestate"], tc.wantState)
			}
		})
	}
}

func resultRecord(t *testing.T, env *outEnv, id string) kafka.Message {
	t.Helper()
	for _, m := range kafkatest.ReadAll(t, env.kafka.Addrs(), env.cfg.TopicPrefix+event.TopicCommandResult, 1, 10*time.Second) {
		for _, h := range m.Headers {
			if h.Key == "ce_id" && string(h.Value) == id {
				return m
			}
		}
	}
	t.Fatalf("no record of result %s", id)
	return kafka.Message{}
}

// produceWithKcat produces a binary-mode call.single command with librdkafka's
// CLI, as a non-Go platform instrumented with OpenTelemetry would, plus headers.
// Missing kcat skips, except in CI.
func produceWithKcat(t *testing.T, env *outEnv, id string, headers []string) {
	t.Helper()
	var bin string
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("kcat is not installed and CI=true: the librdkafka trace test must run in CI (apt-get install -y kcat)")
		}
		t.Skip("skipping: kcat is not installed (apt-get install -y kcat)")
	}
	data, err := json.Marshal(singleCall("13900000009"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-P", "-b", env.kafka.Addrs()[0], "-t", env.cfg.TopicPrefix + event.TopicCallSingle, "-k", "key-" + id,
		"-H", "ce_specversion=1.0", "-H", "ce_id=" + id, "-H", "ce_source=/platform/otel", "-H", "ce_type=callbridge.call.single",
		"-H", "content-type=application/json"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(append(data, '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\nstderr: %s", args, err, stderr.String())
	}
}
