package cekafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/segmentio/kafka-go"
)

// attrHeaderNames are the headers ToKafka writes for attributes, in a fixed order;
// the extension headers after them follow map order.
var attrHeaderNames = map[string]bool{
	"ce_id": true, "ce_source": true, "ce_specversion": true, "ce_type": true,
	"content-type": true, "ce_dataschema": true, "ce_subject": true, "ce_time": true,
}

// sameAsToKafka fails unless BinaryMessage(ctx, e) and ToKafka(ctx, e) agree: both
// fail, or both give the same topic, key, value and headers (the same set, and the
// attribute headers in the same order). It reports whether the fast path was taken.
func sameAsToKafka(t *testing.T, ctx context.Context, e cloudevents.Event) bool {
	t.Helper()
	const topic = "call.finished"
	orig := cloneEvent(e)
	want, wantErr := ToKafka(ctx, cloneEvent(e), topic)
	fastCopy := cloneEvent(e)
	_, fast := binaryMessage(ctx, &fastCopy, topic)
	got, gotErr := BinaryMessage(ctx, &e, topic)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("ToKafka error %v, BinaryMessage error %v\nevent %v", wantErr, gotErr, orig)
	}
	if wantErr != nil {
		if fast {
			t.Fatalf("fast path taken for an event ToKafka rejects: %v\nevent %v", wantErr, orig)
		}
		// A validation error lists its fields in map order.
		prefix := fmt.Sprintf("cekafka: invalid event %q: ", orig.ID())
		a := sortedLines(strings.TrimPrefix(wantErr.Error(), prefix))
		b := sortedLines(strings.TrimPrefix(gotErr.Error(), prefix))
		if a != b {
			t.Fatalf("errors differ:\n%s\n%s", a, b)
		}
		return false
	}
	if got.Topic != want.Topic {
		t.Errorf("topic %q, want %q", got.Topic, want.Topic)
	}
	if !bytes.Equal(got.Key, want.Key) || (got.Key == nil) != (want.Key == nil) {
		t.Errorf("key %q (nil %v), want %q (nil %v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	}
	if !bytes.Equal(got.Value, want.Value) || (got.Value == nil) != (want.Value == nil) {
		t.Errorf("value %q (nil %v), want %q (nil %v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	}
	if a, b := headerList(got.Headers, false), headerList(want.Headers, false); a != b {
		t.Errorf("headers differ:\n got %s\nwant %s", a, b)
	}
	if fast {
		if a, b := headerList(got.Headers, true), headerList(want.Headers, true); a != b {
			t.Errorf("attribute headers differ in order:\n got %s\nwant %s", a, b)
		}
		if !slices.IsSortedFunc(got.Headers[len(attrOnly(got.Headers)):], func(a, b kafka.Header) int { return strings.Compare(a.Key, b.Key) }) {
			t.Errorf("extension headers not sorted: %s", headerList(got.Headers, false))
		}
	}
	if got.Partition != 0 || got.Offset != 0 || !got.Time.IsZero() || got.WriterData != nil {
		t.Errorf("unexpected fields set: %+v", got)
	}
	// The event is left as it was.
	if a, b := fmt.Sprint(orig), fmt.Sprint(e); a != b {
		t.Errorf("event changed:\n%s\n%s", a, b)
	}
	if t.Failed() {
		t.Fatalf("event %v", orig)
	}
	return fast
}

// v1 returns e's context to modify in place (AsV1 returns a copy).
func v1(e *cloudevents.Event) *event.EventContextV1 { return e.Context.(*event.EventContextV1) }

// cloneEvent copies e; unlike Event.Clone it accepts extension values that are no
// CloudEvents type.
func cloneEvent(e cloudevents.Event) cloudevents.Event {
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok {
		return e.Clone()
	}
	c := *ec
	c.Extensions = maps.Clone(ec.Extensions)
	e.Context = &c
	e.DataEncoded = slices.Clone(e.DataEncoded)
	e.FieldErrors = maps.Clone(e.FieldErrors)
	return e
}

func attrOnly(hs []kafka.Header) []kafka.Header {
	var out []kafka.Header
	for _, h := range hs {
		if attrHeaderNames[h.Key] {
			out = append(out, h)
		}
	}
	return out
}

// headerList renders headers: in record order restricted to attribute headers
// when attrsInOrder, else all of them sorted.
func headerList(hs []kafka.Header, attrsInOrder bool) string {
	var parts []string
	for _, h := range hs {
		if attrsInOrder && !attrHeaderNames[h.Key] {
			continue
		}
		parts = append(parts, fmt.Sprintf("%q=%q", h.Key, h.Value))
	}
	if !attrsInOrder {
		sort.Strings(parts)
	}
	return strings.Join(parts, " ")
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// product builds an event as publish.Build does.
func product(id, source, typ, subject, schema, key string, tm time.Time, data []byte) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	if subject != "" {
		e.SetSubject(subject)
	}
	e.SetTime(tm)
	e.SetDataSchema(schema)
	e.SetExtension("vendor", "byai")
	e.SetExtension("account", "byai-main")
	e.SetExtension("partitionkey", key)
	e.SetDataContentType(cloudevents.ApplicationJSON)
	e.DataEncoded = data
	return e
}

func TestBinaryMessageMatchesToKafka(t *testing.T) {
	ctx := context.Background()
	u, _ := url.Parse("https://x.example/a?b=c#d")
	tm := time.Date(2019, 1, 12, 16, 9, 32, 123456789, time.FixedZone("CST", 8*3600))
	cases := map[string]func() cloudevents.Event{
		"full":    fullEvent,
		"minimal": minimalEvent,
		"product": func() cloudevents.Event {
			return product("4b9c", "/callbridge/byai/byai-main", "callbridge.call.finished", "call/9001",
				"https://callbridge.example/schemas/call.finished.v1.json", "task-43", tm, []byte(`{"a":"回访"}`))
		},
		"product without subject, key or data": func() cloudevents.Event {
			return product("4b9c", "/callbridge/byai/a", "callbridge.call.finished", "", "", "", tm, nil)
		},
		"empty data": func() cloudevents.Event {
			return product("1", "/s", "t", "", "", "k", tm, []byte{})
		},
		"unicode everywhere": func() cloudevents.Event {
			return product("标识 ✓", "/callbridge/百应/账户 one", "类型", "主题/1", "https://例子.example/模式", "键🔑", tm, []byte("数据"))
		},
		"source that URL-escapes differently": func() cloudevents.Event {
			return product("1", "/a b/%41?q=1 2#frag ment", "t", "", "", "k", tm, []byte("x"))
		},
		"zero time": func() cloudevents.Event {
			e := fullEvent()
			e.SetTime(time.Time{})
			return e
		},
		"far times": func() cloudevents.Event {
			e := fullEvent()
			e.SetTime(time.Date(12345, 1, 2, 3, 4, 5, 6, time.UTC))
			return e
		},
		"every extension type": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("s", "string")
			e.SetExtension("empty", "")
			e.SetExtension("i", 42)
			e.SetExtension("neg", int32(-7))
			e.SetExtension("b", true)
			e.SetExtension("f", false)
			e.SetExtension("bin", []byte{0, 1, 0xff})
			e.SetExtension("nilbin", []byte(nil))
			e.SetExtension("uri", u)
			e.SetExtension("uriref", types.URIRef{URL: *u})
			e.SetExtension("ts", tm)
			e.SetExtension("ts2", types.Timestamp{Time: tm})
			return e
		},
		"integer key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", 17)
			return e
		},
		"zero integer key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", 0)
			return e
		},
		"boolean key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", true)
			return e
		},
		"binary key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", []byte("k"))
			return e
		},
		"empty binary key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", []byte{})
			return e
		},
		"time key": func() cloudevents.Event {
			e := fullEvent()
			e.SetExtension("partitionkey", tm)
			return e
		},
		"other content types": func() cloudevents.Event {
			e := fullEvent()
			e.SetDataContentType("text/plain; charset=utf-8")
			return e
		},
		"content type with spaces": func() cloudevents.Event {
			e := fullEvent()
			ct := " application/json "
			v1(&e).DataContentType = &ct
			return e
		},
		// Invalid events and odd contexts: BinaryMessage must give ToKafka's answer.
		"no id": func() cloudevents.Event {
			e := fullEvent()
			e.SetID("")
			return e
		},
		"blank type":   func() cloudevents.Event { e := fullEvent(); e.SetType(" "); return e },
		"blank source": func() cloudevents.Event { e := fullEvent(); e.SetSource(""); return e },
		"relative schema": func() cloudevents.Event {
			e := fullEvent()
			e.SetDataSchema("/relative")
			return e
		},
		"bad content type": func() cloudevents.Event {
			e := fullEvent()
			e.SetDataContentType("not a media type;;")
			return e
		},
		"blank subject": func() cloudevents.Event {
			e := fullEvent()
			s := " "
			v1(&e).Subject = &s
			return e
		},
		"empty content type": func() cloudevents.Event {
			e := fullEvent()
			s := ""
			v1(&e).DataContentType = &s
			return e
		},
		"spec version 0.3": func() cloudevents.Event {
			e := fullEvent()
			e.SetSpecVersion(cloudevents.VersionV03)
			return e
		},
		"extension named like an attribute": func() cloudevents.Event {
			e := fullEvent()
			v1(&e).Extensions["subject"] = "ext"
			return e
		},
		"upper-case extension": func() cloudevents.Event {
			e := fullEvent()
			v1(&e).Extensions["Foo"] = "bar"
			return e
		},
		"upper-case partition key": func() cloudevents.Event {
			e := minimalEvent()
			v1(&e).Extensions = map[string]any{"PartitionKey": "k"}
			return e
		},
		"nil extension value": func() cloudevents.Event {
			e := fullEvent()
			v1(&e).Extensions["nothing"] = nil
			return e
		},
		"float extension value": func() cloudevents.Event {
			e := fullEvent()
			v1(&e).Extensions["float"] = 1.5
			return e
		},
		"extension value of no CloudEvents type": func() cloudevents.Event {
			e := fullEvent()
			v1(&e).Extensions["bad"] = struct{}{}
			return e
		},
		"field errors": func() cloudevents.Event {
			e := fullEvent()
			e.SetSource("://bad")
			return e
		},
	}
	wantFast := map[string]bool{
		"full": true, "minimal": true, "product": true, "product without subject, key or data": true,
		"empty data": true, "unicode everywhere": true, "source that URL-escapes differently": true,
		"zero time": true, "far times": true, "every extension type": true, "integer key": true,
		"zero integer key": true, "boolean key": true, "binary key": true, "empty binary key": true,
		"time key": true, "other content types": true, "content type with spaces": true,
		"nil extension value": true, "float extension value": true,
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			for range 20 { // extension order varies from one map walk to the next
				if fast := sameAsToKafka(t, ctx, mk()); fast != wantFast[name] {
					t.Fatalf("fast path taken: %v, want %v", fast, wantFast[name])
				}
			}
		})
	}
}

