// Package kafkatest runs an in-process Kafka broker that speaks the real protocol
// (franz-go's kfake) for tests, with a switch that makes it refuse produce requests
// the way an unreachable cluster does, and helpers to read what landed on a topic.
package kafkatest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster is a running in-process broker.
type Cluster struct {
	*kfake.Cluster
	down atomic.Bool
}

// New starts a one-broker cluster that creates topics on demand and stops with t.
func New(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3)}, opts...)
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: start broker: %v", err)
	}
	c := &Cluster{Cluster: kc}
	// While down, every produce request fails by dropping the connection, as when
	// the cluster is unreachable; metadata still answers so clients keep trying.
	kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if c.down.Load() {
			return nil, errDown, true
		}
		return nil, nil, false
	})
	t.Cleanup(kc.Close)
	return c
}

type downError struct{}

func (downError) Error() string { return "kafkatest: cluster is down" }

var errDown = downError{}

// Addrs are the bootstrap addresses.
func (c *Cluster) Addrs() []string { return c.ListenAddrs() }

// SetDown makes produce requests fail (true) or succeed again (false).
func (c *Cluster) SetDown(down bool) { c.down.Store(down) }

// ReadAll returns every record on topic (all partitions) at the moment it is called,
// waiting up to wait for at least min records to be there.
func ReadAll(t testing.TB, addrs []string, topic string, min int, wait time.Duration) []kafka.Message {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		msgs := readOnce(t, addrs, topic)
		if len(msgs) >= min || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readOnce(t testing.TB, addrs []string, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", addrs[0])
	if err != nil {
		t.Fatalf("kafkatest: dial: %v", err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		return nil // not created yet
	}
	var out []kafka.Message
	for _, p := range parts {
		pc, err := kafka.DialLeader(ctx, "tcp", addrs[0], topic, p.ID)
		if err != nil {
			t.Fatalf("kafkatest: dial leader: %v", err)
		}
		first, last, err := pc.ReadOffsets()
		if err != nil {
			pc.Close()
			t.Fatalf("kafkatest: offsets: %v", err)
		}
		if last > first {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
			if err := r.SetOffset(first); err != nil {
				t.Fatalf("kafkatest: set offset: %v", err)
			}
			for off := first; off < last; off++ {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					t.Fatalf("kafkatest: read %s/%d@%d: %v", topic, p.ID, off, err)
				}
				out = append(out, m)
			}
			r.Close()
		}
		pc.Close()
	}
	return out
}
