package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/schemas"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	byaiToken   = "tok-byai-0123456789"
	yiwiseToken = "tok-yiwise-0123456789"
)

// cluster is the Kafka a test runs against: the in-process broker by default, or a
// real Kafka container (see realkafka_test.go).
type cluster interface{ Addrs() []string }

// newCluster returns the Kafka for one test.
var newCluster = func(t testing.TB) cluster { return kafkatest.New(t) }

// inProcess returns the in-process broker, skipping tests that need its fault switch
// when they run against a real cluster.
func inProcess(t testing.TB, c cluster) *kafkatest.Cluster {
	t.Helper()
	k, ok := c.(*kafkatest.Cluster)
	if !ok {
		t.Skip("needs the in-process broker's fault switch")
	}
	return k
}

// testEnv is a bridge serving HTTP against an in-process broker.
type testEnv struct {
	t      testing.TB
	kafka  cluster
	cfg    *config.Config
	bridge *bridge.Bridge
	srv    *httptest.Server
	spans  *tracetest.InMemoryExporter
	tel    *telemetry.Telemetry
	logs   *lockedWriter
	vars_  map[string]string
}

// vars is a copy of the variables the bridge was started with.
func (e *testEnv) vars() map[string]string { return maps.Clone(e.vars_) }

// baseVars configures one account per vendor against the given vendor URLs.
func baseVars(brokers []string, byaiURL, yiwiseURL string) map[string]string {
	return map[string]string{
		"CALLBRIDGE_KAFKA_BROKERS":                     strings.Join(brokers, ","),
		"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT":             "3s",
		"CALLBRIDGE_KAFKA_TOPIC_PARTITIONS":            "3",
		"CALLBRIDGE_ACCOUNTS":                          "byai-main,yiwise-east",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR":          "byai",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_KEY":         "WtSMaXXXXXXXXtvy",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_APP_SECRET":      "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_COMPANY_ID":      "1",
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_BASE_URL":        byaiURL,
		"CALLBRIDGE_ACCOUNT_BYAI_MAIN_WEBHOOK_TOKEN":   byaiToken,
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_VENDOR":        "yiwise",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_APP_KEY":       "gvlfIPLJTMEAHgyM",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_APP_SECRET":    "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_TENANT_SIGN":   "zhongna",
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_BASE_URL":      yiwiseURL,
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_WEBHOOK_TOKEN": yiwiseToken,
	}
}

// newInbound starts a bridge with only the inbound half.
func newInbound(t testing.TB, extra map[string]string) *testEnv {
	t.Helper()
	k := newCluster(t)
	vars := baseVars(k.Addrs(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	vars["CALLBRIDGE_OUTBOUND_ENABLED"] = "false"
	for key, v := range extra {
		vars[key] = v
	}
	return start(t, k, vars)
}

func start(t testing.TB, k cluster, vars map[string]string) *testEnv {
	t.Helper()
	if _, ok := k.(*kafkatest.Cluster); !ok && vars["CALLBRIDGE_TOPIC_PREFIX"] == "" {
		// A real cluster is shared by the tests: give each its own topics and group.
		prefix := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + fmt.Sprintf("-%d.", time.Now().UnixNano())
		vars["CALLBRIDGE_TOPIC_PREFIX"] = prefix
		vars["CALLBRIDGE_CONSUMER_GROUP"] = prefix + "callbridge"
	}
	cfg, err := config.LoadFrom(vars)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewInMemoryExporter()
	logs := &lockedWriter{w: &bytes.Buffer{}}
	var logTo io.Writer = logs
	if os.Getenv("CALLBRIDGE_TEST_LOGS") != "" {
		logTo = io.MultiWriter(logs, os.Stderr)
	}
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{SpanExporter: spans, LogWriter: logTo, LogLevel: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	instance := fmt.Sprintf("test-instance-%d", instances.Add(1))
	b, err := bridge.New(ctx, cfg, bridge.Options{Telemetry: tel, ValidateEvents: true, VendorTransport: vendorTransport, InstanceID: instance})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, kafka: k, cfg: cfg, bridge: b, srv: srv, spans: spans, tel: tel, logs: logs, vars_: maps.Clone(vars)}
}

// instances numbers the bridges a test starts, so each has its own ledger owner id.
var instances atomic.Int32

// vendorTransport is nil (the default transport) unless a test swaps it.
var vendorTransport http.RoundTripper

// post sends a webhook and returns the status and body.
func (e *testEnv) post(account, token string, body []byte) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/"+account, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Callbridge-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// topic is the physical name of a logical topic.
func (e *testEnv) topic(name string) string { return e.cfg.TopicPrefix + name }

// events reads CloudEvents from a logical topic, waiting for at least min, and checks
// each against the contract: attributes and data valid under its schema.
func (e *testEnv) events(topic string, min int) []*cloudevents.Event {
	e.t.Helper()
	msgs := kafkatest.ReadAll(e.t, e.kafka.Addrs(), e.cfg.TopicPrefix+topic, min, 10*time.Second)
	var out []*cloudevents.Event
	for _, m := range msgs {
		ev, err := cekafka.FromKafka(m)
		if err != nil {
			e.t.Fatalf("record on %s is not a CloudEvent: %v", topic, err)
		}
		if ev.SpecVersion() != "1.0" || ev.DataContentType() != "application/json" {
			e.t.Errorf("%s: specversion %q datacontenttype %q", ev.ID(), ev.SpecVersion(), ev.DataContentType())
		}
		if got := string(m.Key); got != ev.Extensions()["partitionkey"] {
			e.t.Errorf("%s: kafka key %q != partitionkey %v", ev.ID(), got, ev.Extensions()["partitionkey"])
		}
		name := strings.TrimPrefix(ev.Type(), "callbridge.")
		if strings.HasPrefix(name, "command.") {
			name = "command.result"
		}
		if ev.DataSchema() != schemas.URI(name) {
			e.t.Errorf("%s: dataschema %q, want %q", ev.ID(), ev.DataSchema(), schemas.URI(name))
		}
		if err := schemas.Validate(name, ev.Data()); err != nil {
			e.t.Errorf("%s: data does not validate: %v", ev.ID(), err)
		}
		out = append(out, ev)
	}
	return out
}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	for _, dir := range []string{"../../shared/testdata/webhooks", "../testdata/webhooks"} {
		if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
			return b
		}
	}
	t.Fatalf("fixture %s not found", rel)
	return nil
}

// golden compares data (indented) with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, data []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(v, "", "  ")
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bridge -update to create it)", err)
	}
	if string(bytes.TrimSpace(want)) != string(got) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, got, want)
	}
}

// lockedWriter collects log lines from concurrent goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
