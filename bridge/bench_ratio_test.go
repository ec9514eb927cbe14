//go:build unix

package bridge_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/internal/telemetry/telemetrytest"
)

// benchRoundWebhooks is how many webhooks one side of a round posts: a few seconds'
// worth, long enough for the producer's batching to settle.
const benchRoundWebhooks = 15000

// BenchmarkWebhookRatio states the inbound goal's figure, bridge webhooks/s over
// baseline webhooks/s at saturation (32 in flight), so that a shared machine's
// drifting speed does not decide it: each iteration is one round that posts the same
// number of webhooks to a fresh bridge and then to a fresh baseline (as in
// BenchmarkWebhooks), and the result is the median of the rounds' ratios, with the
// lowest and highest beside it. Drift between rounds moves both sides of a round
// alike; within a round it hardly moves.
//
//	go test ./bridge -run '^$' -bench BenchmarkWebhookRatio -benchtime 7x
func BenchmarkWebhookRatio(b *testing.B) {
	tel, client := telemetrytest.Production(b), benchClient(b)
	for _, c := range []struct {
		name, account, token, fixture string
	}{
		{"byai", "byai-main", byaiToken, "byai/call_instance_result.json"},
		{"yiwise", "yiwise-east", yiwiseToken, "yiwise/robot_call_record.json"},
	} {
		body := readFixture(b, c.fixture)
		b.Run(c.name, func(b *testing.B) {
			rate := func(start func(testing.TB, *telemetry.Telemetry) string) float64 {
				// Each side's bridge or baseline and broker are gone before the next
				// starts, so no side pays for another's records in GC.
				s := &benchScope{TB: b}
				defer s.close()
				post := benchPoster(client, start(s, tel)+"/webhooks/"+c.account, c.token, body)
				r, err := benchRate(post, benchParallelism*runtime.GOMAXPROCS(0), benchRoundWebhooks)
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			ratios := make([]float64, 0, b.N)
			var bridgeRates, baseRates []float64
			for range b.N {
				br, base := rate(benchBridge), rate(benchBaseline)
				bridgeRates, baseRates = append(bridgeRates, br), append(baseRates, base)
				ratios = append(ratios, br/base)
			}
			b.ReportMetric(median(ratios), "ratio")
			b.ReportMetric(slices.Min(ratios), "min-ratio")
			b.ReportMetric(slices.Max(ratios), "max-ratio")
			b.ReportMetric(median(bridgeRates), "bridge-webhooks/s")
			b.ReportMetric(median(baseRates), "baseline-webhooks/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchScope runs the cleanups of what one side of a round started when the side is
// done, rather than when the benchmark is.
type benchScope struct {
	testing.TB
	fns []func()
}

func (s *benchScope) Cleanup(f func()) { s.fns = append(s.fns, f) }

func (s *benchScope) close() {
	for i := len(s.fns) - 1; i >= 0; i-- {
		s.fns[i]()
	}
}

// benchRate posts n webhooks with the given number in flight, after a warm-up, and
// returns webhooks/s.
func benchRate(post func() (time.Duration, error), workers, n int) (float64, error) {
	if err := benchWarmUp(post, workers); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	var (
		left     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	left.Store(int64(n))
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if _, err := post(); err != nil {
					errOnce.Do(func() { firstErr = err })
					left.Store(0)
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("webhook not accepted: %w", firstErr)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
