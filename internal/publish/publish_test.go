package publish

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/schemas"
)

// buildWithSetters is Build as it was: every attribute through the event's setters.
func buildWithSetters(p *Publisher, vendor, account string, out event.Out) (cloudevents.Event, error) {
	data, _, err := p.marshal(out.Data, 0, out.RawUTF8)
	if err != nil {
		return cloudevents.Event{}, err
	}
	ev := cloudevents.NewEvent()
	ev.SetID(out.ID)
	ev.SetSource(Source(vendor, account))
	ev.SetType(out.Type)
	if out.Subject != "" {
		ev.SetSubject(out.Subject)
	}
	ev.SetTime(out.Time)
	ev.SetDataSchema(schemas.URI(schemaName(out.Type)))
	ev.SetExtension("vendor", vendor)
	ev.SetExtension("account", account)
	ev.SetExtension("partitionkey", out.Key)
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	ev.DataEncoded = data
	return ev, nil
}

// injectWithMapCarrier is telemetry.InjectEvent as it was.
func injectWithMapCarrier(ctx context.Context, ev *cloudevents.Event) {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	tp := c["traceparent"]
	if tp == "" {
		return
	}
	ev.SetExtension("traceparent", tp)
	if ts := c["tracestate"]; ts != "" {
		ev.SetExtension("tracestate", ts)
	} else {
		ev.SetExtension("tracestate", nil)
	}
}

var odd = []string{
	"byai", "byai-main", "", " ", " lead", "trail ", "a b", "百应", "账户/1", "%zz", "%41", "a?b#c", "::", "x:y", "\t", "🔑",
}

func outFor(i int, s string) event.Out {
	types := []string{event.TypeCallFinished, event.TypeTaskStatus, event.TypeCommandFailed, "", " x ", "callbridge.%zz", "类型"}
	return event.Out{
		Topic:   event.TopicCallFinished,
		Type:    types[i%len(types)],
		ID:      []string{"4b9c", "", " ", s}[i%4],
		Subject: []string{"", "call/9001", " ", s}[i/4%4],
		Time:    []time.Time{{}, time.Date(2019, 1, 12, 16, 9, 32, 123456789, time.FixedZone("CST", 8*3600))}[i%2],
		Key:     []string{"", "task-43", s}[i%3],
		Data:    map[string]any{"s": s, "n": i},
	}
}

// Build gives the event the setters give, field for field.
func TestBuildMatchesSetters(t *testing.T) {
	p := &Publisher{}
	for i, vendor := range odd {
		for j, account := range odd {
			for k := range 14 {
				out := outFor(i+j+k, account+vendor)
				if out.Time.IsZero() {
					out.Time = time.Unix(1700000000, 5) // Build would use time.Now
				}
				want, werr := buildWithSetters(p, vendor, account, out)
				got, gerr := p.Build(vendor, account, out)
				if (werr != nil) != (gerr != nil) {
					t.Fatalf("errors %v, %v", werr, gerr)
				}
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("%q %q %+v:\n got %#v\nwant %#v", vendor, account, out, got.Context, want.Context)
				}
			}
		}
	}
}

type capture struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (c *capture) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, msgs...)
	return nil
}

// seqIDs makes trace and span ids a test can reproduce.
type seqIDs struct {
	mu sync.Mutex
	n  uint64
}

func (g *seqIDs) reset() { g.mu.Lock(); g.n = 0; g.mu.Unlock() }

func (g *seqIDs) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return g.n
}

func (g *seqIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	var sid trace.SpanID
	n := g.next()
	binary.BigEndian.PutUint64(tid[8:], n)
	binary.BigEndian.PutUint64(sid[:], n)
	return tid, sid
}

func (g *seqIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], g.next())
	return sid
}

// Publish produces exactly the records Build, the producer span and cekafka.ToKafka
// produce, plus the plain traceparent/tracestate headers: key, value and headers
// (the attribute headers in the same order).
func TestPublishMatchesToKafka(t *testing.T) {
	ids := &seqIDs{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(ids), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })

	ts, err := trace.ParseTraceState("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	ctxs := map[string]context.Context{
		"no span":              context.Background(),
		"remote parent":        trace.ContextWithRemoteSpanContext(context.Background(), parent),
		"parent without state": trace.ContextWithRemoteSpanContext(context.Background(), parent.WithTraceState(trace.TraceState{})),
	}
	for _, telem := range []*telemetry.Telemetry{nil, telemetry.Noop()} {
		for name, ctx := range ctxs {
			for i, vendor := range odd {
				account := odd[(i*7)%len(odd)]
				var outs []event.Out
				for k := range 12 {
					out := outFor(i+k, vendor+account)
					out.Time = time.Unix(1700000000, int64(k)).In(time.FixedZone("x", 3600*k))
					if k%5 == 4 {
						out.Data = nil // "null"
					}
					outs = append(outs, out)
				}
				for k := range outs {
					compareOne(t, name, ids, telem, ctx, vendor, account, outs[k:k+1])
				}
				compareOne(t, name, ids, telem, ctx, vendor, account, outs)
			}
		}
	}
}

