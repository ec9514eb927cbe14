package bridge_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/publish"
)

// The bad inputs of issue 11: each is ambiguous, goes to the dead-letter topic with
// the reason, and makes no event.
func TestAmbiguousBodiesAreDeadLetteredWithTheReason(t *testing.T) {
	env := newInbound(t, nil)
	call := readFixture(t, "byai/call_instance_result.json")
	replace := func(old, new string) []byte {
		if !bytes.Contains(call, []byte(old)) {
			t.Fatalf("fixture lacks %s", old)
		}
		return bytes.Replace(call, []byte(old), []byte(new), 1)
	}
	trimmed := bytes.TrimRight(call, " \n")
	twoData := append(append([]byte(nil), trimmed[:len(trimmed)-1]...), `,"data":{"dataType":"JOB_INFO_RESULT","data":{"callJobId":1,"status":2}}}`...)
	cases := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"customerName with invalid UTF-8", replace(`"customerName": "2989"`, "\"customerName\": \"ab\xff\xfe\xc3(cd\""), "invalid UTF-8"},
		{"two top-level data members", twoData, `member name "data" repeated`},
		{"a repeated name deep inside", replace(`"duration": 35`, `"duration": 35, "duration": 36`), `member name "duration" repeated`},
		{"duration of 1e400", replace(`"duration": 35`, `"duration": 1e400`), "out of range"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status, reply := env.post("byai-main", byaiToken, tc.body); status != http.StatusOK || reply != "success" {
				t.Fatalf("POST = %d %q, want 200 success", status, reply)
			}
			msgs := kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(event.TopicDLQ), i+1, 10*time.Second)
			if len(msgs) != i+1 {
				t.Fatalf("%d dead letters, want %d", len(msgs), i+1)
			}
			m := msgs[len(msgs)-1]
			var reason string
			for _, h := range m.Headers {
				if h.Key == publish.HeaderReason {
					reason = string(h.Value)
				}
			}
			if !strings.Contains(reason, tc.reason) || !bytes.Equal(m.Value, tc.body) {
				t.Errorf("dead letter reason %q (want %q), body kept: %v", reason, tc.reason, bytes.Equal(m.Value, tc.body))
			}
		})
	}
	for _, topic := range []string{event.TopicCallFinished, event.TopicTaskStatus} {
		if msgs := kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(topic), 0, 0); len(msgs) != 0 {
			t.Errorf("%d records on %s from ambiguous bodies", len(msgs), topic)
		}
	}
}

// Under mask, a number said in the transcript and one in a recording file name are
// masked like the phone fields, raw included; the event stays valid UTF-8 JSON.
func TestMaskReachesFreeText(t *testing.T) {
	env := newInbound(t, map[string]string{"CALLBRIDGE_PHONE_PRIVACY": "mask"})
	body := readFixture(t, "byai/call_instance_result.json")
	body = bytes.Replace(body, []byte("喂，您好，这里是用户测试电话"), []byte("我的手机号是13811112222"), 1)
	body = bytes.Replace(body, []byte("RobotPhoneCommunicate/11/xxx.wav"), []byte("RobotPhoneCommunicate/11/0571-8888-6666_20190112.wav"), 1)
	if status, _ := env.post("byai-main", byaiToken, body); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	evs := env.events(event.TopicCallFinished, 1)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	data := evs[0].Data()
	if !utf8.Valid(data) || !json.Valid(data) {
		t.Fatalf("event data is not valid UTF-8 JSON")
	}
	for _, whole := range []string{"13811112222", "0571-8888-6666", "05718888666", "13733105333"} {
		if bytes.Contains(data, []byte(whole)) {
			t.Errorf("event data still holds %s", whole)
		}
	}
	for _, masked := range []string{"我的手机号是138******22", "057*******66_20190112.wav", "137******33"} {
		if !bytes.Contains(data, []byte(masked)) {
			t.Errorf("event data lacks %s", masked)
		}
	}
}
