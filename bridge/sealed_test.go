package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

const (
	sealToken = "AIGbuK3sOV"
	sealKey   = "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw"
)

func sealedVars() map[string]string {
	return map[string]string{
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_CALLBACK_TOKEN":   sealToken,
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_CALLBACK_AES_KEY": sealKey,
	}
}

// sealedPost sends body sealed as the vendor's sender seals it, with crypt's token
// and key, and query changes applied.
func sealedPost(t *testing.T, e *testEnv, token, key string, body []byte, mod func(q url.Values)) int {
	t.Helper()
	c, err := callbackcrypto.New(token, key, "")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := "1678759048896", "8214825565"
	sig := callbackcrypto.Signature(token, ts, nonce, enc)
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
	if mod != nil {
		mod(q)
	}
	resp, err := http.Post(e.srv.URL+"/webhooks/yiwise-east?"+q.Encode(), "application/xml", bytes.NewReader(callbackcrypto.Envelope(enc, sig, ts, nonce)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestSealedCallbacksFromTheSimulatorBecomeEvents(t *testing.T) {
	e := newInbound(t, sealedVars())
	sim := yiwisesim.New(yiwisesim.Config{
		AppKey: "gvlfIPLJTMEAHgyM", AppSecret: "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", TenantSign: "zhongna",
		CallbackToken: sealToken, CallbackAESKey: sealKey,
		Options: core.Options{WebhookURL: e.srv.URL + "/webhooks/yiwise-east", TimeScale: 0.001},
	})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.VerifyCallbackURL(ctx); err != nil {
		t.Fatalf("the vendor's URL verification failed: %v", err)
	}

	// Drive the simulated vendor with the product's own client, as the outbound half would.
	settings, err := yiwise.Vendor{}.Configure(map[string]string{"TENANT_SIGN": "zhongna", "API_VERSION": "v1"})
	if err != nil {
		t.Fatal(err)
	}
	client := yiwise.Vendor{}.NewClient(&platform.Account{Name: "yiwise-east", Vendor: "yiwise", AppKey: "gvlfIPLJTMEAHgyM",
		AppSecret: "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", BaseURL: simSrv.URL, Settings: settings}, nil)
	task, err := client.CreateTask(ctx, &command.TaskCreate{Name: "加密回调", Mode: "manual", LineType: "mobile",
		CallerIDs: []command.ID{"276"}, Script: command.Script(`{"dialogFlowId":"2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.ImportCustomers(ctx, task.ID, []command.Customer{{Name: "甲", Phone: "13900000001"}, {Name: "乙", Phone: "13900000002"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(task.ID), Action: command.ActionStart}); err != nil {
		t.Fatal(err)
	}
	calls := e.events(event.TopicCallFinished, 2)
	if len(calls) != 2 {
		t.Logf("bridge logs:\n%s", e.logs.String())
		t.Fatalf("%d call.finished events, want 2", len(calls))
	}
	if st := e.events(event.TopicTaskStatus, 1); len(st) != 1 {
		t.Fatalf("%d task.status events, want 1", len(st))
	}
}

func TestSealedAccountRefusesWhatIsNotAuthentic(t *testing.T) {
	e := newInbound(t, sealedVars())
	record := readFixture(t, "yiwise/robot_call_record.json")
	cases := []struct {
		name string
		send func() int
		want int
	}{
		{"a sealed callback", func() int { return sealedPost(t, e, sealToken, sealKey, record, nil) }, http.StatusOK},
		{"a plain callback, even with the token", func() int { s, _ := e.post("yiwise-east", yiwiseToken, record); return s }, http.StatusUnauthorized},
		{"a signature made with another token", func() int { return sealedPost(t, e, "another", sealKey, record, nil) }, http.StatusUnauthorized},
		{"no signature", func() int {
			return sealedPost(t, e, sealToken, sealKey, record, func(q url.Values) { q.Del("msg_signature") })
		}, http.StatusUnauthorized},
		{"a changed timestamp", func() int {
			return sealedPost(t, e, sealToken, sealKey, record, func(q url.Values) { q.Set("timestamp", "1678759048897") })
		}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.send(); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	// Only the authentic callback was written.
	msgs := kafkatest.ReadAll(t, e.kafka.Addrs(), e.topic(event.TopicCallFinished), 1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d records on call.finished, want 1", len(msgs))
	}
}

func TestSealedCallbackThatDoesNotOpenIsDeadLettered(t *testing.T) {
	e := newInbound(t, sealedVars())
	// The right token signs it, but another key encrypted it: authentic, unreadable.
	if got := sealedPost(t, e, sealToken, "z9EQtzW6fI+vz/13u3NDN4gGyhuAFa1Js8LNkIZzFVE", []byte(`{"dataType":"ROBOT_CALL_JOB","data":{}}`), nil); got != http.StatusOK {
		t.Fatalf("status %d, want 200 (kept on the dead-letter topic)", got)
	}
	msgs := kafkatest.ReadAll(t, e.kafka.Addrs(), e.topic(event.TopicDLQ), 1, 10*time.Second)
	if len(msgs) != 1 || !bytes.Contains(msgs[0].Value, []byte("<Encrypt>")) {
		t.Fatalf("dead letters %d, want the envelope as received", len(msgs))
	}
}

func TestURLVerificationOfAnAccountWithoutSealingIsRefused(t *testing.T) {
	e := newInbound(t, nil)
	resp, err := http.Get(e.srv.URL + "/webhooks/yiwise-east?msg_signature=a&timestamp=1&nonce=2&echostr=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", resp.StatusCode)
	}
}

// An encrypted callback becomes exactly the event its plain twin would: same id, same
// data.
func TestASealedCallbackIsTheSameEventAsItsPlainTwin(t *testing.T) {
	e := newInbound(t, sealedVars())
	record := readFixture(t, "yiwise/robot_call_record.json")
	if got := sealedPost(t, e, sealToken, sealKey, record, nil); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	evs := e.events(event.TopicCallFinished, 1)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	var acct *platform.Account
	for i := range e.cfg.Accounts {
		if e.cfg.Accounts[i].Name == "yiwise-east" {
			acct = &e.cfg.Accounts[i]
		}
	}
	twins, err := yiwise.Vendor{}.ParseWebhook(acct, record)
	if err != nil || len(twins) != 1 {
		t.Fatalf("plain twin: %v, %d events", err, len(twins))
	}
	if evs[0].ID() != twins[0].ID {
		t.Errorf("sealed event id %s, plain twin's %s", evs[0].ID(), twins[0].ID)
	}
	want, err := json.Marshal(twins[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	var got, plain map[string]any
	_ = json.Unmarshal(evs[0].Data(), &got)
	_ = json.Unmarshal(want, &plain)
	delete(got, "raw")
	delete(plain, "raw")
	if !reflect.DeepEqual(got, plain) {
		t.Errorf("sealed event data\n%v\nplain twin's\n%v", got, plain)
	}
}

func TestURLVerificationWithABadSignatureIs401(t *testing.T) {
	e := newInbound(t, sealedVars())
	c, _ := callbackcrypto.New(sealToken, sealKey, "")
	echo, _ := c.Encrypt([]byte("hello"), nil)
	good := callbackcrypto.Signature(sealToken, "1", "2", echo)
	for _, tc := range []struct {
		name, sig string
		want      int
	}{
		{"the right signature gets the echo", good, http.StatusOK},
		{"a bad signature", strings.Repeat("0", 40), http.StatusUnauthorized},
		{"no signature", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"msg_signature": {tc.sig}, "timestamp": {"1"}, "nonce": {"2"}, "echostr": {echo}}
			resp, err := http.Get(e.srv.URL + "/webhooks/yiwise-east?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || (tc.want == http.StatusOK && string(body) != "hello") {
				t.Fatalf("status %d body %q, want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
}