// BinaryMessage defers to ToKafka for whatever a context asks of the binding.
func TestBinaryMessageHonoursContext(t *testing.T) {
	for name, ctx := range map[string]context.Context{
		"structured":    binding.WithForceStructured(context.Background()),
		"preferred":     binding.WithPreferredEventEncoding(context.Background(), binding.EncodingStructured),
		"skip key":      WithSkipKeyMapping(context.Background()),
		"force binary":  binding.WithForceBinary(context.Background()),
		"deeper values": context.WithValue(WithSkipKeyMapping(binding.WithForceStructured(context.Background())), struct{}{}, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if len(bindingCtxKeys) == 0 {
				t.Fatal("no binding context keys recorded")
			}
			if sameAsToKafka(t, ctx, fullEvent()) {
				t.Fatal("fast path taken")
			}
		})
	}
	if !sameAsToKafka(t, context.WithValue(context.Background(), struct{}{}, 1), fullEvent()) {
		t.Fatal("fast path not taken under an unrelated context value")
	}
}

func TestBinaryMessageAllocations(t *testing.T) {
	e := product("4b9c", "/callbridge/byai/byai-main", "callbridge.call.finished", "call/9001",
		"https://callbridge.example/schemas/call.finished.v1.json", "task-43", time.Now(), []byte(`{"a":1}`))
	e.SetExtension("traceparent", traceparent)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := BinaryMessage(ctx, &e, "t"); err != nil {
			t.Fatal(err)
		}
	})
	// header slice, value buffer, source and dataschema strings
	if allocs > 4 {
		t.Errorf("%v allocations per record, want at most 4", allocs)
	}
}

