package bridge_test

import (
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform/byai"
)

// keyed sends the record under key instead of the default.
func keyed(key string) func(*cloudevents.Event, *kafka.Message) {
	return func(_ *cloudevents.Event, m *kafka.Message) { m.Key = []byte(key) }
}

// partitionOf is where the test writer (murmur2, 3 partitions) puts key.
func partitionOf(key string) int {
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(key)}, 0, 1, 2)
}

func TestACommandIDResentUnderAnotherKey(t *testing.T) {
	env := newOutbound(t, nil)
	first := "order-1"
	same, other := "", ""
	for i := 0; same == "" || other == ""; i++ {
		k := fmt.Sprintf("order-%d", i+2)
		if partitionOf(k) == partitionOf(first) && same == "" {
			same = k
		} else if partitionOf(k) != partitionOf(first) && other == "" {
			other = k
		}
	}
	env.send(event.TopicCallSingle, "rekey-1", singleCall("13900000101"), keyed(first))
	env.result("rekey-1")
	// Another key of the same partition: the ledger knows the id, nothing runs again.
	env.send(event.TopicCallSingle, "rekey-1", singleCall("13900000101"), keyed(same))
	evs, _ := env.results("rekey-1", 2)
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 1 {
		t.Fatalf("%d vendor calls after a re-send under a key of the same partition, want 1", n)
	}
	if string(evs[0].Data()) != string(evs[1].Data()) || !evs[0].Time().Equal(evs[1].Time()) {
		t.Errorf("results differ: %s vs %s", evs[0].Data(), evs[1].Data())
	}
	// A key of another partition is another partition's command: as documented, the
	// ledger of that partition has never seen the id, and it runs.
	env.send(event.TopicCallSingle, "rekey-1", singleCall("13900000101"), keyed(other))
	env.results("rekey-1", 3)
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 2 {
		t.Fatalf("%d vendor calls after a re-send under a key of another partition, want 2 (README: keep a command's key)", n)
	}
}

func TestACommandResentAfterItsPartitionMovedToAnotherInstance(t *testing.T) {
	env := newOutbound(t, nil)
	env.send(event.TopicCallSingle, "moved-1", singleCall("13900000102"))
	env.result("moved-1")
	// The first instance goes; its partitions (and their ledger) move to a new one,
	// which has no local store of them and loads them from the changelog.
	env.stop()
	second := start(t, env.kafka, env.vars)
	env.run(second)
	env.testEnv = second
	env.send(event.TopicCallSingle, "moved-1", singleCall("13900000102"))
	evs, rs := env.results("moved-1", 2)
	if n := len(env.requests("byai", byai.EndpointSingleCall)); n != 1 {
		t.Fatalf("%d vendor calls, want 1", n)
	}
	if string(evs[0].Data()) != string(evs[1].Data()) || !evs[0].Time().Equal(evs[1].Time()) || rs[1].Outcome != command.Succeeded {
		t.Errorf("results differ: %s vs %s", evs[0].Data(), evs[1].Data())
	}
}

func TestARebalanceDuringASagaFinishesItOnce(t *testing.T) {
	slow := &delayTransport{d: 150 * time.Millisecond}
	vendorTransport = slow
	t.Cleanup(func() { vendorTransport = nil })
	env := newOutbound(t, nil)
	const n = 2500 // several import batches
	env.send(event.TopicTaskCreate, "saga-rb", byaiCreate("saga-rb", n, true))
	waitFor(t, "the task to be created", func() bool { return len(env.requests("byai", byai.EndpointCreateTask)) > 0 })
	// A second instance joins mid-saga: the partition may move, the saga in flight
	// is finished where it runs before it is given up, and never repeated.
	second := start(t, env.kafka, env.vars)
	env.run(second)
	_, r := env.result("saga-rb")
	if r.Outcome != command.Succeeded || r.Imported == nil || r.Imported.Accepted+r.Imported.Rejected != n {
		t.Fatalf("result %+v", r)
	}
	if c := len(env.requests("byai", byai.EndpointCreateTask)); c != 1 {
		t.Errorf("%d createTask calls, want 1", c)
	}
	if c := len(env.requests("byai", byai.EndpointStart)); c != 1 {
		t.Errorf("%d start calls, want 1", c)
	}
	imported := 0
	for _, rq := range env.requests("byai", byai.EndpointImportCustomer) {
		if cs, ok := rq.Body["customerInfoList"].([]any); ok {
			imported += len(cs)
		}
	}
	if imported != 0 && imported != n {
		t.Errorf("%d customers imported, want %d: a batch ran twice or never", imported, n)
	}
}

func TestATaskControlRecordWithABogusCETypeDoesNotPauseTheTask(t *testing.T) {
	env := newOutbound(t, nil)
	bogus := func(_ *cloudevents.Event, m *kafka.Message) {
		for i, h := range m.Headers {
			if h.Key == "ce_type" {
				m.Headers[i].Value = []byte("com.example.bogus.v9")
			}
		}
	}
	env.send(event.TopicTaskControl, "bogus-type", map[string]any{"account": "byai-main", "taskId": "1", "action": "pause"}, bogus)
	_, r := env.result("bogus-type")
	if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != command.ErrInvalidCommand {
		t.Fatalf("result %+v error %+v, want invalid_command", r, r.Error)
	}
	if n := len(env.requests("byai", byai.EndpointPause)); n != 0 {
		t.Errorf("%d pause requests reached the vendor", n)
	}
}
