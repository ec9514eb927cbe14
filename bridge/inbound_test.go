package bridge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/publish"
)

// Every documented webhook body becomes the right CloudEvent, field by field.
func TestDocumentedWebhooksBecomeCloudEvents(t *testing.T) {
	env := newInbound(t, nil)
	cases := []struct {
		fixture, account, token  string
		topic, typ, key, subject string
		golden                   string
		check                    func(t *testing.T, d map[string]any)
	}{
		{"byai/call_instance_result.json", "byai-main", byaiToken, event.TopicCallFinished, event.TypeCallFinished, "1", "call/1", "byai_call_finished.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "direction", "outbound")
				want(t, d, "callId", "1")
				want(t, d, "taskId", "1")
				want(t, d, "taskName", "GG0112-YX NEW1")
				want(t, d, "status", "answered")
				want(t, d, "vendorStatus", "0")
				want(t, d, "answered", true)
				want(t, d, "intentLevel", "C")
				want(t, d, "intentLabel", "C级(很少)")
				want(t, d, "tags", []any{"无效用户"})
				want(t, d, "durationSeconds", float64(35))
				want(t, d, "chatRounds", float64(3))
				want(t, d, "startedAt", "2019-01-12T16:09:32+08:00")
				want(t, d, "endedAt", "2019-01-12T16:10:11+08:00")
				want(t, d, "hangupBy", "customer")
				want(t, d, "customer", map[string]any{"id": "1", "name": "2989", "phone": "137xxxxxxxx"})
				tr := d["transcript"].([]any)
				want(t, tr[0].(map[string]any), "speaker", "robot")
				want(t, tr[1].(map[string]any), "speaker", "customer")
				want(t, tr[1].(map[string]any), "startMs", float64(8350))
				want(t, tr[1].(map[string]any), "endMs", float64(10570))
			}},
		{"byai/inbound_call_instance_result.json", "byai-main", byaiToken, event.TopicCallFinished, event.TypeCallFinished, "98", "call/1091", "byai_inbound_call_finished.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "direction", "inbound")
				want(t, d, "callId", "1091")
				want(t, d, "callerNumber", "057126881788")
				want(t, d, "intentLevel", "B")
				want(t, d, "concerns", []any{"位置"})
				want(t, d, "startedAt", "2019-01-24T15:27:39+08:00")
			}},
		{"byai/job_info_result.json", "byai-main", byaiToken, event.TopicTaskStatus, event.TypeTaskStatus, "535", "task/535", "byai_task_status.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "taskId", "535")
				want(t, d, "companyId", "243")
				want(t, d, "status", "completed")
				want(t, d, "vendorStatus", "2")
				want(t, d, "finished", true)
			}},
		{"byai/intent_level_changed.json", "byai-main", byaiToken, event.TopicIntentChanged, event.TypeIntentChanged, "2016", "call/2016", "byai_intent_changed.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "callId", "2016")
				want(t, d, "companyId", "241")
				want(t, d, "intentLevel", "B")
				want(t, d, "changedBy", "manual")
			}},
		{"yiwise/robot_call_record.json", "yiwise-east", yiwiseToken, event.TopicCallFinished, event.TypeCallFinished, "43", "call/119", "yiwise_call_finished.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "callId", "119")
				want(t, d, "taskId", "43")
				want(t, d, "status", "answered")
				want(t, d, "vendorStatus", "ANSWERED")
				want(t, d, "intentLevel", "A")
				want(t, d, "concerns", []any{"价格"})
				want(t, d, "tags", []any{"有钱"})
				want(t, d, "durationSeconds", float64(37))
				want(t, d, "startedAt", "2018-10-12T18:46:55+08:00")
				want(t, d, "endedAt", "2018-10-12T18:47:42+08:00")
			}},
		{"yiwise/robot_call_job.json", "yiwise-east", yiwiseToken, event.TopicTaskStatus, event.TypeTaskStatus, "43", "task/43", "yiwise_task_status.json",
			func(t *testing.T, d map[string]any) {
				want(t, d, "taskId", "43")
				want(t, d, "status", "completed")
				want(t, d, "vendorStatus", "COMPLETED")
				want(t, d, "finished", true)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			body := readFixture(t, tc.fixture)
			before := len(env.events(tc.topic, 0))
			if status, reply := env.post(tc.account, tc.token, body); status != http.StatusOK || reply != "success" {
				t.Fatalf("POST = %d %q, want 200 success", status, reply)
			}
			evs := env.events(tc.topic, before+1)
			if len(evs) != before+1 {
				t.Fatalf("%d events on %s, want %d", len(evs), tc.topic, before+1)
			}
			vendor := strings.SplitN(tc.fixture, "/", 2)[0]
			// Partitions do not keep time order between them: find the event by what it is about.
			var ev *cloudevents.Event
			for _, e := range evs {
				if e.Subject() == tc.subject && e.Source() == "/callbridge/"+vendor+"/"+tc.account {
					ev = e
				}
			}
			if ev == nil {
				t.Fatalf("no event with subject %s from %s/%s", tc.subject, vendor, tc.account)
			}
			if ev.Type() != tc.typ {
				t.Errorf("type %q, want %q", ev.Type(), tc.typ)
			}
			ext := ev.Extensions()
			if ext["vendor"] != vendor || ext["account"] != tc.account || ext["partitionkey"] != tc.key {
				t.Errorf("extensions %v, want vendor %s account %s partitionkey %s", ext, vendor, tc.account, tc.key)
			}
			if tp, _ := ext["traceparent"].(string); len(tp) != 55 {
				t.Errorf("traceparent %q missing or malformed", tp)
			}
			var d map[string]any
			if err := json.Unmarshal(ev.Data(), &d); err != nil {
				t.Fatal(err)
			}
			want(t, d, "vendor", vendor)
			want(t, d, "account", tc.account)
			if _, ok := d["raw"].(map[string]any); !ok {
				t.Errorf("raw missing: %v", d["raw"])
			}
			tc.check(t, d)
			golden(t, tc.golden, ev.Data())
		})
	}
}

