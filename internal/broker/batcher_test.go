package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func openBatcher(t *testing.T, cfg Config) *Batcher {
	t.Helper()
	tr, err := cfg.Transport()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatcher(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		tr.CloseIdleConnections()
	})
	return b
}

// readAll reads n records of one partition from its start.
func readAll(t *testing.T, cfg Config, topic string, partition, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	out := make([]kafka.Message, 0, n)
	ctx := testCtx(t, 20*time.Second)
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s/%d after %d records: %v", topic, partition, len(out), err)
		}
		out = append(out, m)
	}
	return out
}

// Many callers at once: every record lands once, each caller's in its order.
func TestBatcherConcurrentCallersShareRequests(t *testing.T) {
	const callers, each = 64, 20
	cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(1, "b"))}
	b := openBatcher(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := fmt.Sprintf("%d/%d", c, i)
				if err := b.WriteMessages(testCtx(t, 10*time.Second), kafka.Message{Topic: "b", Key: []byte("k"), Value: []byte(v)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs := readAll(t, cfg, "b", 0, callers*each)
	next := make([]int, callers)
	for _, m := range msgs {
		var c, i int
		if _, err := fmt.Sscanf(string(m.Value), "%d/%d", &c, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[c] {
			t.Fatalf("caller %d: record %d after %d", c, i, next[c]-1)
		}
		next[c]++
	}
	for c, n := range next {
		if n != each {
			t.Fatalf("caller %d: %d records, want %d", c, n, each)
		}
	}
}

// A call of many records spread over partitions returns once all are stored, and
// big records are split over requests that stay under the batch bound.
func TestBatcherSplitsLargeBatches(t *testing.T) {
	cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(3, "big"))}
	b := openBatcher(t, cfg)
	b.maxBytes = 64 << 10 // a few records per request
	val := make([]byte, 20<<10)
	var msgs []kafka.Message
	for i := range 30 {
		msgs = append(msgs, kafka.Message{Topic: "big", Key: []byte(strconv.Itoa(i)), Value: val})
	}
	if err := b.WriteMessages(testCtx(t, 10*time.Second), msgs...); err != nil {
		t.Fatal(err)
	}
	total := 0
	for p := range 3 {
		conn, err := kafka.DialLeader(testCtx(t, 5*time.Second), "tcp", cfg.Brokers[0], "big", p)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += int(last)
	}
	if total != len(msgs) {
		t.Fatalf("%d records stored, want %d", total, len(msgs))
	}
}

// The failures callers must tell apart: an unknown topic is not retried, a closed
// batcher refuses at once, and a caller that gives up gets its context's error.
func TestBatcherErrors(t *testing.T) {
	cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(1, "e")), ProduceTimeout: time.Second}
	t.Run("unknown topic", func(t *testing.T) {
		b := openBatcher(t, cfg)
		err := b.WriteMessages(testCtx(t, 5*time.Second), kafka.Message{Topic: "nope", Value: []byte("x")})
		if !errors.Is(err, kafka.UnknownTopicOrPartition) {
			t.Fatalf("err = %v, want UnknownTopicOrPartition", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		b := openBatcher(t, cfg)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		err := b.WriteMessages(testCtx(t, 5*time.Second), kafka.Message{Topic: "e", Value: []byte("x")})
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		b := openBatcher(t, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := b.WriteMessages(ctx, kafka.Message{Topic: "e", Value: []byte("x")})
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want nil or context.Canceled", err)
		}
	})
}

// A produce the broker fails with a temporary error is retried with the same
// records: each attempt reads its records' keys and values afresh (a retry once
// sent them empty).
func TestProducersRetryWithTheSameRecords(t *testing.T) {
	for _, wr := range writers {
		t.Run(wr.name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "r"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			// The first produce fails as when a partition's leader moves.
			c.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
				pr := req.(*kmsg.ProduceRequest)
				resp := pr.ResponseKind().(*kmsg.ProduceResponse)
				for _, tp := range pr.Topics {
					rt := kmsg.NewProduceResponseTopic()
					rt.Topic = tp.Topic
					for _, pp := range tp.Partitions {
						rp := kmsg.NewProduceResponseTopicPartition()
						rp.Partition = pp.Partition
						rp.ErrorCode = kerr.NotLeaderForPartition.Code
						rt.Partitions = append(rt.Partitions, rp)
					}
					resp.Topics = append(resp.Topics, rt)
				}
				return resp, nil, true
			})
			cfg := Config{Brokers: c.ListenAddrs()}
			w := wr.open(t, cfg)
			if err := w.WriteMessages(testCtx(t, 20*time.Second), kafka.Message{Topic: "r", Key: []byte("key"), Value: []byte("value")}); err != nil {
				t.Fatal(err)
			}
			m := readAll(t, cfg, "r", 0, 1)[0]
			if string(m.Key) != "key" || string(m.Value) != "value" {
				t.Fatalf("stored key %q value %q, want key value", m.Key, m.Value)
			}
		})
	}
}
