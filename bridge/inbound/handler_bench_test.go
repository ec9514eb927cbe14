package inbound_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge/inbound"
	"github.com/callbridge/callbridge/internal/platform"
	_ "github.com/callbridge/callbridge/internal/platform/byai"
	_ "github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

type discard struct{}

func (discard) WriteMessages(context.Context, ...kafka.Message) error { return nil }

// BenchmarkHandler measures the CPU the inbound half adds per webhook, Kafka aside:
// token check, body read, parse, normalize, CloudEvent binding, telemetry.
//
// The same body posted again is a redelivery, answered from the record of what was
// acknowledged without building or producing its event again: "byai-call" and
// "yiwise-call" measure that after their first post. "byai-call-new" posts a new
// call each time (another callInstanceId, as bench/inbound/compare.sh does), so it
// measures the whole path, event built and produced.
//
//	go test ./bridge/inbound -run '^$' -bench BenchmarkHandler -benchmem
func BenchmarkHandler(b *testing.B) {
	for _, tc := range []struct {
		name, vendor, fixture string
		newCall               bool
	}{
		{"byai-call", "byai", "../../testdata/webhooks/byai/call_instance_result.json", false},
		{"byai-call-new", "byai", "../../testdata/webhooks/byai/call_instance_result.json", true},
		{"yiwise-call", "yiwise", "../../testdata/webhooks/yiwise/robot_call_record.json", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body, err := os.ReadFile(tc.fixture)
			if err != nil {
				b.Fatal(err)
			}
			next := func() []byte { return body }
			if tc.newCall {
				const marker = `"callInstanceId": 1,`
				pre, post, ok := bytes.Cut(body, []byte(marker))
				if !ok {
					b.Fatalf("no %s in %s", marker, tc.fixture)
				}
				n := int64(1000)
				buf := make([]byte, 0, len(body)+20)
				next = func() []byte {
					n++
					buf = append(append(buf[:0], pre...), `"callInstanceId": `...)
					buf = strconv.AppendInt(buf, n, 10)
					return append(append(buf, ','), post...)
				}
			}
			h := &inbound.Handler{
				Accounts:  map[string]*platform.Account{"a": {Name: "a", Vendor: tc.vendor, WebhookToken: "t"}},
				Publisher: &publish.Publisher{Writer: discard{}},
				Telemetry: telemetry.Noop(),
			}
			mux := http.NewServeMux()
			h.Register(mux)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/webhooks/a?token=t", bytes.NewReader(next()))
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