func want(t *testing.T, d map[string]any, key string, v any) {
	t.Helper()
	got, _ := json.Marshal(d[key])
	exp, _ := json.Marshal(v)
	if string(got) != string(exp) {
		t.Errorf("%s = %s, want %s", key, got, exp)
	}
}

func TestDuplicateDeliveryToOneInstanceIsWrittenOnce(t *testing.T) {
	env := newInbound(t, nil)
	body := readFixture(t, "byai/call_instance_result.json")
	for range 2 {
		if status, reply := env.post("byai-main", byaiToken, body); status != http.StatusOK || reply != "success" {
			t.Fatalf("status %d %q", status, reply)
		}
	}
	// Another instance (here, a second bridge on the same cluster) does not know
	// what the first wrote: its copy keeps the id, for consumers to deduplicate.
	other := start(t, env.kafka, env.vars())
	if status, _ := other.post("byai-main", byaiToken, body); status != http.StatusOK {
		t.Fatalf("status %d from the other instance", status)
	}
	evs := env.events(event.TopicCallFinished, 2)
	if len(evs) != 2 || evs[0].ID() != evs[1].ID() {
		t.Fatalf("want one record per instance with one id, got %d records", len(evs))
	}
}

func TestKafkaDownGives503AndTheRetrySucceedsWithNothingLost(t *testing.T) {
	env := newInbound(t, map[string]string{"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT": "1s"})
	body := readFixture(t, "yiwise/robot_call_record.json")
	inProcess(t, env.kafka).SetDown(true)
	start := time.Now()
	if status, _ := env.post("yiwise-east", yiwiseToken, body); status != http.StatusServiceUnavailable {
		t.Fatalf("status with Kafka down = %d, want 503", status)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("503 took %v, longer than the produce timeout allows", d)
	}
	if rec := httpGet(t, env.srv.URL+"/healthz"); rec != http.StatusOK {
		t.Errorf("healthz = %d while Kafka is down, want 200 (the process is alive)", rec)
	}
	inProcess(t, env.kafka).SetDown(false)
	if status, reply := env.post("yiwise-east", yiwiseToken, body); status != http.StatusOK || reply != "success" {
		t.Fatalf("retry after Kafka is back = %d %q", status, reply)
	}
	// At least once: the producer may still deliver the batch of the attempt that got
	// 503 once Kafka is back. Every copy carries the same id, so consumers deduplicate.
	evs := env.events(event.TopicCallFinished, 1)
	if len(evs) == 0 {
		t.Fatal("the retried webhook is not on call.finished")
	}
	for _, ev := range evs {
		if ev.ID() != evs[0].ID() {
			t.Errorf("copies with different ids: %s, %s", ev.ID(), evs[0].ID())
		}
	}
	var d map[string]any
	_ = json.Unmarshal(evs[0].Data(), &d)
	want(t, d, "callId", "119")
}

