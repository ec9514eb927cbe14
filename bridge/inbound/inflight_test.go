package inbound

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAdmitRefusesPastTheBound(t *testing.T) {
	w := newWrites(2, time.Minute, 10)
	if !w.admit(time.Now) || !w.admit(time.Now) {
		t.Fatal("refused within the bound")
	}
	if w.admit(time.Now) {
		t.Fatal("admitted past the bound")
	}
	w.release()
	if !w.admit(time.Now) {
		t.Fatal("refused after a release")
	}
}

// Past a quarter of the bound, webhooks are admitted only while no write has waited
// longer than stallAfter: Kafka that stops acknowledging fills the bound in a
// fraction of a second otherwise.
func TestAdmitPastAQuarterOnlyWhileKafkaKeepsUp(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		waited time.Duration // by the one running write
		admits int           // of 8 (bound 8: a quarter is 2)
	}{
		{"acknowledging", 10 * time.Millisecond, 8},
		{"just within", stallAfter, 8},
		{"stalled", stallAfter + time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWrites(8, time.Minute, 10)
			w.claim([]string{"a"}, now.Add(-tc.waited))
			admitted := 0
			for range 10 {
				if w.admit(at(now)) {
					admitted++
				}
			}
			if admitted != tc.admits {
				t.Fatalf("admitted %d, want %d", admitted, tc.admits)
			}
		})
	}
	// Once the stalled write is done, admission opens again (after the 10 ms the
	// last look is kept).
	w := newWrites(8, time.Minute, 10)
	_, wr, _ := w.claim([]string{"a"}, now.Add(-time.Second))
	for range 3 {
		w.admit(at(now))
	}
	if w.admit(at(now)) {
		t.Fatal("admitted past a quarter while a write is stalled")
	}
	w.finish(wr, []string{"a"}, nil, outcomePublished, now)
	if w.admit(at(now.Add(5 * time.Millisecond))) {
		t.Fatal("the last look is kept for 10 ms")
	}
	if !w.admit(at(now.Add(20 * time.Millisecond))) {
		t.Fatal("refused once the stalled write finished")
	}
	// A failed write keeps it closed past a quarter until a write succeeds.
	w = newWrites(8, time.Minute, 10)
	_, wr, _ = w.claim([]string{"b"}, now)
	w.finish(wr, []string{"b"}, errors.New("kafka down"), outcomeUnavailable, now)
	for range 2 {
		w.admit(at(now))
	}
	if w.admit(at(now)) {
		t.Fatal("admitted past a quarter after a failed write")
	}
	_, wr, _ = w.claim([]string{"c"}, now)
	w.finish(wr, []string{"c"}, nil, outcomePublished, now.Add(time.Millisecond))
	if !w.admit(at(now.Add(20 * time.Millisecond))) {
		t.Fatal("refused once a write succeeded again")
	}
}

func TestARetryWaitsForTheFirstWriteThenIsAnsweredFromIt(t *testing.T) {
	w := newWrites(10, time.Minute, 10)
	now := time.Unix(1000, 0)
	fresh, first, others := w.claim([]string{"a", "b"}, now)
	if len(fresh) != 2 || first == nil || len(others) != 0 {
		t.Fatalf("first delivery: fresh %v write %v others %v", fresh, first, others)
	}
	// The retry while the first write is in flight waits for it and writes nothing.
	fresh, mine, others := w.claim([]string{"a", "b", "c"}, now)
	if len(fresh) != 1 || fresh[0] != 2 || mine == nil || len(others) != 1 || others[0] != first {
		t.Fatalf("retry in flight: fresh %v others %v", fresh, others)
	}
	w.finish(first, []string{"a", "b"}, nil, outcomePublished, now)
	w.finish(mine, []string{"c"}, nil, outcomePublished, now)
	// Once acknowledged, a retry needs nothing.
	if fresh, mine, others := w.claim([]string{"a", "b", "c"}, now.Add(time.Second)); len(fresh) != 0 || mine != nil || len(others) != 0 {
		t.Fatalf("retry after the ack: fresh %v write %v others %v", fresh, mine, others)
	}
	// Past the window it is written again.
	if fresh, _, _ := w.claim([]string{"a"}, now.Add(2*time.Minute)); len(fresh) != 1 {
		t.Fatalf("after the window: fresh %v", fresh)
	}
}

