package inbound

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunnerRunsEveryJobAndLetsIdleGoroutinesGo(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newRunner(50 * time.Millisecond)
	var ran atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})
	// A burst of jobs that all block at once needs a goroutine each.
	for range 100 {
		wg.Add(1)
		r.do(func() { defer wg.Done(); <-release; ran.Add(1) })
	}
	if n := runtime.NumGoroutine() - before; n < 100 {
		t.Fatalf("%d goroutines for 100 blocked jobs", n)
	}
	close(release)
	wg.Wait()
	// Jobs one after another reuse an idle goroutine.
	for range 1000 {
		wg.Add(1)
		r.do(func() { defer wg.Done(); ran.Add(1) })
		wg.Wait()
	}
	if ran.Load() != 1100 {
		t.Fatalf("%d jobs ran, want 1100", ran.Load())
	}
	// Steady traffic after the burst keeps only the goroutines it needs busy: the
	// burst's others go idle and end.
	stop := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(stop) {
		wg.Add(1)
		r.do(func() { defer wg.Done() })
		wg.Wait()
		time.Sleep(time.Millisecond)
	}
	if n := r.goroutines(); n > 2 {
		t.Fatalf("%d goroutines kept idle under one-at-a-time traffic", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after the runner went idle", runtime.NumGoroutine()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunnerStopEndsItsGoroutinesAndStillRunsLaterWrites(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newRunner(time.Hour)
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 10 {
		wg.Add(1)
		r.do(func() { defer wg.Done(); <-release })
	}
	// All ten finish and go idle, then the runner stops.
	close(release)
	wg.Wait()
	r.stop()
	ran := make(chan struct{})
	r.do(func() { close(ran) })
	<-ran
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after stop", runtime.NumGoroutine()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
