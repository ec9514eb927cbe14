//go:build unix

// The benchmark reads the process CPU time with getrusage, hence unix only.

package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/internal/telemetry/telemetrytest"
)

// benchParallelism multiplies GOMAXPROCS into the number of webhooks in flight
// (RunParallel starts benchParallelism*GOMAXPROCS goroutines): vendors deliver
// concurrently, and the producer only batches under concurrency.
const benchParallelism = 16

// BenchmarkWebhooks measures the full inbound path (HTTP → verify → normalize →
// CloudEvent → produce with acks=all → "success") against the in-process broker,
// next to a baseline measured in the same run against the same broker: a bare
// net/http handler that produces the raw body with a writer from broker.NewWriter
// (same acks, same batch timeout) and replies "success". Both use the same HTTP
// client and the same concurrency. The figure to compare is webhooks/s of
// bridge over baseline (goal: at least 0.8); the -yiwise pair does the same
// with a Yiwise body.
//
//	go test ./bridge -run '^$' -bench BenchmarkWebhooks -benchtime 5s -count 3
//
// Metrics: webhooks/s, p50-ms and p99-ms of one webhook as the vendor sees it,
// and cpu-us/op, the CPU time of the whole process (client, server, broker) per
// webhook, which unlike webhooks/s does not depend on how much of a shared
// machine the run got. B/op and allocs/op also count the client and the broker.
// -count repeats each sub-benchmark in a row, not interleaved: on a busy machine
// compare runs taken close together.
func BenchmarkWebhooks(b *testing.B) {
	tel, client := telemetrytest.Production(b), benchClient(b)

	byaiBody := readFixture(b, "byai/call_instance_result.json")
	yiwiseBody := readFixture(b, "yiwise/robot_call_record.json")
	// Each run gets a fresh in-process broker of the same configuration: the broker
	// keeps every record in memory, so on a shared one whichever side ran later would
	// pay for the other's records in GC.
	cases := []struct {
		name    string
		start   func(testing.TB, *telemetry.Telemetry) string
		account string
		token   string
		body    []byte
	}{
		{"bridge", benchBridge, "byai-main", byaiToken, byaiBody},
		{"baseline", benchBaseline, "byai-main", byaiToken, byaiBody},
		{"bridge-yiwise", benchBridge, "yiwise-east", yiwiseToken, yiwiseBody},
		{"baseline-yiwise", benchBaseline, "yiwise-east", yiwiseToken, yiwiseBody},
	}
	// Saturated (the figure to compare) and a lighter load where both sides wait on
	// Kafka acks rather than on the CPU.
	for _, par := range []int{benchParallelism, 2} {
		for _, c := range cases {
			name := c.name
			if par != benchParallelism {
				name = fmt.Sprintf("%s/%d-in-flight", c.name, par*runtime.GOMAXPROCS(0))
			}
			// Every call (the framework makes several to size b.N) starts its own
			// target; cleanups stop it when the call returns.
			b.Run(name, func(b *testing.B) {
				url := c.start(b, tel) + "/webhooks/" + c.account
				benchPost(b, client, url, c.token, c.body, par)
			})
		}
	}
}

// benchClient is the vendor's side: one client whose connections serve every
// webhook in flight.
func benchClient(b *testing.B) *http.Client {
	conns := benchParallelism * 4 * runtime.GOMAXPROCS(0)
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
	}}
	b.Cleanup(client.CloseIdleConnections)
	return client
}