func TestAFailedWriteIsWrittenAgainOnRetry(t *testing.T) {
	w := newWrites(10, time.Minute, 10)
	now := time.Unix(1000, 0)
	_, first, _ := w.claim([]string{"a"}, now)
	w.finish(first, []string{"a"}, errors.New("kafka down"), outcomeUnavailable, now)
	if fresh, mine, _ := w.claim([]string{"a"}, now); len(fresh) != 1 || mine == nil {
		t.Fatal("a failed write's retry does not write")
	}
}

func TestRememberedIDsAreBounded(t *testing.T) {
	w := newWrites(10, time.Hour, 100)
	now := time.Unix(1000, 0)
	for i := range 5000 {
		_, wr, _ := w.claim([]string{fmt.Sprint(i)}, now)
		w.finish(wr, []string{fmt.Sprint(i)}, nil, outcomePublished, now)
	}
	if n := w.acked.len(); n != 100 || len(w.acked.ring) != 100 {
		t.Fatalf("%d ids remembered in a ring of %d, want 100", n, len(w.acked.ring))
	}
	if !w.acked.has("4999", now.UnixNano()) || !w.acked.has("4900", now.UnixNano()) {
		t.Error("one of the newest 100 ids was forgotten")
	}
	if w.acked.has("4899", now.UnixNano()) {
		t.Error("the 101st newest id is still remembered")
	}
}

func TestHealthFollowsProduces(t *testing.T) {
	w := newWrites(10, time.Minute, 10)
	now := time.Unix(1000, 0)
	if ok, _ := w.health(now, time.Second, 5*time.Second); !ok {
		t.Error("unhealthy before any produce")
	}
	_, wr, _ := w.claim([]string{"a"}, now)
	if ok, _ := w.health(now.Add(2*time.Second), time.Second, 5*time.Second); ok {
		t.Error("healthy with a produce stuck for 2s")
	}
	w.finish(wr, []string{"a"}, errors.New("down"), outcomeUnavailable, now.Add(2*time.Second))
	if ok, _ := w.health(now.Add(3*time.Second), time.Second, 5*time.Second); ok {
		t.Error("healthy right after a failed produce")
	}
	if ok, _ := w.health(now.Add(8*time.Second), time.Second, 5*time.Second); !ok {
		t.Error("a failure long ago, nothing since, still decides")
	}
}

// at is a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// The running writes are kept oldest first, whichever finishes: waitedOver looks at
// the oldest still running.
func TestWaitedOverFollowsTheOldestRunningWrite(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := newWrites(8, time.Minute, 10)
	var ws []*write
	for i, id := range []string{"a", "b", "c"} {
		_, wr, _ := w.claim([]string{id}, t0.Add(time.Duration(i)*time.Second))
		ws = append(ws, wr)
	}
	now := t0.Add(3 * time.Second)
	for _, step := range []struct {
		finish int
		// the longest wait still running, as waitedOver sees it
		waitedOver, notOver time.Duration
	}{
		{-1, 2999 * time.Millisecond, 3 * time.Second},
		{1, 2999 * time.Millisecond, 3 * time.Second}, // the middle one
		{0, 999 * time.Millisecond, time.Second},      // the oldest: c is left
		{2, -1, 0},                                    // none running
	} {
		if step.finish >= 0 {
			w.finish(ws[step.finish], []string{string(rune('a' + step.finish))}, nil, outcomePublished, now)
		}
		w.mu.Lock()
		over := step.waitedOver < 0 || w.waitedOver(now, step.waitedOver)
		notOver := !w.waitedOver(now, step.notOver)
		w.mu.Unlock()
		if step.waitedOver >= 0 && !over || !notOver {
			t.Fatalf("after finishing %d: waitedOver(%v) = %v, waitedOver(%v) = %v", step.finish, step.waitedOver, over, step.notOver, !notOver)
		}
	}
	if w.oldest != nil || w.newest != nil {
		t.Fatal("finished writes are still linked")
	}
}
