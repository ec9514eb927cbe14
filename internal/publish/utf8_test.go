package publish

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/telemetry"
)

var utf8Cases = []string{
	"", "plain ascii, more than eight bytes long", "您好，这里是用户测试电话", "a\xffb", "\xed\xa0\x80", "\xe0\x80\x80",
	"\xe0\xa0\x80", "\xf0\x9f\x94\x91", "\xf4\x90\x80\x80", "12345678\xe4\xbd", "\xe4\xbd\xa0\xe5", "\u2028\u2029", "\xc2\x80",
	strings.Repeat("x", 15) + "百应" + strings.Repeat("y", 9) + "\x80",
}

// utf8Valid agrees with utf8.Valid on every short sequence and on the cases above
// at every offset.
func TestUTF8Valid(t *testing.T) {
	var b [3]byte
	for i := range 1 << 24 {
		b[0], b[1], b[2] = byte(i), byte(i>>8), byte(i>>16)
		if utf8Valid(b[:]) != utf8.Valid(b[:]) {
			t.Fatalf("utf8Valid(%q) = %v", b, !utf8.Valid(b[:]))
		}
	}
	for _, s := range utf8Cases {
		for i := range len(s) + 1 {
			for _, in := range []string{s[i:], s[:i], "ascii ok" + s[i:], s[:i] + "ascii ok"} {
				if utf8Valid([]byte(in)) != utf8.Valid([]byte(in)) {
					t.Fatalf("utf8Valid(%q) = %v", in, !utf8.Valid([]byte(in)))
				}
			}
		}
	}
}

// marshal claims data valid only when it is: Build and Publish skip the check then.
func FuzzMarshalValidUTF8(f *testing.F) {
	for i, s := range utf8Cases {
		f.Add(s, utf8Cases[(i+1)%len(utf8Cases)], []byte(`{"x":"`+s+`"}`))
	}
	f.Fuzz(func(t *testing.T, a, b string, raw []byte) {
		if utf8Valid(raw) != utf8.Valid(raw) {
			t.Fatalf("utf8Valid(%q) = %v", raw, !utf8.Valid(raw))
		}
		for _, omit := range []bool{false, true} {
			p := &Publisher{OmitRaw: omit}
			for _, v := range []any{
				&event.CallFinished{Vendor: a, CallID: b, Transcript: []event.Utterance{{Speaker: b, Text: a}}, Raw: raw},
				&event.SMSSent{Vendor: b, Messages: []event.SMS{{Text: a}}, Raw: raw},
				map[string]any{"a": a, "b": b},
			} {
				data, valid, err := p.marshal(v, 0, false)
				if err != nil {
					t.Fatal(err)
				}
				if valid && !utf8.Valid(data) {
					t.Fatalf("marshal says %q is valid UTF-8", data)
				}
			}
		}
	})
}

// Without an exporter Publish writes the records with a fresh span's trace context
// in the ce_ and plain headers, as with one.
func TestPublishWithoutExporter(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	w := &capture{}
	p := &Publisher{Writer: w, Telemetry: tel}
	out := outFor(0, "x")
	if err := p.Publish(context.Background(), "byai", "a", []event.Out{out, out}); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 2 {
		t.Fatalf("%d records", len(w.msgs))
	}
	var parents []string
	for _, m := range w.msgs {
		hs := map[string]string{}
		var names []string
		for _, h := range m.Headers {
			hs[h.Key] = string(h.Value)
			names = append(names, h.Key)
		}
		tp := hs["ce_traceparent"]
		if len(tp) != telemetry.TraceParentLen || tp != hs["traceparent"] || !strings.HasSuffix(tp, "-01") {
			t.Fatalf("traceparent %q, plain %q", tp, hs["traceparent"])
		}
		if got := strings.Join(names, " "); got != "ce_id ce_source ce_specversion ce_type content-type ce_dataschema ce_time ce_account ce_partitionkey ce_traceparent ce_vendor traceparent" {
			t.Fatalf("headers %s", got)
		}
		parents = append(parents, tp)
	}
	if parents[0] == parents[1] {
		t.Fatal("two records share a span")
	}
}