func TestRejectedRequestsWriteNothing(t *testing.T) {
	env := newInbound(t, map[string]string{
		"CALLBRIDGE_ACCOUNT_YIWISE_EAST_ALLOW_CIDRS": "10.0.0.0/8",
		"CALLBRIDGE_WEBHOOK_MAX_BYTES":               "4096",
	})
	body := readFixture(t, "byai/call_instance_result.json")
	cases := []struct {
		name, account, token string
		body                 []byte
		status               int
	}{
		{"bad token", "byai-main", "wrong", body, http.StatusUnauthorized},
		{"no token", "byai-main", "", body, http.StatusUnauthorized},
		{"other account's token", "byai-main", yiwiseToken, body, http.StatusUnauthorized},
		{"source outside allow-list", "yiwise-east", yiwiseToken, readFixture(t, "yiwise/robot_call_record.json"), http.StatusUnauthorized},
		{"unknown account", "nobody", byaiToken, body, http.StatusNotFound},
		{"oversized body", "byai-main", byaiToken, []byte(`{"pad":"` + strings.Repeat("x", 5000) + `"}`), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := env.post(tc.account, tc.token, tc.body); status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
		})
	}
	for _, topic := range []string{event.TopicCallFinished, event.TopicTaskStatus, event.TopicIntentChanged, event.TopicDLQ} {
		if msgs := kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(topic), 0, 0); len(msgs) != 0 {
			t.Errorf("%d records on %s after rejected requests", len(msgs), topic)
		}
	}
}

func TestGarbageLandsOnTheDeadLetterTopic(t *testing.T) {
	env := newInbound(t, nil)
	cases := []struct {
		name, account, token, body, reason string
	}{
		{"not json", "byai-main", byaiToken, `{"code":200,"data":`, "byai"},
		{"unknown byai dataType", "byai-main", byaiToken, `{"code":200,"data":{"dataType":"SMS_RESULT","data":{}}}`, "SMS_RESULT"},
		{"unknown yiwise dataType", "yiwise-east", yiwiseToken, `{"dataType":"ROBOT_SMS","data":{}}`, "ROBOT_SMS"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, reply := env.post(tc.account, tc.token, []byte(tc.body)); status != http.StatusOK || reply != "success" {
				t.Fatalf("POST = %d %q, want 200 success (the vendor must stop retrying)", status, reply)
			}
			msgs := kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(event.TopicDLQ), i+1, 10*time.Second)
			if len(msgs) != i+1 {
				t.Fatalf("%d dead letters, want %d", len(msgs), i+1)
			}
			m := msgs[len(msgs)-1]
			if string(m.Value) != tc.body {
				t.Errorf("dead letter body %q, want the raw body %q", m.Value, tc.body)
			}
			h := map[string]string{}
			for _, hd := range m.Headers {
				h[hd.Key] = string(hd.Value)
			}
			if h[publish.HeaderSource] != "webhook" || h[publish.HeaderAccount] != tc.account || !strings.Contains(strings.ToLower(h[publish.HeaderReason]), strings.ToLower(tc.reason)) {
				t.Errorf("dead letter headers %v, want source webhook, account %s, a reason naming %q", h, tc.account, tc.reason)
			}
			// An operator reading the logs at info sees it too, with the reason.
			quoted, _ := json.Marshal(h[publish.HeaderReason])
			if !slices.ContainsFunc(strings.Split(env.logs.String(), "\n"), func(l string) bool {
				return strings.Contains(l, `"level":"WARN"`) && strings.Contains(l, "dead-lettered") &&
					strings.Contains(l, `"account":"`+tc.account+`"`) && strings.Contains(l, `"reason":`+string(quoted))
			}) {
				t.Errorf("no warn line with the dead letter's reason %q in the logs:\n%s", h[publish.HeaderReason], env.logs.String())
			}
		})
	}
}

