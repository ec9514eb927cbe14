package bridge_test

// A third calling platform, "acme", that exists only in this file: the proof that
// adding a vendor is one package and one line. Everything acme needs lives below,
// shaped as a package under internal/platform/<vendor> would be (vendor, settings,
// script schema, webhook parser, API client); the one line that links it is the
// Register call in init, which a real vendor package makes in its own init and
// bridge/bridge.go links with one blank import. The test then runs acme through the
// real bridge exactly as production does: configuration from CALLBRIDGE_* variables
// through internal/config, the in-process Kafka broker, the bridge's own HTTP server.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/schemas"
)

// The one line.
func init() { platform.Register(acme{}) }

// acme is the test's third vendor.
type acme struct{}

var _ platform.Vendor = acme{}

func (acme) Name() string { return "acme" }

// acmeSettings is what acme's Configure makes of its one setting.
type acmeSettings struct{ Region string }

// Settings declares REGION: CALLBRIDGE_ACCOUNT_<NAME>_REGION.
func (acme) Settings() []platform.Setting {
	return []platform.Setting{{Name: "REGION", Required: true, Enum: []string{"eu-1", "us-1"},
		Doc: "Acme region the account lives in; sent with every API request"}}
}

func (acme) Configure(values map[string]string) (any, error) {
	return acmeSettings{Region: values["REGION"]}, nil
}

// ScriptSchema reuses the shape of one id named dialogFlowId, which the command
// schemas' hand-written script definition already accepts; once that definition is
// made from every vendor's ScriptSchema, acme could name its own id.
func (acme) ScriptSchema() json.RawMessage {
	return json.RawMessage(`{
  "title": "Acme script",
  "description": "Acme's dialogue: its flow id.",
  "type": "object",
  "required": ["dialogFlowId"],
  "additionalProperties": false,
  "properties": {"dialogFlowId": {"$ref": "#/$defs/id", "title": "Flow id", "description": "Acme flow id."}}
}`)
}

// acmeHook is acme's one webhook: {"event": "call_end", "call": {...}}.
type acmeHook struct {
	Event string `json:"event"`
	Call  struct {
		ID      string `json:"id"`
		Task    string `json:"task"`
		Phone   string `json:"phone"`
		Status  string `json:"status"`
		Seconds int64  `json:"seconds"`
		EndedAt string `json:"endedAt"`
	} `json:"call"`
}

func (acme) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	var h acmeHook
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("acme: %w: %w", platform.ErrUnparseable, err)
	}
	if h.Event != "call_end" || h.Call.ID == "" {
		return nil, fmt.Errorf("acme: %w: event %q", platform.ErrUnparseable, h.Event)
	}
	c := h.Call
	ended, err := time.Parse(time.RFC3339, c.EndedAt)
	if err != nil {
		return nil, fmt.Errorf("acme: %w: endedAt: %w", platform.ErrUnparseable, err)
	}
	status := event.StatusUnknown
	if c.Status == "answered" || c.Status == "busy" {
		status = c.Status
	}
	return []event.Out{{
		Topic:   event.TopicCallFinished,
		Type:    event.TypeCallFinished,
		ID:      event.CallFinishedID("acme", acct.Name, c.ID),
		Subject: "call/" + c.ID,
		Time:    ended,
		Key:     c.Task,
		Data: &event.CallFinished{
			Vendor: "acme", Account: acct.Name, Direction: "outbound", CallID: c.ID, TaskID: event.Str(c.Task),
			Customer: event.Customer{Phone: event.Str(c.Phone)}, Status: status, VendorStatus: c.Status,
			Answered: status == event.StatusAnswered, Tags: []string{}, Concerns: []string{},
			DurationSeconds: c.Seconds, EndedAt: event.Str(ended.Format(time.RFC3339)),
			Transcript: []event.Utterance{}, Raw: json.RawMessage(body),
		},
		Phones: func() []string { return []string{c.Phone} },
	}}, nil
}

func (acme) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	s, _ := acct.Settings.(acmeSettings)
	return &acmeClient{acct: acct, region: s.Region, hc: hc}
}

// acmeClient calls acme's JSON API: POST /tasks, GET /tasks?name=,
// POST /tasks/{id}/customers, POST /tasks/{id}/{action}.
type acmeClient struct {
	acct   *platform.Account
	region string
	hc     *http.Client
}

