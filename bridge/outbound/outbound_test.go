package outbound

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
)

func TestNewRequiresBrokersLedgerAndPublisher(t *testing.T) {
	full := Config{Brokers: []string{"b:9092"}, Ledger: newFakeLedger(), Publisher: &fakePublisher{}}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"all there", func(*Config) {}, true},
		{"no brokers", func(c *Config) { c.Brokers = nil }, false},
		{"no ledger", func(c *Config) { c.Ledger = nil }, false},
		{"no publisher", func(c *Config) { c.Publisher = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full
			tt.edit(&cfg)
			o, err := New(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok %v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			c := o.cfg
			if c.Group != "callbridge" || c.CommandTimeout != 2*time.Minute || c.HeartbeatInterval != time.Second ||
				c.SessionTimeout != 10*time.Second || c.CommitInterval != 200*time.Millisecond || c.LedgerSweepInterval != time.Hour {
				t.Errorf("defaults %+v", c)
			}
		})
	}
}

func TestTopicsAreReadWithThePrefix(t *testing.T) {
	o, err := New(Config{Brokers: []string{"b:9092"}, Ledger: newFakeLedger(), Publisher: &fakePublisher{}, TopicPrefix: "acme."})
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range CommandTopics {
		if o.topicOf["acme."+topic] != topic {
			t.Errorf("acme.%s maps to %q", topic, o.topicOf["acme."+topic])
		}
	}
}

func TestAssignLedgerRetriesUntilTheLedgerIsCurrent(t *testing.T) {
	l := newFakeLedger()
	l.syncErrs = []error{errBroker, errBroker}
	o, err := New(Config{Brokers: []string{"b:9092"}, Ledger: l, Publisher: &fakePublisher{}})
	if err != nil {
		t.Fatal(err)
	}
	if !o.assignLedger(context.Background(), []int{0, 2}) || l.syncs != 3 {
		t.Errorf("synced after %d tries, want true after 3", l.syncs)
	}

	l.syncErrs = []error{errBroker, errBroker, errBroker, errBroker}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if o.assignLedger(ctx, []int{0}) {
		t.Error("assignLedger reported success while the ledger kept failing")
	}
}

func TestSweepForgetsSettledCommandsPastTheRetention(t *testing.T) {
	l := newFakeLedger()
	old := time.Now().Add(-time.Hour)
	l.seed(ledger.Entry{CommandID: "old-done", State: ledger.StateDone, UpdatedAt: old})
	l.seed(ledger.Entry{CommandID: "old-started", State: ledger.StateStarted, UpdatedAt: old})
	l.seed(ledger.Entry{CommandID: "new-done", State: ledger.StateDone, UpdatedAt: time.Now().Add(time.Hour)})
	o, err := New(Config{Brokers: []string{"b:9092"}, Ledger: l, Publisher: &fakePublisher{},
		LedgerRetention: time.Minute, LedgerSweepInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.sweepLedger(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		forgotten := slices.Clone(l.forgotten)
		l.mu.Unlock()
		if len(forgotten) > 0 {
			if !slices.Equal(forgotten, []string{"old-done"}) {
				t.Errorf("forgot %q, want only the old settled command", forgotten)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing was forgotten")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A ledger that refuses is tried again at the next sweep, not given up on.
	l.mu.Lock()
	l.forgetErr = errBroker
	l.mu.Unlock()
	l.seed(ledger.Entry{CommandID: "old-done-2", State: ledger.StateDone, UpdatedAt: old})
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("sweep did not stop with its context")
	}
	if _, ok := l.get("old-done-2"); !ok {
		t.Error("an entry was dropped although Forget failed")
	}
}

func TestConsumerLagReportsWhatWasLastSeen(t *testing.T) {
	o, err := New(Config{Brokers: []string{"b:9092"}, Ledger: newFakeLedger(), Publisher: &fakePublisher{}})
	if err != nil {
		t.Fatal(err)
	}
	o.lag[lagKey{event.TopicCallSingle, 1}] = 7
	got := o.consumerLag()
	if len(got) != 1 || got[0].Topic != event.TopicCallSingle || got[0].Partition != 1 || got[0].Lag != 7 {
		t.Errorf("lag %+v", got)
	}
}

func TestLedgerPartitionsAreTheAssignedPartitionNumbers(t *testing.T) {
	got := ledgerPartitions(map[string][]kafka.PartitionAssignment{"a": {{ID: 3}, {ID: 0}}, "b": {{ID: 0}, {ID: 5}}})
	if !slices.Equal(got, []int{0, 3, 5}) {
		t.Errorf("ledgerPartitions = %v, want [0 3 5]", got)
	}
}

func TestDescribeListsAssignedPartitions(t *testing.T) {
	got := describe(map[string][]kafka.PartitionAssignment{"t": {{ID: 0}, {ID: 3}}})
	if !slices.Equal(got["t"], []int{0, 3}) || len(got) != 1 {
		t.Errorf("describe = %v", got)
	}
}
