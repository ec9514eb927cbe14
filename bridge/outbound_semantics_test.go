package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
)

func singleCall(phone string) map[string]any {
	return map[string]any{"account": "byai-main", "phone": phone, "script": map[string]any{"robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34}}
}

func TestTheSameCommandTwiceCallsTheVendorOnceAndPublishesTwoIdenticalResults(t *testing.T) {
	env := newOutbound(t, nil)
	env.send(event.TopicCallSingle, "dup-1", singleCall("13900000001"))
	env.send(event.TopicCallSingle, "dup-1", singleCall("13900000001"))
	evs, rs := env.results("dup-1", 2)
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 1 {
		t.Errorf("%d vendor calls, want 1", n)
	}
	if evs[0].ID() != evs[1].ID() || string(evs[0].Data()) != string(evs[1].Data()) || !evs[0].Time().Equal(evs[1].Time()) {
		t.Errorf("results differ:\n%s %s %s\n%s %s %s", evs[0].ID(), evs[0].Time(), evs[0].Data(), evs[1].ID(), evs[1].Time(), evs[1].Data())
	}
	if rs[0].Outcome != command.Succeeded || rs[0].CallID == "" {
		t.Errorf("result %+v", rs[0])
	}
}

func TestVendor500TwiceThen200Succeeds(t *testing.T) {
	env := newOutbound(t, nil)
	env.byai.FailNext(byai.EndpointSingleCall, http.StatusInternalServerError, 2)
	env.send(event.TopicCallSingle, "retry-1", singleCall("13900000002"))
	_, r := env.result("retry-1")
	if r.Outcome != command.Succeeded || r.Attempts != 3 {
		t.Fatalf("result %+v error %+v, want succeeded after 3 attempts", r, r.Error)
	}
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 3 {
		t.Errorf("%d vendor requests, want 3", n)
	}
}

func TestRetriesRunOut(t *testing.T) {
	env := newOutbound(t, map[string]string{"CALLBRIDGE_RETRY_MAX_ATTEMPTS": "3"})
	env.byai.FailNext(byai.EndpointSingleCall, http.StatusServiceUnavailable, 10)
	env.send(event.TopicCallSingle, "exhaust-1", singleCall("13900000003"))
	_, r := env.result("exhaust-1")
	if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != command.ErrRetriesExhausted || !r.Error.Retryable || r.Attempts != 3 {
		t.Fatalf("result %+v error %+v", r, r.Error)
	}
}

func TestVendorRejectionsAreNotRetried(t *testing.T) {
	cases := []struct {
		code int
		want string
	}{
		{412, command.ErrVendorRejected},
		{404, command.ErrVendorRejected},
		{401, command.ErrAuthFailed},
		{403, command.ErrAuthFailed},
	}
	env := newOutbound(t, nil)
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			before := len(env.requests("byai", byai.EndpointSingleCall))
			env.byai.FailNext(byai.EndpointSingleCall, tc.code, 1)
			id := fmt.Sprintf("reject-%d", tc.code)
			env.send(event.TopicCallSingle, id, singleCall("13900000004"))
			_, r := env.result(id)
			if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != tc.want || r.Error.Retryable || r.Attempts != 1 {
				t.Fatalf("result %+v error %+v, want %s", r, r.Error, tc.want)
			}
			if r.Error.VendorCode == nil || *r.Error.VendorCode != tc.code {
				t.Errorf("vendorCode %v, want %d", r.Error.VendorCode, tc.code)
			}
			if n := len(env.requests("byai", byai.EndpointSingleCall)) - before; n != 1 {
				t.Errorf("%d vendor requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestInvalidCommandsFailWithoutReachingTheVendor(t *testing.T) {
	env := newOutbound(t, nil)
	cases := []struct {
		name, topic string
		data        any
		code, says  string
	}{
		{"missing phone", event.TopicCallSingle, map[string]any{"account": "byai-main", "script": map[string]any{"robotDefId": 1, "sceneDefId": 1, "sceneRecordId": 1}}, command.ErrInvalidCommand, "phone"},
		{"bad action", event.TopicTaskControl, map[string]any{"account": "byai-main", "taskId": "1", "action": "explode"}, command.ErrInvalidCommand, "action"},
		{"set_concurrency without concurrency", event.TopicTaskControl, map[string]any{"account": "byai-main", "taskId": "1", "action": "set_concurrency"}, command.ErrInvalidCommand, "concurrency"},
		{"non-numeric task id", event.TopicTaskControl, map[string]any{"account": "byai-main", "taskId": "abc", "action": "start"}, command.ErrInvalidCommand, "taskId"},
		{"unknown field", event.TopicCustomerImport, map[string]any{"account": "byai-main", "taskId": 1, "customers": customers(1), "colour": "red"}, command.ErrInvalidCommand, "colour"},
		{"not an object", event.TopicTaskCreate, []int{1, 2}, command.ErrInvalidCommand, ""},
		{"unknown account", event.TopicCallSingle, map[string]any{"account": "nobody", "phone": "13900000005", "script": map[string]any{"robotDefId": 1, "sceneDefId": 1, "sceneRecordId": 1}}, command.ErrUnknownAccount, "nobody"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("invalid-%d", i)
			env.send(tc.topic, id, tc.data)
			ev, r := env.result(id)
			if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != tc.code || !strings.Contains(r.Error.Message, tc.says) {
				t.Fatalf("result %+v error %+v, want %s mentioning %q", r, r.Error, tc.code, tc.says)
			}
			if ev.Type() != event.TypeCommandFailed {
				t.Errorf("type %s", ev.Type())
			}
		})
	}
	if reqs := env.requests("byai", ""); len(reqs) != 0 {
		t.Errorf("%d vendor requests for invalid commands, want none", len(reqs))
	}
}

func TestARecordThatIsNotACloudEventGoesToTheDeadLetterTopic(t *testing.T) {
	env := newOutbound(t, nil)
	garbage := kafka.Message{Topic: env.topic(event.TopicTaskControl), Key: []byte("k"), Value: []byte(`{"account":"byai-main"}`), Headers: []kafka.Header{{Key: "origin", Value: []byte("legacy")}}}
	if err := env.writer.WriteMessages(context.Background(), garbage); err != nil {
		t.Fatal(err)
	}
	msgs := kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(event.TopicDLQ), 1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d dead letters, want 1", len(msgs))
	}
	m := msgs[0]
	h := map[string]string{}
	for _, hd := range m.Headers {
		h[hd.Key] = string(hd.Value)
	}
	if string(m.Value) != string(garbage.Value) || string(m.Key) != "k" || h["origin"] != "legacy" ||
		h[publish.HeaderSource] != "command" || h[publish.HeaderTopic] != env.topic(event.TopicTaskControl) || !strings.Contains(h[publish.HeaderReason], "CloudEvent") {
		t.Errorf("dead letter %q headers %v", m.Value, h)
	}
	// The partition goes on: a valid command behind it is executed.
	env.send(event.TopicTaskControl, "after-garbage", map[string]any{"account": "byai-main", "taskId": "999", "action": "start"})
	if _, r := env.result("after-garbage"); r.Error == nil || r.Error.Code != command.ErrVendorRejected {
		t.Errorf("command after the dead letter: %+v", r.Error)
	}
}

func TestStructuredModeCommandsAreAccepted(t *testing.T) {
	env := newOutbound(t, nil)
	structured := func(ev *cloudevents.Event, m *kafka.Message) {
		msg, err := cekafka.ToKafka(binding.WithForceStructured(context.Background()), *ev, m.Topic)
		if err != nil {
			t.Fatal(err)
		}
		*m = msg
	}
	env.send(event.TopicCallSingle, "structured-1", singleCall("13900000006"), structured)
	if _, r := env.result("structured-1"); r.Outcome != command.Succeeded {
		t.Fatalf("result %+v", r.Error)
	}
}

// blockingTransport holds requests to one path until their context ends, standing in
// for a process that dies while its vendor call is under way.
type blockingTransport struct {
	path    string
	blocked atomic.Int32
}

func (b *blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, b.path) {
		b.blocked.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestARestartBetweenCreateAndStartResumesAtStart(t *testing.T) {
	block := &blockingTransport{path: "/task/start"}
	vendorTransport = block
	t.Cleanup(func() { vendorTransport = nil })
	env := newOutbound(t, map[string]string{"CALLBRIDGE_COMMAND_TIMEOUT": "300ms"})
	env.send(event.TopicTaskCreate, "saga-1", byaiCreate("restart-me", 3, true))
	waitFor(t, "the start call to be under way", func() bool { return block.blocked.Load() > 0 })
	env.stop()
	vendorTransport = nil

	second := start(t, env.kafka, env.vars)
	env.run(second)
	env.testEnv = second
	_, r := env.result("saga-1")
	if r.Outcome != command.Succeeded {
		t.Fatalf("result after restart %+v", r.Error)
	}
	if n := len(env.requests("byai", byai.EndpointCreateTask)); n != 1 {
		t.Errorf("%d createTask requests, want 1", n)
	}
	if n := len(env.requests("byai", byai.EndpointImportCustomer)); n != 1 {
		t.Errorf("%d import requests, want 1", n)
	}
	starts := env.requests("byai", byai.EndpointStart)
	if len(starts) != 1 || asNum(t, starts[0].Body, "taskId") != r.TaskID {
		t.Errorf("start requests %v, want one for task %s", starts, r.TaskID)
	}
}

func TestALostCreateReplyNeverCreatesTheTaskTwice(t *testing.T) {
	env := newOutbound(t, nil)
	// The vendor creates the task but the reply is lost (HTTP 502 after the work).
	env.byai.InjectFault(byai.EndpointCreateTask, byaisim.Fault{HTTPStatus: http.StatusBadGateway, Apply: true}, 1)
	env.send(event.TopicTaskCreate, "lost-reply", byaiCreate("lost-reply-task", 1, false))
	_, r := env.result("lost-reply")
	if r.Outcome != command.Succeeded || r.TaskID == "" {
		t.Fatalf("result %+v", r.Error)
	}
	if n := len(env.requests("byai", byai.EndpointCreateTask)); n != 1 {
		t.Errorf("%d createTask requests, want 1 (the retry must find the task instead)", n)
	}
	if n := len(env.requests("byai", byai.EndpointTasks)); n == 0 {
		t.Error("the bridge did not ask the vendor for the task")
	}
}

func TestAnInterruptedSingleCallEndsAsOutcomeUnknown(t *testing.T) {
	block := &blockingTransport{path: "/task/singleCallByMobile"}
	vendorTransport = block
	t.Cleanup(func() { vendorTransport = nil })
	env := newOutbound(t, map[string]string{"CALLBRIDGE_COMMAND_TIMEOUT": "300ms"})
	env.send(event.TopicCallSingle, "unknown-1", singleCall("13900000007"))
	waitFor(t, "the call to be under way", func() bool { return block.blocked.Load() > 0 })
	env.stop()
	vendorTransport = nil

	second := start(t, env.kafka, env.vars)
	env.run(second)
	env.testEnv = second
	_, r := env.result("unknown-1")
	if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != command.ErrOutcomeUnknown {
		t.Fatalf("result %+v error %+v, want outcome_unknown", r, r.Error)
	}
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 0 {
		t.Errorf("%d calls reached the vendor; the interrupted one must not be repeated", n)
	}
}

func TestTwoInstancesWithARebalanceExecuteNoCommandTwice(t *testing.T) {
	slow := &delayTransport{d: 60 * time.Millisecond}
	vendorTransport = slow
	t.Cleanup(func() { vendorTransport = nil })
	env := newOutbound(t, nil)
	const n = 60
	for i := range n {
		env.send(event.TopicCallSingle, fmt.Sprintf("rb-%d", i), singleCall(fmt.Sprintf("139%08d", i)))
	}
	// A second instance joins the group while the first is working through the batch.
	waitFor(t, "the first results", func() bool { return len(env.events(event.TopicCommandResult, 0)) >= 3 })
	second := start(t, env.kafka, env.vars)
	env.run(second)
	seen := map[string]int{}
	waitFor(t, "every command to have a result", func() bool {
		seen = map[string]int{}
		for _, ev := range env.events(event.TopicCommandResult, 0) {
			var r command.Result
			_ = json.Unmarshal(ev.Data(), &r)
			seen[r.CommandID]++
		}
		return len(seen) == n
	})
	// Both instances must have executed commands, or there was no rebalance mid-batch.
	owners := map[string]int{}
	for _, m := range kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(event.TopicLedger), 1, time.Second) {
		var e struct{ State, Owner string }
		if json.Unmarshal(m.Value, &e) == nil && e.State == "done" {
			owners[e.Owner]++
		}
	}
	if len(owners) != 2 {
		t.Errorf("commands executed by %v, want both instances", owners)
	}
	calls := map[string]int{}
	for _, rq := range env.requests("byai", byai.EndpointSingleCall) {
		calls[fmt.Sprint(rq.Body["mobile"])]++
	}
	for i := range n {
		if c := calls[fmt.Sprintf("139%08d", i)]; c != 1 {
			t.Errorf("command rb-%d reached the vendor %d times", i, c)
		}
	}
}

type delayTransport struct{ d time.Duration }

func (d *delayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(d.d):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTheAccountRateLimitSpacesVendorCalls(t *testing.T) {
	env := newOutbound(t, map[string]string{"CALLBRIDGE_ACCOUNT_BYAI_MAIN_RATE_LIMIT": "5"})
	const n = 8
	for i := range n {
		env.send(event.TopicCallSingle, fmt.Sprintf("rate-%d", i), singleCall(fmt.Sprintf("137%08d", i)))
	}
	waitFor(t, "all results", func() bool { return len(env.events(event.TopicCommandResult, 0)) == n })
	calls := env.byai.Requests()
	if len(calls) != n {
		t.Fatalf("%d calls, want %d", len(calls), n)
	}
	// 5/s with a burst of 5: the last 3 calls wait for tokens, so the spread is at
	// least 3/5 s (a lower bound: the limiter can never make it shorter).
	first, last := calls[0].At, calls[len(calls)-1].At
	if spread := last.Sub(first); spread < 550*time.Millisecond {
		t.Errorf("%d calls within %v, faster than 5 per second allows", n, spread)
	}
}

func TestSettledCommandsAreForgottenAfterTheRetention(t *testing.T) {
	env := newOutbound(t, map[string]string{"CALLBRIDGE_LEDGER_RETENTION": "1ms", "CALLBRIDGE_LEDGER_SWEEP_INTERVAL": "100ms"})
	env.send(event.TopicCallSingle, "retained-1", singleCall("13900000010"))
	env.result("retained-1")
	waitFor(t, "a tombstone for the settled command", func() bool {
		for _, m := range kafkatest.ReadAll(t, env.kafka.Addrs(), env.topic(event.TopicLedger), 0, 0) {
			if string(m.Key) == "retained-1" && m.Value == nil {
				return true
			}
		}
		return false
	})
}
