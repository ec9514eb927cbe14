package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// vendorAPI answers every request 200 with a request id, counting them.
type vendorAPI struct{ n atomic.Int32 }

func (v *vendorAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	v.n.Add(1)
	h := http.Header{}
	h.Set("X-Request-Id", "rq-"+strings.TrimPrefix(r.URL.Path, "/task/"))
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, Request: r}, nil
}

// newOutbound is the half over fakes, with testAccount on the registered fakeVendor.
func newOutbound(t *testing.T, pub *fakePublisher) (*Outbound, *fakeLedger, *vendorAPI) {
	t.Helper()
	l, api := newFakeLedger(), &vendorAPI{}
	o, err := New(Config{
		Brokers:   []string{"broker.invalid:9092"},
		Accounts:  map[string]*platform.Account{testAccount: {Name: testAccount, Vendor: testVendor, BaseURL: "http://vendor.test"}},
		Ledger:    l,
		Publisher: pub,
		Transport: api,
		Retry:     RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return o, l, api
}

// record is a command as a binary-mode CloudEvent on its topic.
func record(t *testing.T, typ, id, key string, data any) kafka.Message {
	t.Helper()
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/test")
	ev.SetType("callbridge." + typ)
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	m, err := cekafka.ToKafka(context.Background(), ev, typ)
	if err != nil {
		t.Fatal(err)
	}
	m.Key = []byte(key)
	return m
}

func resultOf(t *testing.T, out event.Out) *command.Result {
	t.Helper()
	r, ok := out.Data.(*command.Result)
	if !ok {
		t.Fatalf("result data %T", out.Data)
	}
	return r
}

func TestHandlePublishesTheRecordedResult(t *testing.T) {
	tests := []struct {
		name, key  string
		data       any
		typ        string
		vendor     string
		wantKey    string
		wantCalled int32
	}{
		{name: "a success, keyed by the record's key", key: "k-1", data: taskControl("4", command.ActionPause),
			typ: event.TypeCommandSucceeded, vendor: testVendor, wantKey: "k-1", wantCalled: 1},
		{name: "a record without a key is keyed by the command id", data: taskControl("4", command.ActionPause),
			typ: event.TypeCommandSucceeded, vendor: testVendor, wantKey: "cmd-1", wantCalled: 1},
		{name: "a failure whose vendor is unknown", key: "k-1", data: map[string]any{"account": "nobody", "taskId": "4", "action": "stop"},
			typ: event.TypeCommandFailed, vendor: "unknown", wantKey: "k-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			o, l, api := newOutbound(t, pub)
			if err := o.handle(context.Background(), record(t, event.TopicTaskControl, "cmd-1", tt.key, tt.data)); err != nil {
				t.Fatal(err)
			}
			if len(pub.outs) != 1 {
				t.Fatalf("%d events published, want 1", len(pub.outs))
			}
			out, rec := pub.outs[0], l.entries["cmd-1"]
			if out.Topic != event.TopicCommandResult || out.Type != tt.typ || out.Key != tt.wantKey || pub.vendors[0] != tt.vendor {
				t.Errorf("published %s %s key %q vendor %q", out.Topic, out.Type, out.Key, pub.vendors[0])
			}
			if !out.Time.Equal(rec.UpdatedAt) || out.Subject != "command/cmd-1" || resultOf(t, out) != rec.Result {
				t.Errorf("published %+v at %v, want the recorded result at %v", out.Data, out.Time, rec.UpdatedAt)
			}
			if r := resultOf(t, out); r.VendorRequestIDs == nil {
				t.Error("vendorRequestIds is null, want a list")
			}
			if api.n.Load() != tt.wantCalled {
				t.Errorf("%d vendor requests, want %d", api.n.Load(), tt.wantCalled)
			}
		})
	}
}

func TestARepeatedRecordPublishesTheIdenticalResultEvent(t *testing.T) {
	pub := &fakePublisher{}
	o, _, api := newOutbound(t, pub)
	msg := record(t, event.TopicTaskControl, "cmd-2", "k", taskControl("4", command.ActionStart))
	for range 2 {
		if err := o.handle(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	if len(pub.outs) != 2 || api.n.Load() != 1 {
		t.Fatalf("%d results and %d vendor requests, want 2 and 1", len(pub.outs), api.n.Load())
	}
	a, _ := json.Marshal(pub.outs[0])
	b, _ := json.Marshal(pub.outs[1])
	if string(a) != string(b) {
		t.Errorf("results differ:\n%s\n%s", a, b)
	}
}

func TestAResultRecordedWithoutRequestIDsIsPublishedWithAnEmptyList(t *testing.T) {
	pub := &fakePublisher{}
	o, l, _ := newOutbound(t, pub)
	l.seed(ledger.Entry{CommandID: "old", State: ledger.StateDone, Result: &command.Result{CommandID: "old", Outcome: command.Succeeded}})
	if err := o.handle(context.Background(), record(t, event.TopicTaskControl, "old", "k", taskControl("4", command.ActionStop))); err != nil {
		t.Fatal(err)
	}
	if len(pub.outs) != 1 || resultOf(t, pub.outs[0]).VendorRequestIDs == nil {
		t.Errorf("published %+v, want the recorded result with vendorRequestIds []", pub.outs)
	}
}

func TestARecordThatIsNotACloudEventIsDeadLettered(t *testing.T) {
	pub := &fakePublisher{}
	o, l, _ := newOutbound(t, pub)
	msg := kafka.Message{Topic: event.TopicTaskControl, Partition: 2, Offset: 9, Key: []byte("k"), Value: []byte(`{"account":"acct"}`),
		Headers: []kafka.Header{{Key: "origin", Value: []byte("legacy")}}}
	if err := o.handle(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if len(pub.dead) != 1 || len(pub.outs) != 0 || len(l.puts) != 0 {
		t.Fatalf("%d dead letters, %d results, %d ledger writes; want one dead letter only", len(pub.dead), len(pub.outs), len(l.puts))
	}
	d := pub.dead[0]
	if string(d.Body) != string(msg.Value) || string(d.Key) != "k" || d.Topic != msg.Topic || d.Partition != 2 || d.Offset != 9 ||
		d.Source != "command" || !strings.Contains(d.Reason, "not a CloudEvent") || len(d.Headers) != 1 {
		t.Errorf("dead letter %+v", d)
	}
}

func TestHandleFailsWhenNothingCouldBeStored(t *testing.T) {
	tests := []struct {
		name  string
		msg   func(t *testing.T) kafka.Message
		setup func(*fakePublisher, *fakeLedger)
	}{
		{"the dead letter cannot be produced", func(*testing.T) kafka.Message { return kafka.Message{Value: []byte("x")} },
			func(p *fakePublisher, _ *fakeLedger) { p.err = errBroker }},
		{"the result cannot be produced", func(t *testing.T) kafka.Message {
			return record(t, event.TopicTaskControl, "c", "k", taskControl("4", command.ActionStop))
		}, func(p *fakePublisher, _ *fakeLedger) { p.err = errBroker }},
		{"the ledger cannot record", func(t *testing.T) kafka.Message {
			return record(t, event.TopicTaskControl, "c", "k", taskControl("4", command.ActionStop))
		}, func(_ *fakePublisher, l *fakeLedger) { l.putErr = errBroker }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			o, l, _ := newOutbound(t, pub)
			tt.setup(pub, l)
			if err := o.handle(context.Background(), tt.msg(t)); !errors.Is(err, errBroker) {
				t.Errorf("err %v, want the broker's", err)
			}
		})
	}
}

func TestAResultThatBreaksItsSchemaDeadLettersTheCommandInsteadOfStoppingThePartition(t *testing.T) {
	pub := &fakePublisher{publishErr: &publish.InvalidEventError{Type: event.TypeCommandSucceeded, ID: "x", Err: errors.New("/commandType: not in enum")}}
	o, _, _ := newOutbound(t, pub)
	msg := record(t, event.TopicTaskControl, "c", "k", taskControl("4", command.ActionStop))
	if err := o.handle(context.Background(), msg); err != nil {
		t.Fatalf("handle = %v, want the record settled (dead-lettered)", err)
	}
	if len(pub.dead) != 1 || !strings.Contains(pub.dead[0].Reason, "does not match the schema") || string(pub.dead[0].Body) != string(msg.Value) {
		t.Fatalf("dead letters %+v, want the command with the reason", pub.dead)
	}
}

// TestADuplicateCountsAsDuplicate: a repeat of a settled command executes nothing,
// so callbridge_commands_total counts it as outcome="duplicate", not as its result.
func TestADuplicateCountsAsDuplicate(t *testing.T) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	o, _, _ := newOutbound(t, &fakePublisher{})
	o.cfg.Telemetry = tel
	msg := record(t, event.TopicTaskControl, "cmd-dup", "k", taskControl("4", command.ActionStart))
	for range 2 {
		if err := o.handle(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`callbridge_commands_total{account="` + testAccount + `",outcome="succeeded",type="task.control"} 1`,
		`callbridge_commands_total{account="` + testAccount + `",outcome="duplicate",type="task.control"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(rec.Body.String(), "callbridge_commands_total"))
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