func (c *acmeClient) do(ctx context.Context, endpoint, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("acme %s: %w", endpoint, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.acct.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("acme %s: %w", endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.acct.AppKey+":"+c.acct.AppSecret)
	req.Header.Set("Acme-Region", c.region)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &platform.Error{Endpoint: endpoint, Message: err.Error(), Retryable: ctx.Err() == nil, Err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &platform.Error{Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: string(b), Retryable: platform.RetryableCode(resp.StatusCode)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return &platform.Error{Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: "bad reply: " + err.Error()}
		}
	}
	return nil
}

func (c *acmeClient) CreateTask(ctx context.Context, tc *command.TaskCreate) (platform.Reply, error) {
	var s struct {
		Flow command.ID `json:"dialogFlowId"`
	}
	if err := json.Unmarshal(tc.Script, &s); err != nil {
		return platform.Reply{}, fmt.Errorf("acme script: %w: %w", platform.ErrInvalidInput, err)
	}
	var out struct{ ID string }
	err := c.do(ctx, "tasks/create", http.MethodPost, "/tasks", map[string]any{"name": tc.Name, "flow": s.Flow}, &out)
	return platform.Reply{ID: out.ID}, err
}

func (c *acmeClient) FindTasks(ctx context.Context, name string) ([]string, error) {
	var out struct{ IDs []string }
	err := c.do(ctx, "tasks/find", http.MethodGet, "/tasks?name="+name, nil, &out)
	return out.IDs, err
}

func (c *acmeClient) ImportBatchSize() int { return 2 }

func (c *acmeClient) ImportCustomers(ctx context.Context, taskID string, cs []command.Customer) (platform.Reply, error) {
	err := c.do(ctx, "tasks/customers", http.MethodPost, "/tasks/"+taskID+"/customers", cs, nil)
	return platform.Reply{Accepted: len(cs)}, err
}

func (c *acmeClient) ControlTask(ctx context.Context, tc *command.TaskControl) (platform.Reply, error) {
	switch tc.Action {
	case command.ActionStart, command.ActionPause, command.ActionStop:
	default:
		return platform.Reply{}, fmt.Errorf("acme has no %s: %w", tc.Action, platform.ErrInvalidInput)
	}
	return platform.Reply{}, c.do(ctx, "tasks/"+tc.Action, http.MethodPost, "/tasks/"+string(tc.TaskID)+"/"+tc.Action, nil, nil)
}

// acmeAPI is acme's API as a test server: it records each request.
type acmeAPI struct {
	mu   sync.Mutex
	reqs []string // "METHOD /path region body"
}

func (a *acmeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", r.Method, r.URL.Path, r.Header.Get("Acme-Region"), b)))
	a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer acme-key:acme-secret" {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/tasks":
		_, _ = io.WriteString(w, `{"id": "task-77"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/tasks":
		_, _ = io.WriteString(w, `{"ids": []}`)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

func (a *acmeAPI) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

func TestAThirdVendorServesAWebhookAndACommandEndToEnd(t *testing.T) {
	k := kafkatest.New(t)
	api := &acmeAPI{}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	for name, v := range map[string]string{
		"CALLBRIDGE_KAFKA_BROKERS":                   strings.Join(k.Addrs(), ","),
		"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT":           "3s",
		"CALLBRIDGE_KAFKA_TOPIC_PARTITIONS":          "3",
		"CALLBRIDGE_HTTP_ADDR":                       "127.0.0.1:0",
		"CALLBRIDGE_RETRY_INITIAL_BACKOFF":           "5ms",
		"CALLBRIDGE_ACCOUNTS":                        "acme-main",
		"CALLBRIDGE_ACCOUNT_ACME_MAIN_VENDOR":        "acme",
		"CALLBRIDGE_ACCOUNT_ACME_MAIN_APP_KEY":       "acme-key",
		"CALLBRIDGE_ACCOUNT_ACME_MAIN_APP_SECRET":    "acme-secret",
		"CALLBRIDGE_ACCOUNT_ACME_MAIN_BASE_URL":      apiSrv.URL,
		"CALLBRIDGE_ACCOUNT_ACME_MAIN_WEBHOOK_TOKEN": "acme-token",
	} {
		t.Setenv(name, v)
	}

	// The vendor's own setting is read, and required, through the registry.
	if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "CALLBRIDGE_ACCOUNT_ACME_MAIN_REGION") {
		t.Fatalf("config without REGION: %v, want an error naming CALLBRIDGE_ACCOUNT_ACME_MAIN_REGION", err)
	}
	t.Setenv("CALLBRIDGE_ACCOUNT_ACME_MAIN_REGION", "eu-1")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}

	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	base := serveBridge(t, cfg, tel, "acme-test")

	t.Run("a webhook becomes a call.finished CloudEvent", func(t *testing.T) {
		body := `{"event": "call_end", "call": {"id": "call-9", "task": "task-77", "phone": "13800000009", "status": "answered", "seconds": 42, "endedAt": "2026-03-01T10:00:00+01:00"}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/acme-main", strings.NewReader(body))
		req.Header.Set("X-Callbridge-Token", "acme-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(reply) != "success" {
			t.Fatalf("webhook answered %d %q, want 200 success", resp.StatusCode, reply)
		}
		evs := cloudEvents(t, k, event.TopicCallFinished, 1)
		if len(evs) != 1 {
			t.Fatalf("%d events on call.finished, want 1", len(evs))
		}
		ev := evs[0]
		if ev.Type() != event.TypeCallFinished || ev.Source() != "/callbridge/acme/acme-main" || ev.Subject() != "call/call-9" ||
			ev.Extensions()["vendor"] != "acme" || ev.Extensions()["partitionkey"] != "task-77" {
			t.Errorf("event %s", ev)
		}
		var d event.CallFinished
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			t.Fatal(err)
		}
		if d.CallID != "call-9" || d.Status != event.StatusAnswered || d.DurationSeconds != 42 || d.Account != "acme-main" {
			t.Errorf("data %s", ev.Data())
		}
		if err := schemas.Validate("call.finished", ev.Data()); err != nil {
			t.Error(err)
		}
	})

	t.Run("a task.create command calls its API and succeeds", func(t *testing.T) {
		produceCommand(t, k, event.TopicTaskCreate, "acme-create-1", map[string]any{
			"account": "acme-main", "name": "spring", "mode": "manual", "callerIds": []string{"1"}, "lineType": "mobile",
			"script": map[string]any{"dialogFlowId": 7}, "customers": customers(3), "start": true,
		})
		var r command.Result
		var data []byte
		for deadline := time.Now().Add(30 * time.Second); r.CommandID == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, ev := range cloudEvents(t, k, event.TopicCommandResult, 0) {
				var got command.Result
				if err := json.Unmarshal(ev.Data(), &got); err == nil && got.CommandID == "acme-create-1" {
					r, data = got, ev.Data()
				}
			}
		}
		if r.Outcome != command.Succeeded || r.TaskID != "task-77" || r.Vendor != "acme" {
			t.Fatalf("result %s, want succeeded with taskId task-77", data)
		}
		if err := schemas.Validate("command.result", data); err != nil {
			t.Error(err)
		}
		want := []string{
			`POST /tasks eu-1 {"flow":"7","name":"spring"}`,
			`POST /tasks/task-77/customers eu-1`, // batches of 2: 2 customers, then 1
			`POST /tasks/task-77/customers eu-1`,
			`POST /tasks/task-77/start eu-1`,
		}
		got := api.requests()
		if len(got) != len(want) {
			t.Fatalf("acme API got %d requests, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("request %d: %q, want %q…", i, got[i], want[i])
			}
		}
	})
}

