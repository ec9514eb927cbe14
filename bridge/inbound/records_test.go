package inbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge/inbound"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

var update = flag.Bool("update", false, "rewrite the golden records in testdata/records")

// capture keeps the records a handler produced.
type capture struct {
	mu   sync.Mutex
	msgs []kafka.Message
}

func (c *capture) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		m.Value = bytes.Clone(m.Value) // the publisher recycles its buffers
		c.msgs = append(c.msgs, m)
	}
	return nil
}

// Every fixture webhook becomes the very record it became before, byte for byte
// (topic, key, every header, value), under every privacy mode: the parsers and the
// publisher are tuned for speed, and this pins what they produce. Only what differs
// from run to run is masked: trace ids, and a time that is the time of arrival.
func TestFixtureRecordsAreUnchanged(t *testing.T) {
	fixtures, err := filepath.Glob("../../testdata/webhooks/*/*.json")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	// The fixtures are indented; vendors send compact bodies, which take other
	// paths through the parsers (compact only in plain mode: privacy does not care).
	variants := []struct {
		mode    privacy.Mode
		compact bool
	}{{privacy.Plain, false}, {privacy.Mask, false}, {privacy.Hash, false}, {privacy.Plain, true}}
	for _, fixture := range fixtures {
		vendor := filepath.Base(filepath.Dir(fixture))
		for _, vr := range variants {
			mode := vr.mode
			name := vendor + "_" + strings.TrimSuffix(filepath.Base(fixture), ".json") + "_" + string(mode)
			if vr.compact {
				name += "_compact"
			}
			t.Run(name, func(t *testing.T) {
				body, err := os.ReadFile(fixture)
				if err != nil {
					t.Fatal(err)
				}
				if vr.compact {
					var c bytes.Buffer
					if err := json.Compact(&c, body); err != nil {
						t.Fatal(err)
					}
					body = c.Bytes()
				}
				policy, err := privacy.New(mode, []byte("0123456789abcdef0123456789abcdef"))
				if err != nil {
					t.Fatal(err)
				}
				w := &capture{}
				h := &inbound.Handler{
					Accounts:  map[string]*platform.Account{"a": {Name: "a", Vendor: vendor, WebhookToken: "t"}},
					Publisher: &publish.Publisher{Writer: w, Privacy: policy, Validate: true},
					Telemetry: telemetry.Noop(),
				}
				mux := http.NewServeMux()
				h.Register(mux)
				before := time.Now()
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/a?token=t", bytes.NewReader(body)))
				after := time.Now()
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				got := describe(w.msgs, before, after)
				path := filepath.Join("testdata", "records", name+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./bridge/inbound -run TestFixtureRecordsAreUnchanged -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("records differ from %s:\n got: %s\nwant: %s", path, got, want)
				}
			})
		}
	}
}

// describe writes records as text: what is random (trace ids) or the time of
// arrival (a ce_time between before and after) is masked.
func describe(msgs []kafka.Message, before, after time.Time) []byte {
	var b bytes.Buffer
	for i, m := range msgs {
		fmt.Fprintf(&b, "record %d\ntopic %s\nkey %q\n", i, m.Topic, m.Key)
		for _, h := range m.Headers {
			v := string(h.Value)
			switch h.Key {
			case "ce_traceparent", "ce_tracestate", "traceparent", "tracestate":
				v = "<trace>"
			case "ce_time":
				if t, err := time.Parse(time.RFC3339Nano, v); err == nil && !t.Before(before.Truncate(time.Second)) && !t.After(after) {
					v = "<arrival>"
				}
			}
			fmt.Fprintf(&b, "header %s: %q\n", h.Key, v)
		}
		fmt.Fprintf(&b, "value %s\n", m.Value)
	}
	return b.Bytes()
}
