package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/event"
)

// TestConsumerStart: a new consumer group starts at CALLBRIDGE_CONSUMER_START. With
// latest, a second group does not republish the results of commands produced before
// it existed, and executes the new ones; with earliest (the default) a new group
// reads the topics from the beginning.
func TestConsumerStart(t *testing.T) {
	e := newOutbound(t, nil)
	e.send(event.TopicCallSingle, "old-1", singleCall("13900000011"))
	e.result("old-1")
	e.stop()

	second := newGroup(e, "second", "latest")
	// The group has joined and sits at the end: a new command is executed...
	e.send(event.TopicCallSingle, "new-2", singleCall("13900000012"))
	e.result("new-2")
	second()
	// ...and the old one was not read again (its result would be republished).
	time.Sleep(300 * time.Millisecond)
	if _, rs := e.results("old-1", 1); len(rs) != 1 {
		t.Errorf("%d results of old-1 after a new group started at latest, want 1", len(rs))
	}

	third := newGroup(e, "third", "earliest")
	defer third()
	if _, rs := e.results("old-1", 2); len(rs) != 2 {
		t.Errorf("%d results of old-1 after a new group started at earliest, want 2 (read again, result republished)", len(rs))
	}
}

// newGroup runs another bridge on e's cluster in consumer group group, starting at from.
func newGroup(e *outEnv, group, from string) (stop func()) {
	vars := map[string]string{}
	for k, v := range e.vars {
		vars[k] = v
	}
	vars["CALLBRIDGE_CONSUMER_GROUP"] = e.cfg.ConsumerGroup + "-" + group
	vars["CALLBRIDGE_CONSUMER_START"] = from
	if p := e.cfg.TopicPrefix; p != "" {
		vars["CALLBRIDGE_TOPIC_PREFIX"] = p
	}
	te := start(e.t, e.kafka, vars)
	stop = e.run(te)
	// A group at latest reads from where the end is once its partitions are
	// assigned and opened: a record produced before then would be skipped.
	for end := time.Now().Add(20 * time.Second); !strings.Contains(te.logs.String(), "partitions assigned"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			e.t.Fatalf("group %s: no partitions assigned within 20s", group)
		}
	}
	time.Sleep(time.Second)
	return stop
}
