package ledger

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/internal/command"
)

const testTopic = "callbridge.ledger"

func newCluster(t testing.TB, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openLedger(t testing.TB, brokers []string, instance string) *Ledger {
	t.Helper()
	l, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic, InstanceID: instance})
	if err != nil {
		t.Fatalf("Open(%s): %v", instance, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	if err := l.Sync(testCtx(t)); err != nil {
		t.Fatalf("Assign(%s): %v", instance, err)
	}
	return l
}

// Sync assigns every partition: the barrier these tests use on an instance that
// serves them all.
func (l *Ledger) Sync(ctx context.Context) error { return l.Assign(ctx, l.Partitions()) }

// get reads partition 0, where these tests' entries live.
func (l *Ledger) get(id string) (Entry, bool) {
	e, ok, err := l.Get(0, id)
	if err != nil {
		return Entry{}, false
	}
	return e, ok
}

func ids(refs []Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.ID)
	}
	return out
}

func put(t testing.TB, l *Ledger, e Entry) {
	t.Helper()
	if _, err := l.Put(testCtx(t), e); err != nil {
		t.Fatalf("Put(%s): %v", e.CommandID, err)
	}
}

func mustGet(t testing.TB, l *Ledger, id string) Entry {
	t.Helper()
	e, ok := l.get(id)
	if !ok {
		t.Fatalf("Get(%s): not found", id)
	}
	return e
}

func doneEntry(id string, attempts int) Entry {
	code := 1001
	return Entry{
		CommandID: id, CommandType: "task.control", Account: "main", State: StateDone,
		Attempts: attempts, VendorRequestIDs: []string{"req-" + id},
		Result: &command.Result{
			CommandID: id, CommandType: "task.control", Account: "main", Vendor: "some-vendor",
			Outcome: command.Failed, Attempts: attempts, VendorRequestIDs: []string{"req-" + id},
			Error: &command.Error{Code: command.ErrVendorRejected, Message: "no", VendorCode: &code},
		},
	}
}

func TestPutIsVisibleHereAndAfterRestart(t *testing.T) {
	tests := []struct {
		name string
		puts []Entry
		want map[string]int // id -> Attempts of the winning write
	}{
		{"one entry", []Entry{doneEntry("a", 1)}, map[string]int{"a": 1}},
		{"last write wins", []Entry{doneEntry("a", 1), doneEntry("a", 2), doneEntry("a", 3)}, map[string]int{"a": 3}},
		{"many keys across partitions", func() []Entry {
			var es []Entry
			for i := range 20 {
				es = append(es, doneEntry(fmt.Sprintf("cmd-%d", i), i))
			}
			return es
		}(), func() map[string]int {
			m := map[string]int{}
			for i := range 20 {
				m[fmt.Sprintf("cmd-%d", i)] = i
			}
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brokers := newCluster(t)
			a := openLedger(t, brokers, "a")
			for _, e := range tt.puts {
				put(t, a, e)
			}
			check := func(l *Ledger, who string) {
				t.Helper()
				if l.Len() != len(tt.want) {
					t.Errorf("%s: Len = %d, want %d", who, l.Len(), len(tt.want))
				}
				for id, attempts := range tt.want {
					got := mustGet(t, l, id)
					if got.Attempts != attempts || got.Result == nil || got.Result.Attempts != attempts {
						t.Errorf("%s: Get(%s).Attempts = %d, want %d", who, id, got.Attempts, attempts)
					}
					if got.Owner != "a" || got.UpdatedAt.IsZero() {
						t.Errorf("%s: Get(%s) owner %q updatedAt %v, want stamped by a", who, id, got.Owner, got.UpdatedAt)
					}
				}
			}
			check(a, "same instance")
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			check(openLedger(t, brokers, "b"), "restarted instance")
		})
	}
}

