package inbound_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
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
//	go test ./bridge/inbound -run '^$' -bench BenchmarkHandler -benchmem
func BenchmarkHandler(b *testing.B) {
	for _, tc := range []struct{ name, vendor, fixture string }{
		{"byai-call", "byai", "../../testdata/webhooks/byai/call_instance_result.json"},
		{"yiwise-call", "yiwise", "../../testdata/webhooks/yiwise/robot_call_record.json"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body, err := os.ReadFile(tc.fixture)
			if err != nil {
				b.Fatal(err)
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
				req := httptest.NewRequest(http.MethodPost, "/webhooks/a?token=t", bytes.NewReader(body))
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
