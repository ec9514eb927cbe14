package outbound

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

// scriptedFetcher hands out its answers in order, then waits for the fetch's context
// (an idle partition) and reports that it ran dry.
type scriptedFetcher struct {
	answers []fetchAnswer
	dry     chan struct{}
	once    sync.Once

	mu    sync.Mutex
	waits []bool // for each fetch that found nothing: whether it had a deadline
}

type fetchAnswer struct {
	msg kafka.Message
	err error
}

func (f *scriptedFetcher) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if len(f.answers) > 0 {
		a := f.answers[0]
		f.answers = f.answers[1:]
		return a.msg, a.err
	}
	f.once.Do(func() { close(f.dry) })
	_, timed := ctx.Deadline()
	f.mu.Lock()
	f.waits = append(f.waits, timed)
	f.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func at(m kafka.Message, offset, hwm int64) fetchAnswer {
	m.Offset, m.HighWaterMark = offset, hwm
	return fetchAnswer{msg: m}
}

func TestThePartitionLoopCommitsOnlySettledRecords(t *testing.T) {
	ok := func(t *testing.T, id string) kafka.Message {
		return record(t, event.TopicTaskControl, id, "k", taskControl("4", command.ActionPause))
	}
	tests := []struct {
		name    string
		answers func(t *testing.T) []fetchAnswer
		// breakLedger makes the record with this command id unsettleable.
		breakLedger string
		commits     []int64
		stopsAlone  bool // the loop returns by itself
	}{
		{
			name: "settled records are committed up to the last one",
			answers: func(t *testing.T) []fetchAnswer {
				return []fetchAnswer{at(ok(t, "a"), 0, 3), at(ok(t, "b"), 1, 3), at(ok(t, "c"), 2, 3)}
			},
			commits: []int64{3},
		},
		{
			name: "a dead-lettered record counts as settled",
			answers: func(t *testing.T) []fetchAnswer {
				return []fetchAnswer{at(kafka.Message{Value: []byte("not an event")}, 5, 6)}
			},
			commits: []int64{6},
		},
		{
			name: "a fetch error is waited out and the partition goes on",
			answers: func(t *testing.T) []fetchAnswer {
				return []fetchAnswer{{err: errBroker}, at(ok(t, "a"), 0, 1)}
			},
			commits: []int64{1},
		},
		{
			name: "a record that cannot be settled stops the partition before it",
			answers: func(t *testing.T) []fetchAnswer {
				return []fetchAnswer{at(ok(t, "a"), 0, 3), at(ok(t, "b"), 1, 3), at(ok(t, "c"), 2, 3)}
			},
			breakLedger: "b",
			commits:     []int64{1},
			stopsAlone:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{}
			o, l, _ := newOutbound(t, pub)
			o.cfg.CommitInterval = time.Hour // only the final commit
			if tt.breakLedger != "" {
				l.putErr, l.putOK = errBroker, 2 // "a" checkpoints and settles; "b" cannot
			}
			f := &scriptedFetcher{answers: tt.answers(t), dry: make(chan struct{})}
			var commits []int64
			ctx := context.Background()
			gctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				o.consume(ctx, gctx, f, event.TopicTaskControl, 0, func(next int64) error {
					commits = append(commits, next)
					return nil
				})
			}()
			if tt.stopsAlone {
				// It pauses before giving the partition up; the generation ending cuts that short.
				time.Sleep(50 * time.Millisecond)
			} else {
				select {
				case <-f.dry:
				case <-time.After(10 * time.Second):
					t.Fatal("the loop never read every record")
				}
			}
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the loop did not end with its generation")
			}
			if !slices.Equal(commits, tt.commits) {
				t.Errorf("commits %v, want %v", commits, tt.commits)
			}
			if tt.stopsAlone && len(f.answers) != 1 {
				t.Errorf("%d records left unread, want the loop stopped at the unsettled one", len(f.answers))
			}
		})
	}
}

func TestThePartitionLoopCommitsAsItGoesAndRetriesAFailedCommit(t *testing.T) {
	pub := &fakePublisher{}
	o, _, _ := newOutbound(t, pub)
	o.cfg.CommitInterval = 5 * time.Millisecond
	f := &scriptedFetcher{answers: []fetchAnswer{at(record(t, event.TopicTaskControl, "a", "k", taskControl("4", command.ActionStop)), 0, 10)},
		dry: make(chan struct{})}
	var mu sync.Mutex
	var commits []int64
	failures := 1
	gctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.consume(context.Background(), gctx, f, event.TopicTaskControl, 4, func(next int64) error {
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return errors.New("rebalance in progress")
			}
			commits = append(commits, next)
			return nil
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(commits)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no commit while the partition was idle")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !slices.Equal(commits, []int64{1}) {
		t.Errorf("commits %v, want offset 1 once", commits)
	}
	if lag := o.consumerLag(); len(lag) != 1 || lag[0].Partition != 4 || lag[0].Lag != 9 {
		t.Errorf("lag %+v, want 9 behind on partition 4", lag)
	}
}

// Most partitions are idle most of the time: once everything read is committed, an
// idle partition waits for its next record with no timer to wake the process.
func TestAnIdlePartitionWaitsWithoutATimerOnceCommitted(t *testing.T) {
	pub := &fakePublisher{}
	o, _, _ := newOutbound(t, pub)
	o.cfg.CommitInterval = 5 * time.Millisecond
	f := &scriptedFetcher{answers: []fetchAnswer{at(record(t, event.TopicTaskControl, "a", "k", taskControl("4", command.ActionStop)), 0, 1)},
		dry: make(chan struct{})}
	gctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	committed := make(chan int64, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.consume(context.Background(), gctx, f, event.TopicTaskControl, 0, func(next int64) error {
			committed <- next
			return nil
		})
	}()
	select {
	case <-committed:
	case <-time.After(10 * time.Second):
		t.Fatal("the settled record was never committed")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		waits := slices.Clone(f.waits)
		f.mu.Unlock()
		if len(waits) >= 2 {
			if !waits[0] || waits[len(waits)-1] {
				t.Fatalf("idle waits with a deadline: %v, want one while the offset was uncommitted, then none", waits)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle waits %v: the loop never waited again after its commit", waits)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}