func compareOne(t *testing.T, name string, ids *seqIDs, telem *telemetry.Telemetry, ctx context.Context, vendor, account string, outs []event.Out) {
	t.Helper()
	w := &capture{}
	p := &Publisher{Writer: w, TopicPrefix: "pre.", Telemetry: telem}
	ids.reset()
	gotErr := p.Publish(ctx, vendor, account, outs)

	// The records as the general binding makes them, span ids replayed.
	ids.reset()
	var want []kafka.Message
	var wantErr error
	var spans []trace.Span
	for _, out := range outs {
		ev, err := buildWithSetters(p, vendor, account, out)
		if err != nil {
			wantErr = err
			break
		}
		topic := p.Topic(out.Topic)
		sctx, span := otel.Tracer(telemetry.ScopeName).Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer))
		spans = append(spans, span)
		injectWithMapCarrier(sctx, &ev)
		m, err := cekafka.ToKafka(ctx, ev, topic)
		if err != nil {
			wantErr = fmt.Errorf("publish: bind %s: %w", out.ID, err)
			break
		}
		// ... and the trace context again as the plain W3C headers.
		if tp, _ := ev.Extensions()["traceparent"].(string); tp != "" {
			m.Headers = append(m.Headers, kafka.Header{Key: "traceparent", Value: []byte(tp)})
			if ts, _ := ev.Extensions()["tracestate"].(string); ts != "" {
				m.Headers = append(m.Headers, kafka.Header{Key: "tracestate", Value: []byte(ts)})
			}
		}
		want = append(want, m)
	}
	for _, s := range spans {
		s.End()
	}
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: Publish error %v, want %v", name, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if len(w.msgs) != len(want) {
		t.Fatalf("%s: %d records, want %d", name, len(w.msgs), len(want))
	}
	for i := range want {
		g, x := w.msgs[i], want[i]
		if hs := headers(g.Headers, false); name == "remote parent" && (!strings.Contains(hs, `"ce_traceparent"="00-01000000000000000000000000000000-`) || !strings.Contains(hs, `"ce_tracestate"="congo=`)) {
			t.Fatalf("%s: record %d lacks the trace context: %s", name, i, hs)
		} else if name == "no span" && (!strings.Contains(hs, "ce_traceparent") || strings.Contains(hs, "ce_tracestate")) {
			t.Fatalf("%s: record %d: want a new trace without state: %s", name, i, hs)
		}
		if g.Topic != x.Topic || !bytes.Equal(g.Key, x.Key) || (g.Key == nil) != (x.Key == nil) ||
			!bytes.Equal(g.Value, x.Value) || (g.Value == nil) != (x.Value == nil) ||
			headers(g.Headers, false) != headers(x.Headers, false) || headers(g.Headers, true) != headers(x.Headers, true) {
			t.Fatalf("%s: record %d differs:\n got %s %q %q %s\nwant %s %q %q %s", name, i,
				g.Topic, g.Key, g.Value, headers(g.Headers, false), x.Topic, x.Key, x.Value, headers(x.Headers, false))
		}
	}
}

// headers renders headers: the attribute headers in record order when attrs, else
// every header, sorted (extension headers follow map order in ToKafka).
func headers(hs []kafka.Header, attrs bool) string {
	var parts []string
	for _, h := range hs {
		isExt := strings.HasPrefix(h.Key, "ce_") && !map[string]bool{
			"ce_id": true, "ce_source": true, "ce_specversion": true, "ce_type": true,
			"ce_dataschema": true, "ce_subject": true, "ce_time": true,
		}[h.Key]
		if attrs && isExt {
			continue
		}
		parts = append(parts, fmt.Sprintf("%q=%q", h.Key, h.Value))
	}
	if !attrs {
		sort.Strings(parts)
	}
	return strings.Join(parts, " ")
}

type discard struct{}

func (discard) WriteMessages(context.Context, ...kafka.Message) error { return nil }

// BenchmarkPublish is one call-finished event, as the inbound handler publishes it.
func BenchmarkPublish(b *testing.B) {
	p := &Publisher{Writer: discard{}}
	out := event.Out{
		Topic: event.TopicCallFinished, Type: event.TypeCallFinished, ID: "4b9c1e2a-7d3f-8a21-9c44-0e5f6a7b8c9d",
		Subject: "call/9001", Time: time.Now(), Key: "task-43",
		Data: map[string]any{"callId": "9001", "taskName": "回访任务", "answered": true, "durationSeconds": 37},
	}
	ctx := context.Background()
	outs := []event.Out{out}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(ctx, "byai", "byai-main", outs); err != nil {
			b.Fatal(err)
		}
	}
}