func BenchmarkBinaryMessage(b *testing.B) {
	e := fullEvent()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BinaryMessage(ctx, &e, "call.finished"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzBinaryMessage builds events from arbitrary attributes and extensions and
// requires BinaryMessage to produce exactly ToKafka's record (or error).
func FuzzBinaryMessage(f *testing.F) {
	f.Add("4b9c1e2a", "/callbridge/byai/byai-main", "callbridge.call.finished", "call/9001",
		"https://callbridge.example/schemas/call.finished.v1.json", "application/json",
		"vendor=byai\naccount=byai-main\npartitionkey=task-43\ntraceparent="+traceparent+"\ntracestate="+tracestate,
		int64(1547280572123456789), int16(480), []byte(`{"callId":"9001","taskName":"回访任务"}`), uint16(0))
	f.Add("1", "/s", "t", "", "", "", "", int64(0), int16(0), []byte{}, uint16(0xffff))
	f.Add("标识", "/百应/账户 x", "类型", "主题", "urn:x", "text/plain; charset=utf-8", "partitionkey=键\nx=\ny=1", int64(-1), int16(-60), []byte(nil), uint16(0x5555))
	f.Add(" ", "", " ", " ", "rel", "bad;;", "Bad=1\nid=x", int64(1<<62), int16(1), []byte("x"), uint16(0xaaaa))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, schema, ct, exts string, nanos int64, zoneMinutes int16, data []byte, flags uint16) {
		e := cloudevents.NewEvent()
		e.SetID(id)
		e.SetSource(source)
		e.SetType(typ)
		if subject != "" || flags&1 != 0 {
			e.SetSubject(subject)
		}
		if nanos != 0 {
			e.SetTime(time.Unix(0, nanos).In(time.FixedZone("z", int(zoneMinutes)*60)))
		}
		e.SetDataSchema(schema)
		if ct != "" || flags&2 != 0 {
			e.SetDataContentType(ct)
		}
		if flags&4 != 0 && ct != "" {
			// Untrimmed, as a decoded event may carry it.
			v1(&e).DataContentType = &ct
		}
		// Extensions: "name=value" lines; the flag bits pick a type for each value.
		for i, line := range strings.Split(exts, "\n") {
			if line == "" {
				continue
			}
			name, value, _ := strings.Cut(line, "=")
			var v any = value
			switch (flags >> (4 + 2*(i%6))) & 3 {
			case 1:
				if len(value) > 0 {
					v = int32(binary.LittleEndian.Uint32(append([]byte(value), 0, 0, 0, 0)))
				} else {
					v = value != ""
				}
			case 2:
				v = []byte(value)
			case 3:
				if u, err := url.Parse(value); err == nil {
					v = u
				} else {
					v = time.Unix(int64(len(value))*1e9+nanos%1e9, 0)
				}
			}
			if flags&8 != 0 && i%3 == 2 {
				// Straight into the map: names and values SetExtension would refuse.
				if ec := v1(&e); ec.Extensions == nil {
					ec.Extensions = map[string]any{name: v}
				} else {
					ec.Extensions[name] = v
				}
				continue
			}
			e.SetExtension(name, v)
		}
		if data != nil {
			e.DataEncoded = data
		}
		sameAsToKafka(t, context.Background(), e)
	})
}