func TestPutReturnsTheEntryAsWritten(t *testing.T) {
	// Callers publish what Put returns; it must be what Get (here and after a restart)
	// shows, stamps included, so a repeated command publishes the identical result.
	brokers := newCluster(t)
	a := openLedger(t, brokers, "a")
	in := doneEntry("stamped", 3)
	got, err := a.Put(testCtx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "a" || got.UpdatedAt.IsZero() || !in.UpdatedAt.IsZero() {
		t.Fatalf("Put returned owner %q updatedAt %v (input updatedAt %v), want stamped by a", got.Owner, got.UpdatedAt, in.UpdatedAt)
	}
	for who, l := range map[string]*Ledger{"same instance": a, "other instance": openLedger(t, brokers, "b")} {
		rec := mustGet(t, l, "stamped")
		if !rec.UpdatedAt.Equal(got.UpdatedAt) || rec.Owner != got.Owner || rec.Attempts != got.Attempts {
			t.Errorf("%s: Get = %+v, want what Put returned %+v", who, rec, got)
		}
	}
}

func TestSyncShowsWritesOfOtherInstances(t *testing.T) {
	brokers := newCluster(t)
	a := openLedger(t, brokers, "a")
	b := openLedger(t, brokers, "b")

	// A executes commands, then "loses" their partitions to B, which Syncs once
	// before looking anything up: every entry A had acknowledged must be there.
	for round := range 5 {
		ids := make([]string, 10)
		for i := range ids {
			ids[i] = fmt.Sprintf("r%d-c%d", round, i)
			put(t, a, doneEntry(ids[i], round+1))
		}
		if err := b.Sync(testCtx(t)); err != nil {
			t.Fatalf("Sync: %v", err)
		}
		for _, id := range ids {
			if got := mustGet(t, b, id); !got.Done() || got.Owner != "a" || got.Result.Error.Code != command.ErrVendorRejected {
				t.Fatalf("B after Sync: Get(%s) = %+v", id, got)
			}
		}
	}

	// B's writes reach A the same way.
	put(t, b, doneEntry("from-b", 7))
	if err := a.Sync(testCtx(t)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := mustGet(t, a, "from-b"); got.Attempts != 7 || got.Owner != "b" {
		t.Fatalf("A after Sync: %+v", got)
	}
	if a.Len() != b.Len() || a.Len() != 51 {
		t.Fatalf("Len a=%d b=%d, want 51", a.Len(), b.Len())
	}
}

func TestCrashMidSagaIsVisibleAfterRestart(t *testing.T) {
	// Each case is the last entry written before the process died: the step in
	// flight is Pending, the finished ones are in Steps.
	tests := []struct {
		name  string
		entry Entry
	}{
		{"during create", Entry{Pending: PendingCreate}},
		{"during second import batch", Entry{
			Steps:   Steps{TaskID: "t-1", Created: true, ImportedBatches: 1, Accepted: 200, Rejected: 3},
			Pending: PendingImport(1), Attempts: 1, VendorRequestIDs: []string{"r1", "r2"},
		}},
		{"during start", Entry{
			Steps:   Steps{TaskID: "t-1", Created: true, ImportedBatches: 2, Accepted: 390, Rejected: 10},
			Pending: PendingStart, Attempts: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brokers := newCluster(t)
			a := openLedger(t, brokers, "a")
			e := tt.entry
			e.CommandID, e.CommandType, e.Account, e.State = "saga-1", "task.create", "east", StateStarted
			put(t, a, e)
			_ = a.Close() // the crash: nothing more is written

			got := mustGet(t, openLedger(t, brokers, "b"), "saga-1")
			if got.Done() {
				t.Errorf("Done after a crash mid-saga: %+v", got)
			}
			if got.Pending != e.Pending || got.Steps != e.Steps || got.Attempts != e.Attempts ||
				fmt.Sprint(got.VendorRequestIDs) != fmt.Sprint(e.VendorRequestIDs) {
				t.Errorf("restored %+v, want %+v", got, e)
			}
			if got.Owner != "a" {
				t.Errorf("Owner = %q, want the crashed instance a", got.Owner)
			}
		})
	}
}

func TestPendingImportRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 42} {
		if got, ok := ImportBatch(PendingImport(n)); !ok || got != n {
			t.Errorf("ImportBatch(PendingImport(%d)) = %d, %v", n, got, ok)
		}
	}
	for _, p := range []string{"", PendingCreate, PendingStart, "import:", "import:-1", "import:x"} {
		if _, ok := ImportBatch(p); ok {
			t.Errorf("ImportBatch(%q) ok, want not an import", p)
		}
	}
}

func describeTopic(t *testing.T, brokers []string) (policy string, partitions int) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := c.DescribeConfigs(testCtx(t), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: testTopic, ConfigNames: []string{"cleanup.policy"},
	}}})
	if err != nil || len(res.Resources) != 1 || res.Resources[0].Error != nil {
		t.Fatalf("DescribeConfigs: %v %+v", err, res)
	}
	for _, ce := range res.Resources[0].ConfigEntries {
		if ce.ConfigName == "cleanup.policy" {
			policy = ce.ConfigValue
		}
	}
	md, err := c.Metadata(testCtx(t), &kafka.MetadataRequest{Topics: []string{testTopic}})
	if err != nil || len(md.Topics) != 1 {
		t.Fatalf("Metadata: %v", err)
	}
	return policy, len(md.Topics[0].Partitions)
}