// benchConfig is the configuration both sides use, against a fresh broker.
//
// The broker trims its log to a few MiB a partition, as a real broker's retention
// would: it shares the process, and a log of every record produced would grow the
// heap the garbage collector marks throughout the run, charging whichever side writes
// bigger records (the bridge: raw plus the normalized event) for memory that in a
// deployment lives in another process, not for its own work.
func benchConfig(b testing.TB) *config.Config {
	k := kafkatest.New(b, kfake.BrokerConfigs(map[string]string{
		"log.segment.bytes":   strconv.Itoa(1 << 20),
		"log.retention.bytes": strconv.Itoa(4 << 20),
	}))
	// The in-process broker applies retention when asked.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				k.ApplyRetention()
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-done })
	vars := baseVars(k.Addrs(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	vars["CALLBRIDGE_OUTBOUND_ENABLED"] = "false"
	cfg, err := config.LoadFrom(vars)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchBridge serves the bridge as `callbridge serve` runs by default
// (CALLBRIDGE_VALIDATE_EVENTS off: the tests validate every event the parsers make).
func benchBridge(b testing.TB, tel *telemetry.Telemetry) string {
	cfg := benchConfig(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	br, err := bridge.New(ctx, cfg, bridge.Options{Telemetry: tel})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	srv := httptest.NewServer(br.Handler())
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchBaseline serves the bare handler: same broker config, a topic with the same
// partitions, a writer from broker.NewWriter (same acks, same batch timeout).
func benchBaseline(b testing.TB, _ *telemetry.Telemetry) string {
	cfg := benchConfig(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kcfg := bridge.BrokerConfig(cfg)
	topic := cfg.TopicPrefix + "bench.baseline"
	if err := broker.EnsureTopics(ctx, kcfg, []broker.TopicSpec{{Name: topic, Partitions: cfg.Kafka.Partitions,
		ReplicationFactor: cfg.Kafka.ReplicationFactor}}); err != nil {
		b.Fatal(err)
	}
	w, err := broker.NewWriter(kcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = broker.CloseWriter(w) })
	srv := httptest.NewServer(benchBaselineHandler(w, topic, cfg.Kafka.ProduceTimeout))
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchBaselineHandler reads the body and produces it raw, keyed by the account
// (one key, like the one partition key of the repeated sample in the bridge case),
// replying "success" after the ack.
func benchBaselineHandler(w *kafka.Writer, topic string, timeout time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{account}", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "could not read body", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte(r.PathValue("account")), Value: body}); err != nil {
			http.Error(rw, "kafka unavailable", http.StatusServiceUnavailable)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(rw, "success")
	})
	return mux
}

// benchPost posts body to url b.N times from benchParallelism*GOMAXPROCS
// goroutines and reports webhooks/s and the p50/p99 latency of one webhook.
// benchPoster returns a function that posts body once and returns its latency, or an
// error unless the reply is 200 "success".
//
// Each post carries another call id (the fixtures' callInstanceId or callRecordId):
// the bridge answers a repeated delivery from what it acknowledged without writing it,
// which would flatter it against a baseline that writes every post.
func benchPoster(client *http.Client, url, token string, body []byte) func() (time.Duration, error) {
	var pre, post []byte
	for _, marker := range []string{`"callInstanceId": `, `"callRecordId": `} {
		if i := bytes.Index(body, []byte(marker)); i >= 0 {
			j := i + len(marker)
			for j < len(body) && body[j] >= '0' && body[j] <= '9' {
				j++
			}
			pre, post = body[:i+len(marker)], body[j:]
			break
		}
	}
	var n atomic.Int64
	n.Store(time.Now().UnixNano() / 1000)
	return func() (time.Duration, error) {
		b := body
		if pre != nil {
			b = append(strconv.AppendInt(append(make([]byte, 0, len(body)+20), pre...), n.Add(1), 10), post...)
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Callbridge-Token", token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK || string(got) != "success" {
			return 0, fmt.Errorf("status %d, body %q", resp.StatusCode, got)
		}
		return d, nil
	}
}

// benchWarmUp opens the connections and lets the writer learn the metadata.
func benchWarmUp(post func() (time.Duration, error), workers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				if _, err := post(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func benchPost(b *testing.B, client *http.Client, url, token string, body []byte, parallelism int) {
	post := benchPoster(client, url, token, body)
	workers := parallelism * runtime.GOMAXPROCS(0)
	if err := benchWarmUp(post, workers); err != nil {
		b.Fatalf("warm-up: %v", err)
	}

	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failed    atomic.Bool
		firstErr  error
		errOnce   sync.Once
	)
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, b.N/workers+1)
		for pb.Next() {
			if failed.Load() {
				continue // drain the iterations; the benchmark fails below
			}
			d, err := post()
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				failed.Store(true)
				continue
			}
			local = append(local, d)
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if firstErr != nil {
		b.Fatalf("webhook not accepted: %v", firstErr)
	}
	if len(latencies) != b.N {
		b.Fatalf("%d latencies for %d webhooks", len(latencies), b.N)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
	b.ReportMetric(benchPercentile(latencies, 0.50).Seconds()*1e3, "p50-ms")
	b.ReportMetric(benchPercentile(latencies, 0.99).Seconds()*1e3, "p99-ms")
	// CPU of the whole process (client, server and broker) per webhook: on a shared
	// machine the CPU share, and so webhooks/s, varies from run to run; this does not.
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-us/op")
}

// benchPercentile returns the q-quantile of sorted (nearest rank).
func benchPercentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