func TestPhonePrivacyMasksEveryOccurrence(t *testing.T) {
	env := newInbound(t, map[string]string{"CALLBRIDGE_PHONE_PRIVACY": "mask"})
	body := readFixture(t, "yiwise/robot_call_record.json")
	if status, _ := env.post("yiwise-east", yiwiseToken, body); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	evs := env.events(event.TopicCallFinished, 1)
	data := string(evs[0].Data())
	if strings.Contains(data, "17751279857") {
		t.Errorf("full phone number in event data: %s", data)
	}
	if !strings.Contains(data, "177******57") {
		t.Errorf("masked number missing: %s", data)
	}
	if logs := env.logs.String(); strings.Contains(logs, "17751279857") {
		t.Errorf("full phone number in logs")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	env := newInbound(t, nil)
	if got := httpGet(t, env.srv.URL+"/healthz"); got != http.StatusOK {
		t.Errorf("healthz = %d", got)
	}
	if got := httpGet(t, env.srv.URL+"/readyz"); got != http.StatusOK {
		t.Errorf("readyz = %d with Kafka up", got)
	}
	inProcess(t, env.kafka).Close()
	if got := httpGet(t, env.srv.URL+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d with Kafka gone, want 503", got)
	}
}

func httpGet(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBYAICallbackSignatureIsVerifiedWhenEnabled(t *testing.T) {
	env := newInbound(t, map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_VERIFY_CALLBACK_SIGN": "true"})
	signed := func(dateTime, sign string) []byte {
		var body map[string]any
		if err := json.Unmarshal(readFixture(t, "byai/job_info_result.json"), &body); err != nil {
			t.Fatal(err)
		}
		inner := body["data"].(map[string]any)["data"].(map[string]any)
		inner["dateTime"], inner["sign"] = dateTime, sign
		b, _ := json.Marshal(body)
		return b
	}
	const key, secret = "WtSMaXXXXXXXXtvy", "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q"
	now := time.Now().UTC()
	rfc := now.Format(byai.DateTimeLayout)
	java := now.Format("Mon Jan 02 15:04:05 GMT 2006")
	stale := now.Add(-20 * time.Minute).Format(byai.DateTimeLayout)
	cases := []struct {
		name   string
		body   []byte
		status int
	}{
		{"valid RFC 1123", signed(rfc, byai.Sign(key, secret, rfc)), http.StatusOK},
		{"valid Java date", signed(java, byai.Sign(key, secret, java)), http.StatusOK},
		{"wrong sign", signed(rfc, byai.Sign(key, "other-secret", rfc)), http.StatusUnauthorized},
		{"stale dateTime", signed(stale, byai.Sign(key, secret, stale)), http.StatusUnauthorized},
		{"unsigned call record", readFixture(t, "byai/call_instance_result.json"), http.StatusUnauthorized},
		{"task status, which BYAI documents unsigned", readFixture(t, "byai/job_info_result.json"), http.StatusOK},
		{"manual intent change, documented unsigned", readFixture(t, "byai/intent_level_changed.json"), http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := env.post("byai-main", byaiToken, tc.body); status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
		})
	}
	// The accepted bodies differ only in their volatile sign fields: one event id,
	// so the re-signed retries are answered from the first write.
	evs := env.events(event.TopicTaskStatus, 1)
	time.Sleep(200 * time.Millisecond)
	if evs = env.events(event.TopicTaskStatus, 1); len(evs) != 1 {
		t.Errorf("%d events; a re-signed retry must keep the event id and not be written again", len(evs))
	}
}

func TestRawCanBeSwitchedOff(t *testing.T) {
	for _, include := range []string{"true", "false"} {
		t.Run("include="+include, func(t *testing.T) {
			env := newInbound(t, map[string]string{"CALLBRIDGE_INCLUDE_RAW": include})
			if status, _ := env.post("byai-main", byaiToken, readFixture(t, "byai/call_instance_result.json")); status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			var d map[string]json.RawMessage
			if err := json.Unmarshal(env.events(event.TopicCallFinished, 1)[0].Data(), &d); err != nil {
				t.Fatal(err)
			}
			raw, has := d["raw"]
			if has != (include == "true") {
				t.Fatalf("raw present = %v with CALLBRIDGE_INCLUDE_RAW=%s", has, include)
			}
			if has {
				var inner map[string]any
				if err := json.Unmarshal(raw, &inner); err != nil || inner["sceneInstance"] == nil {
					t.Errorf("raw is not the vendor's object: %.80s", raw)
				}
			}
		})
	}
}

// Body and record buffers are recycled once their writes are acknowledged: webhooks
// of different sizes in flight together must each come out with their own raw.
func TestConcurrentWebhooksKeepTheirOwnBodies(t *testing.T) {
	env := newInbound(t, nil)
	const n, inFlight = 48, 8
	body := func(i int) []byte {
		return fmt.Appendf(nil, `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"sceneInstance":`+
			`{"callInstanceId":%d,"callJobId":7,"finishStatus":0,"note":%q}}}}`, i, strings.Repeat(string(rune('a'+i%26)), 97*i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/webhooks/byai-main", bytes.NewReader(body(i)))
				req.Header.Set("X-Callbridge-Token", byaiToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("webhook %d: status %d", i, resp.StatusCode)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range env.events(event.TopicCallFinished, n) {
		var d struct {
			CallID string `json:"callId"`
			Raw    struct {
				SceneInstance struct {
					CallInstanceID json.Number `json:"callInstanceId"`
					Note           string      `json:"note"`
				} `json:"sceneInstance"`
			} `json:"raw"`
		}
		if err := json.Unmarshal(ev.Data(), &d); err != nil {
			t.Fatal(err)
		}
		i, _ := strconv.Atoi(d.CallID)
		si := d.Raw.SceneInstance
		if string(si.CallInstanceID) != d.CallID || si.Note != strings.Repeat(string(rune('a'+i%26)), 97*i) {
			t.Errorf("event of call %s carries the raw of call %s (note of %d bytes)", d.CallID, si.CallInstanceID, len(si.Note))
		}
		seen[d.CallID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct calls, want %d", len(seen), n)
	}
}
