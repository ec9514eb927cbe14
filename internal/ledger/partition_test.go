package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	bolt "go.etcd.io/bbolt"
)

func openIn(t testing.TB, brokers []string, dir, instance string) *Ledger {
	t.Helper()
	l, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic, Partitions: 2, Dir: dir, InstanceID: instance})
	if err != nil {
		t.Fatalf("Open(%s): %v", instance, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// fill writes n settled entries to partition p straight to the changelog, as other
// instances would have.
func fill(t testing.TB, brokers []string, p, from, n int) {
	t.Helper()
	l, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	for i := from; i < from+n; i += 500 {
		var recs []kafka.Record
		for j := i; j < min(i+500, from+n); j++ {
			e := doneEntry(fmt.Sprintf("cmd-%d", j), 1)
			e.UpdatedAt = time.Now().UTC()
			b, _ := json.Marshal(e)
			recs = append(recs, kafka.Record{Key: kafka.NewBytes([]byte(e.CommandID)), Value: kafka.NewBytes(b)})
		}
		res, err := c.Produce(testCtx(t), &kafka.ProduceRequest{Topic: testTopic, Partition: p, RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(recs...)})
		if err != nil || res.Error != nil {
			t.Fatalf("produce: %v %v", err, res)
		}
	}
}

func statusOf(l *Ledger, p int) PartitionStatus {
	for _, s := range l.Status() {
		if s.Partition == p {
			return s
		}
	}
	return PartitionStatus{Partition: -1}
}

func TestEntriesLiveInTheCommandsPartitionAndOnlyItsOwnerHasThem(t *testing.T) {
	brokers := newCluster(t)
	a := openIn(t, brokers, t.TempDir(), "a")
	if err := a.Assign(testCtx(t), []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	e := doneEntry("x", 1)
	e.Partition = 1
	if _, err := a.Put(testCtx(t), e); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := a.Get(1, "x"); err != nil || !ok || got.Partition != 1 || got.Attempts != 1 {
		t.Fatalf("Get(1, x) = %+v %v %v", got, ok, err)
	}
	// The same id read from another partition is another key's command: not here.
	if _, ok, err := a.Get(0, "x"); err != nil || ok {
		t.Fatalf("Get(0, x) = %v %v, want not found", ok, err)
	}
	b := openIn(t, brokers, t.TempDir(), "b")
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get(1, "x"); !errors.Is(err, ErrNotAssigned) {
		t.Fatalf("Get on an unassigned partition = %v, want ErrNotAssigned", err)
	}
	if b.Len() != 0 {
		t.Fatalf("b holds %d entries of partitions it does not own", b.Len())
	}
	// Partition 1 moves to b: it loads a's write.
	if err := b.Assign(testCtx(t), []int{1}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.Get(1, "x"); err != nil || !ok || got.Owner != "a" {
		t.Fatalf("after the move Get(1, x) = %+v %v %v", got, ok, err)
	}
}

func TestARestartReplaysOnlyTheTail(t *testing.T) {
	brokers := newCluster(t)
	dir := t.TempDir()
	fill(t, brokers, 0, 0, 2000)
	a := openIn(t, brokers, dir, "a")
	if err := a.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2000 {
		t.Fatalf("Len = %d, want 2000", a.Len())
	}
	_ = a.Close()
	fill(t, brokers, 0, 2000, 10)
	b := openIn(t, brokers, dir, "a")
	// The store says where it was: only the 10 new records are behind it.
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2010 {
		t.Fatalf("Len = %d, want 2010", b.Len())
	}
	if _, ok := b.get("cmd-2005"); !ok {
		t.Fatal("tail entry missing")
	}
	if _, ok := b.get("cmd-5"); !ok {
		t.Fatal("stored entry missing")
	}
}

func TestACrashDuringALoadKeepsItsProgress(t *testing.T) {
	brokers := newCluster(t)
	dir := t.TempDir()
	fill(t, brokers, 0, 0, 20000)
	a := openIn(t, brokers, dir, "a")
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		for statusOf(a, 0).Applied == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel() // the "crash": the load is abandoned part-way
	}()
	err := a.Assign(ctx, []int{0})
	at := statusOf(a, 0).Applied
	if err == nil && at == 20000 {
		t.Skip("the load finished before it could be interrupted")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Assign = %v, want context.Canceled", err)
	}
	if _, _, err := a.Get(0, "cmd-1"); !errors.Is(err, ErrNotAssigned) {
		t.Fatalf("Get on a half-loaded partition = %v, want ErrNotAssigned", err)
	}
	_ = a.Close() // the process goes away
	b := openIn(t, brokers, dir, "a")
	if st := b.Status(); len(st) != 0 {
		t.Fatalf("status before Assign: %+v", st)
	}
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 20000 {
		t.Fatalf("Len = %d, want 20000", b.Len())
	}
	t.Logf("interrupted at offset %d of 20000; resumed from there", at)
}

func TestAPartitionMovingWhileItLoads(t *testing.T) {
	brokers := newCluster(t)
	fill(t, brokers, 0, 0, 20000)
	fill(t, brokers, 1, 20000, 100)
	a := openIn(t, brokers, t.TempDir(), "a")
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() {
		for statusOf(a, 0).Applied == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel() // a rebalance: the generation ends while partition 0 loads
	}()
	_ = a.Assign(ctx, []int{0, 1})
	// The next generation takes partition 0 away: it is closed, partition 1 stays.
	if err := a.Assign(testCtx(t), []int{1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Get(0, "cmd-1"); !errors.Is(err, ErrNotAssigned) {
		t.Fatalf("Get on a partition that moved away = %v, want ErrNotAssigned", err)
	}
	if _, ok, err := a.Get(1, "cmd-20050"); err != nil || !ok {
		t.Fatalf("Get(1) = %v %v", ok, err)
	}
	// Its new owner loads it whole, and writes there; when it comes back here the
	// tail since the interruption is replayed, including the other owner's write.
	b := openIn(t, brokers, t.TempDir(), "b")
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	e := doneEntry("cmd-1", 7)
	if _, err := b.Put(testCtx(t), e); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	if err := a.Assign(testCtx(t), []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := a.Get(0, "cmd-1"); err != nil || !ok || got.Attempts != 7 {
		t.Fatalf("Get(0, cmd-1) = %+v %v %v, want b's write", got, ok, err)
	}
	if a.Len() != 20100 {
		t.Fatalf("Len = %d, want 20100", a.Len())
	}
}

func TestAStoreAheadOfTheChangelogIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	old := newCluster(t)
	fill(t, old, 0, 0, 50)
	a := openIn(t, old, dir, "a")
	if err := a.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()
	// A new cluster (or a recreated topic) with fewer records: nothing stored applies.
	fresh := newCluster(t)
	fill(t, fresh, 0, 1000, 3)
	b := openIn(t, fresh, dir, "a")
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.get("cmd-1"); ok || b.Len() != 3 {
		t.Fatalf("old entries survived: Len %d", b.Len())
	}
}

func TestNewestWriteWinsWhateverTheArrivalOrder(t *testing.T) {
	s, err := openStore(t.TempDir(), testTopic, "c", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	rec := func(off int64, attempts int) record {
		if attempts == 0 {
			return record{off: off, key: "k"}
		}
		b, _ := json.Marshal(doneEntry("k", attempts))
		r, _ := decodeRecord(off, "k", b)
		return r
	}
	want := func(step string, attempts int) {
		t.Helper()
		e, ok, err := s.get("k")
		switch {
		case err != nil:
			t.Fatal(err)
		case attempts == 0 && (ok || s.count.Load() != 0):
			t.Fatalf("%s: Get = %+v, Len %d, want absent", step, e, s.count.Load())
		case attempts > 0 && (!ok || e.Attempts != attempts || s.count.Load() != 1):
			t.Fatalf("%s: Get = %+v ok=%v Len %d, want Attempts %d", step, e, ok, s.count.Load(), attempts)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.apply([]record{rec(0, 1)}, 1, true))
	want("load applies v1@0", 1)
	must(s.apply([]record{rec(2, 3)}, 0, false))
	want("own Put v3@2 ahead of the load", 3)
	if s.appliedOffset() != 1 {
		t.Fatalf("applied = %d, want 1: offset 1 is missing", s.appliedOffset())
	}
	must(s.apply([]record{rec(1, 2), rec(2, 3)}, 3, true))
	want("the load catches up with older v2@1", 3)
	must(s.apply([]record{rec(3, 0)}, 0, false))
	want("own Forget@3", 0)
	if s.appliedOffset() != 4 {
		t.Fatalf("applied = %d, want 4", s.appliedOffset())
	}
	must(s.apply([]record{rec(4, 5)}, 5, true))
	want("re-put v5@4", 5)
	// The sweep's index holds each settled entry once, at its last write.
	refs, err := s.settledBefore(time.Now().Add(time.Hour).UnixNano(), 10, nil)
	if err != nil || len(refs) != 1 || refs[0].ID != "k" {
		t.Fatalf("settledBefore = %v %v, want k once", refs, err)
	}
	started, _ := json.Marshal(Entry{CommandID: "k", State: StateStarted})
	r, _ := decodeRecord(5, "k", started)
	must(s.apply([]record{r}, 6, true))
	if refs, _ := s.settledBefore(time.Now().Add(time.Hour).UnixNano(), 10, nil); len(refs) != 0 {
		t.Fatalf("an entry no longer settled is still listed: %v", refs)
	}
}

// Own writes reach bbolt stageLimit at a time; get sees each one at once, a forgotten
// one included, and applied never passes a write still staged.
func TestOwnWritesAreStagedThenWrittenTogether(t *testing.T) {
	s, err := openStore(t.TempDir(), testTopic, "c", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	inBolt := func() int {
		n := 0
		_ = s.db.View(func(tx *bolt.Tx) error {
			n = tx.Bucket(bucketEntries).Stats().KeyN
			return nil
		})
		return n
	}
	put := func(off int64, id string, attempts int) {
		t.Helper()
		var r record
		if attempts == 0 {
			r = record{off: off, key: id}
		} else {
			b, _ := json.Marshal(doneEntry(id, attempts))
			r, _ = decodeRecord(off, id, b)
		}
		if err := s.stage(r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		step     string
		do       func()
		get      string
		attempts int // 0: absent
		bolt     int
		applied  int64
	}{
		{"first write", func() { put(0, "a", 1) }, "a", 1, 0, 0},
		{"rewrite", func() { put(1, "a", 2) }, "a", 2, 0, 0},
		{"forget", func() { put(2, "a", 0) }, "a", 0, 0, 0},
		{"up to the limit", func() {
			for i := 3; i < stageLimit; i++ {
				put(int64(i), fmt.Sprintf("k%d", i), 1)
			}
		}, fmt.Sprintf("k%d", stageLimit-1), 1, stageLimit - 3, stageLimit},
		{"after the flush", func() { put(stageLimit, "b", 7) }, "b", 7, stageLimit - 3, stageLimit},
		{"close writes the rest", func() {
			if err := s.flush(); err != nil {
				t.Fatal(err)
			}
		}, "b", 7, stageLimit - 2, stageLimit + 1},
	}
	for _, tt := range tests {
		tt.do()
		e, ok, err := s.get(tt.get)
		switch {
		case err != nil:
			t.Fatalf("%s: %v", tt.step, err)
		case ok != (tt.attempts > 0) || (ok && e.Attempts != tt.attempts):
			t.Fatalf("%s: get(%s) = %+v ok=%v, want Attempts %d", tt.step, tt.get, e, ok, tt.attempts)
		case inBolt() != tt.bolt:
			t.Fatalf("%s: %d entries in bbolt, want %d", tt.step, inBolt(), tt.bolt)
		case s.appliedOffset() != tt.applied:
			t.Fatalf("%s: applied = %d, want %d", tt.step, s.appliedOffset(), tt.applied)
		}
	}
}

// Staged writes lost to a crash are on the changelog: the restart replays them.
func TestStagedWritesLostInACrashAreReplayed(t *testing.T) {
	brokers := newCluster(t)
	dir := t.TempDir()
	a := openIn(t, brokers, dir, "a")
	if err := a.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x", "y", "z"} {
		e := doneEntry(id, 1)
		if _, err := a.Put(testCtx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: the process dies with its staged writes, the file as it was.
	s := a.storeOf(0)
	s.mu.Lock()
	s.staged, s.stagedAt = nil, map[string]int{}
	s.mu.Unlock()
	_ = a.Close()
	b := openIn(t, brokers, dir, "a")
	if err := b.Assign(testCtx(t), []int{0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x", "y", "z"} {
		if _, ok := b.get(id); !ok {
			t.Fatalf("%s lost with the crash", id)
		}
	}
}