// cloudEvents reads a topic's records as CloudEvents, waiting for at least min.
func cloudEvents(t *testing.T, k *kafkatest.Cluster, topic string, min int) []*cloudevents.Event {
	t.Helper()
	var evs []*cloudevents.Event
	for _, m := range kafkatest.ReadAll(t, k.Addrs(), topic, min, 10*time.Second) {
		ev, err := cekafka.FromKafka(m)
		if err != nil {
			t.Fatalf("record on %s is not a CloudEvent: %v", topic, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// produceCommand produces data as a command CloudEvent with the given id.
func produceCommand(t *testing.T, k *kafkatest.Cluster, topic, id string, data any) {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/platform/test")
	ev.SetType("callbridge." + topic)
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	msg, err := cekafka.ToKafka(context.Background(), ev, topic)
	if err != nil {
		t.Fatal(err)
	}
	msg.Key = []byte(id)
	w := &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// serveBridge builds the bridge cfg describes (events validated) and runs it on
// cfg.HTTPAddr until the test ends, as serve does; it returns its base URL.
func serveBridge(t *testing.T, cfg *config.Config, tel *telemetry.Telemetry, instance string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bridge.New(ctx, cfg, bridge.Options{Telemetry: tel, InstanceID: instance, ValidateEvents: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- b.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("bridge run: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
