package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

// BenchmarkCommands measures the outbound half end to end with the idempotency ledger
// on: commands produced to call.single, executed against the BYAI simulator, results
// read back from command.result. It reports commands/s and the per-command latency
// from the command's produce ack to its result being readable (p50, p99), which is
// what the bridge adds: consume, ledger checkpoints, the vendor call (a local
// simulator answering in microseconds) and the result's acks=all produce.
//
//	go test ./bridge -run '^$' -bench BenchmarkCommands -benchtime 2000x
func BenchmarkCommands(b *testing.B) {
	// throughput: 8 concurrent producers keep the bridge saturated; latency there is
	// mostly queueing. latency: one command at a time, measured from its produce ack.
	b.Run("throughput", func(b *testing.B) { benchCommands(b, 8) })
	b.Run("latency", func(b *testing.B) { benchCommands(b, 1) })
}

func benchCommands(b *testing.B, producers int) {
	env := newOutbound(b, map[string]string{"CALLBRIDGE_KAFKA_TOPIC_PARTITIONS": "6"})
	var mu sync.Mutex
	done := map[string]time.Time{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: env.kafka.Addrs(), GroupID: "bench-results", Topic: env.topic(event.TopicCommandResult),
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 10 * time.Millisecond, StartOffset: kafka.FirstOffset,
		ReadBackoffMin: time.Millisecond, ReadBackoffMax: 10 * time.Millisecond})
	defer r.Close()
	go func() {
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				return
			}
			at := time.Now()
			ev, err := cekafka.FromKafka(m)
			if err != nil {
				continue
			}
			var res command.Result
			_ = json.Unmarshal(ev.Data(), &res)
			mu.Lock()
			done[res.CommandID] = at
			mu.Unlock()
		}
	}()
	// Warm up: the consumer group has joined once the first result is back.
	env.send(event.TopicCallSingle, "warmup", singleCall("13600000000"))
	env.result("warmup")

	sent := make([]time.Time, b.N)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += producers {
				env.send(event.TopicCallSingle, fmt.Sprintf("bench-%d", i), singleCall(fmt.Sprintf("136%08d", i)))
				sent[i] = time.Now()
				if producers == 1 {
					waitResult(b, &mu, done, fmt.Sprintf("bench-%d", i))
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		n := len(done)
		mu.Unlock()
		if n >= b.N+1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d results after 5 minutes", n-1, b.N)
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	lat := make([]float64, b.N)
	mu.Lock()
	for i := range b.N {
		lat[i] = float64(done[fmt.Sprintf("bench-%d", i)].Sub(sent[i])) / float64(time.Millisecond)
	}
	mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commands/s")
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func waitResult(b *testing.B, mu *sync.Mutex, done map[string]time.Time, id string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		mu.Lock()
		_, ok := done[id]
		mu.Unlock()
		if ok {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Errorf("no result for %s", id)
}