func TestOpenCreatesCompactedTopic(t *testing.T) {
	brokers := newCluster(t)
	l, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	policy, parts := describeTopic(t, brokers)
	if policy != "compact" || parts != 3 {
		t.Fatalf("topic cleanup.policy=%q partitions=%d, want compact and 3", policy, parts)
	}

	// A later instance configured differently uses the topic as it is: the key to
	// partition mapping must not change under existing entries.
	put(t, l, doneEntry("k", 1))
	l2, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic, Partitions: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if len(l2.parts) != 3 {
		t.Fatalf("second instance has partitions %v", l2.parts)
	}
	put(t, l2, doneEntry("k", 2))
	if err := l.Sync(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, l, "k"); got.Attempts != 2 {
		t.Fatalf("Attempts = %d, want 2", got.Attempts)
	}
}

func TestOpenRefusesTopicThatIsNotCompacted(t *testing.T) {
	brokers := newCluster(t)
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := c.CreateTopics(testCtx(t), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: testTopic, NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "delete"}},
	}}})
	if err != nil || res.Errors[testTopic] != nil {
		t.Fatalf("CreateTopics: %v %v", err, res)
	}
	_, err = Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic})
	if !errors.Is(err, ErrNotCompacted) {
		t.Fatalf("Open = %v, want ErrNotCompacted", err)
	}
}

func TestOpenFailsWhenBrokersAreUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if l, err := Open(ctx, Config{Brokers: []string{"127.0.0.1:1"}}); err == nil {
		_ = l.Close()
		t.Fatal("Open succeeded without a broker")
	}
	if _, err := Open(ctx, Config{}); err == nil {
		t.Fatal("Open succeeded without brokers")
	}
}

func TestLenCountsEntriesAndForgetRemoves(t *testing.T) {
	brokers := newCluster(t)
	a := openLedger(t, brokers, "a")
	b := openLedger(t, brokers, "b")
	for _, id := range []string{"a1", "a2", "a3"} {
		put(t, a, doneEntry(id, 1))
	}
	put(t, a, doneEntry("a1", 2)) // an update is not a new entry
	if a.Len() != 3 {
		t.Fatalf("Len = %d, want 3", a.Len())
	}
	if err := a.Forget(testCtx(t), 0, "a2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.get("a2"); ok || a.Len() != 2 {
		t.Fatalf("after Forget: Get ok=%v Len=%d, want gone and 2", ok, a.Len())
	}
	if err := b.Sync(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.get("a2"); ok || b.Len() != 2 {
		t.Fatalf("other instance after Sync: Get ok=%v Len=%d", ok, b.Len())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	r := openLedger(t, brokers, "r")
	if _, ok := r.get("a2"); ok || r.Len() != 2 {
		t.Fatalf("restarted: Get ok=%v Len=%d", ok, r.Len())
	}

	// A forgotten id can be written again.
	put(t, r, doneEntry("a2", 5))
	if got := mustGet(t, r, "a2"); got.Attempts != 5 || r.Len() != 3 {
		t.Fatalf("re-put: %+v Len=%d", got, r.Len())
	}
}

func TestGetNeverGoesBackAfterPut(t *testing.T) {
	// The tail may still be applying older records of a key when Put returns; the
	// local view must show the newest write regardless.
	brokers := newCluster(t)
	l := openLedger(t, brokers, "a")
	for i := 1; i <= 100; i++ {
		put(t, l, doneEntry("hot", i))
		if got := mustGet(t, l, "hot"); got.Attempts != i {
			t.Fatalf("after Put #%d Get shows Attempts %d", i, got.Attempts)
		}
	}
	if err := l.Forget(testCtx(t), 0, "hot"); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.get("hot"); ok {
		t.Fatal("forgotten entry came back")
	}
	if err := l.Sync(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.get("hot"); ok || l.Len() != 0 {
		t.Fatalf("after Sync: ok=%v Len=%d", ok, l.Len())
	}
}

func TestGetReturnsACopy(t *testing.T) {
	l := openLedger(t, newCluster(t), "a")
	put(t, l, doneEntry("c", 1))
	e := mustGet(t, l, "c")
	e.VendorRequestIDs[0] = "mutated"
	e.Result.VendorRequestIDs[0] = "mutated"
	*e.Result.Error.VendorCode = 0
	e.Result.Outcome = "mutated"
	if got := mustGet(t, l, "c"); got.VendorRequestIDs[0] != "req-c" || got.Result.VendorRequestIDs[0] != "req-c" ||
		*got.Result.Error.VendorCode != 1001 || got.Result.Outcome != command.Failed {
		t.Fatalf("ledger entry changed through a returned copy: %+v", got)
	}
}

func TestUndecodableRecordIsSkipped(t *testing.T) {
	brokers := newCluster(t)
	a := openLedger(t, brokers, "a")
	put(t, a, doneEntry("g", 1))
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := c.Produce(testCtx(t), &kafka.ProduceRequest{
		Topic: testTopic, Partition: 0, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(kafka.Record{Key: kafka.NewBytes([]byte("g")), Value: kafka.NewBytes([]byte("{not json"))}),
	})
	if err != nil || res.Error != nil {
		t.Fatalf("Produce: %v %v", err, res)
	}
	// Sync must not hang on the bad record, and must keep the last good entry.
	if err := a.Sync(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, a, "g"); got.Attempts != 1 {
		t.Fatalf("got %+v", got)
	}
	if got := mustGet(t, openLedger(t, brokers, "b"), "g"); got.Attempts != 1 {
		t.Fatalf("restarted: got %+v", got)
	}
}

func TestConcurrentUseIsSafe(t *testing.T) {
	brokers := newCluster(t)
	a := openLedger(t, brokers, "a")
	b := openLedger(t, brokers, "b")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if w%2 == 1 {
				l = b
			}
			for i := range 10 {
				if _, err := l.Put(testCtx(t), doneEntry(fmt.Sprintf("w%d-%d", w, i), i)); err != nil {
					errs <- err
				}
				if _, err := l.Put(testCtx(t), doneEntry("shared", i)); err != nil {
					errs <- err
				}
				l.get("shared")
				l.Len()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			if err := a.Sync(testCtx(t)); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, l := range []*Ledger{a, b} {
		if err := l.Sync(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	// Both instances converge on the same winner for the contended key.
	if ga, gb := mustGet(t, a, "shared"), mustGet(t, b, "shared"); a.Len() != 41 || b.Len() != 41 ||
		ga.Owner != gb.Owner || !ga.UpdatedAt.Equal(gb.UpdatedAt) {
		t.Fatalf("diverged: Len %d/%d, shared %+v vs %+v", a.Len(), b.Len(), ga, gb)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	brokers := newCluster(t)
	before := runtime.NumGoroutine()
	l, err := Open(testCtx(t), Config{Brokers: brokers, Topic: testTopic})
	if err != nil {
		t.Fatal(err)
	}
	put(t, l, doneEntry("z", 1))
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Put(testCtx(t), doneEntry("z", 2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if err := l.Sync(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v, want ErrClosed", err)
	}
	if _, _, err := l.Get(0, "z"); err == nil {
		t.Error("Get after Close answered from a closed store")
	}
	// goleak is not a dependency: count goroutines instead (the broker's per-connection
	// goroutines need a moment to notice closed connections).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before Open, %d after Close\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSyncHonoursContext(t *testing.T) {
	l := openLedger(t, newCluster(t), "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync(canceled) = %v, want context.Canceled", err)
	}
	if _, err := l.Put(ctx, doneEntry("q", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put(canceled) = %v, want context.Canceled", err)
	}
}

func BenchmarkPut(b *testing.B) {
	l := openLedger(b, newCluster(b), "bench")
	e := doneEntry("bench", 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e.CommandID = fmt.Sprintf("bench-%d", i)
		if _, err := l.Put(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSettledBeforeListsOnlyOldSettledEntries(t *testing.T) {
	l := openLedger(t, newCluster(t), "a")
	ctx := testCtx(t)
	put(t, l, doneEntry("done", 1))
	put(t, l, Entry{CommandID: "pending", State: StateStarted, Pending: PendingCall})
	if got := ids(l.SettledBefore(time.Now().Add(-time.Hour), 10)); len(got) != 0 {
		t.Errorf("entries written just now listed as an hour old: %v", got)
	}
	got := ids(l.SettledBefore(time.Now().Add(time.Hour), 10))
	if len(got) != 1 || got[0] != "done" {
		t.Fatalf("SettledBefore = %v, want only the settled entry", got)
	}
	if err := l.Forget(ctx, 0, "done"); err != nil {
		t.Fatal(err)
	}
	if got := ids(l.SettledBefore(time.Now().Add(time.Hour), 10)); len(got) != 0 {
		t.Errorf("forgotten entry still listed: %v", got)
	}
}
