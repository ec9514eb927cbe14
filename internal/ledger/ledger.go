// Package ledger is callbridge's idempotency ledger: one Entry per command id on a
// compacted Kafka topic (the changelog), with state kept per partition the way Kafka
// Streams keeps keyed state.
//
// The outbound half writes an entry before and after every vendor call and consults
// it before executing a command, so a command id that was executed is never executed
// again — across restarts, instances and rebalances — and a vendor call whose outcome
// was never recorded shows up as Pending instead of being repeated blindly.
//
// The ledger is co-partitioned with the command topics: a command read from
// partition p of any command topic has its entry in ledger partition p, under its
// command id (Entry.Partition). An instance therefore needs only the ledger
// partitions whose command partitions it owns: Assign restores those into a local
// on-disk store per partition (store.go) and lets the others go. A store that
// survived a restart is brought up to date by replaying only the changelog's tail
// past the offset it recorded; a load interrupted by a crash or a rebalance keeps
// its progress. Memory does not grow with the number of entries.
//
// Put is synchronous (acks=all) and visible locally at once. Assign is the barrier
// that makes the previous owner's acknowledged writes visible, to be called after
// each consumer-group rebalance before processing.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	bolt "go.etcd.io/bbolt"
)

// Defaults applied to zero-valued Config fields.
const (
	DefaultTopic      = "callbridge.ledger"
	DefaultPartitions = 6
)

const (
	// maxAttempts bounds retries of one produce/metadata/offsets request on
	// temporary errors (leader moves, broker restarts), ~6s in all.
	maxAttempts    = 8
	backoffMin     = 50 * time.Millisecond
	backoffMax     = time.Second
	readerMaxWait  = time.Second
	readerMaxBytes = 10 << 20
	// loadBatch records are applied to the local store per transaction.
	loadBatch = 4096
)

var (
	// ErrClosed is returned by calls on a closed Ledger.
	ErrClosed = errors.New("ledger: closed")
	// ErrNotCompacted is returned by Open when the topic exists without
	// cleanup.policy=compact: its entries would expire and commands run twice.
	ErrNotCompacted = errors.New("ledger: topic is not compacted")
	// ErrNotAssigned is returned by Get for a partition this instance has not
	// loaded: whether the command ran is unknown here.
	ErrNotAssigned = errors.New("ledger: partition not loaded by this instance")
)

// Config says where the ledger lives and how to reach it.
type Config struct {
	// Brokers are the bootstrap brokers, host:port; required.
	Brokers []string
	// Topic is the ledger topic (prefix already applied); default DefaultTopic.
	Topic string
	// Partitions is used only when Open creates the topic; default DefaultPartitions.
	// It must be at least the partition count of every command topic (command
	// partition p keeps its entries in ledger partition p). Never change the
	// partitions of the command topics or the ledger once in use.
	Partitions int
	// ReplicationFactor is used only when Open creates the topic; default -1, the
	// broker's default.replication.factor.
	ReplicationFactor int
	// Dir holds the local stores, one file per partition; it should survive
	// restarts of the process (a restart then replays only the changelog's tail).
	// Empty: a private temporary directory removed by Close. A Dir another process
	// holds is not shared: that instance falls back to a temporary one.
	Dir string
	// Dialer connects the load readers (TLS, SASL); nil is a plain connection.
	Dialer *kafka.Dialer
	// Transport carries produce and admin requests (TLS, SASL); nil is a plain
	// transport owned (and closed) by the Ledger.
	Transport kafka.RoundTripper
	// InstanceID is stamped as Owner on every entry this instance writes.
	InstanceID string
	// Logger receives load progress and problems; nil discards them.
	Logger *slog.Logger
}

// Ref names one entry: its partition and command id.
type Ref struct {
	Partition int
	ID        string
}

// PartitionStatus is how far the load of one assigned partition is.
type PartitionStatus struct {
	Partition int
	// Applied is the changelog offset the local store is at; Target the high
	// watermark the load aims at (both count records, not entries).
	Applied, Target int64
	Loaded          bool
	Entries         int64
}

// Ledger is the writer of the ledger topic plus the local stores of the partitions
// assigned to this instance. It is safe for concurrent use.
type Ledger struct {
	cfg       Config
	client    *kafka.Client
	transport *kafka.Transport // non-nil when owned
	parts     []int            // partition ids, sorted, fixed at Open
	cluster   string
	log       *slog.Logger
	dir       string
	tempDir   bool     // dir is ours to remove
	lock      *bolt.DB // holds dir

	assignMu sync.Mutex // one Assign at a time
	mu       sync.RWMutex
	stores   map[int]*store // partitions assigned (loading or loaded)

	done      chan struct{}
	closeOnce sync.Once
}

// Open ensures the ledger topic exists and is compacted. It loads nothing: Assign
// loads the partitions this instance owns.
func Open(ctx context.Context, cfg Config) (*Ledger, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("ledger: no brokers configured")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.ReplicationFactor == 0 {
		cfg.ReplicationFactor = -1
	}
	l := &Ledger{cfg: cfg, log: cfg.Logger, stores: map[int]*store{}, done: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	rt := cfg.Transport
	if rt == nil {
		l.transport = &kafka.Transport{ClientID: "callbridge-ledger", MetadataTopics: []string{cfg.Topic}}
		rt = l.transport
	}
	l.client = &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: rt}
	parts, err := l.ensureTopic(ctx)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	l.parts = parts
	res, err := l.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("ledger: metadata: %w", err)
	}
	l.cluster = res.ClusterID
	if err := l.lockDir(); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// lockDir settles which directory holds the stores: cfg.Dir unless another process
// holds its stores (two instances on one host with one path), then a temporary one.
func (l *Ledger) lockDir() error {
	if l.cfg.Dir != "" {
		// A small bbolt file held open for the Ledger's life is the directory's lock.
		path := filepath.Join(l.cfg.Dir, l.cfg.Topic, "lock.db")
		err := os.MkdirAll(filepath.Dir(path), 0o750)
		if err == nil {
			l.lock, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
		}
		if err == nil {
			l.dir = l.cfg.Dir
			return nil
		}
		l.log.Warn("ledger: state dir unusable; using a temporary one (a restart restores from the changelog)", "dir", l.cfg.Dir, "err", err)
	}
	d, err := os.MkdirTemp("", "callbridge-ledger-")
	if err != nil {
		return fmt.Errorf("ledger: temporary state dir: %w", err)
	}
	l.dir, l.tempDir = d, true
	return nil
}

// Partitions returns the ledger topic's partition ids.
func (l *Ledger) Partitions() []int { return slices.Clone(l.parts) }

// Assign makes parts the partitions this instance serves: the local stores of the
// others are closed (their files stay, for the day they come back), and each of
// parts is brought up to the changelog's high watermark as of the call, so every
// write acknowledged before it (by any instance) is visible to Get. It returns once
// all are loaded, or with ctx's error: progress is kept, the next Assign goes on
// from there. Get answers only for loaded partitions.
func (l *Ledger) Assign(ctx context.Context, parts []int) error {
	if l.isClosed() {
		return ErrClosed
	}
	l.assignMu.Lock()
	defer l.assignMu.Unlock()
	for _, p := range parts {
		if !slices.Contains(l.parts, p) {
			return fmt.Errorf("ledger: %s has no partition %d: it needs at least as many partitions as every command topic", l.cfg.Topic, p)
		}
	}
	l.mu.Lock()
	for p, s := range l.stores {
		if !slices.Contains(parts, p) {
			delete(l.stores, p)
			_ = s.close()
		}
	}
	var open []*store
	for _, p := range parts {
		s, ok := l.stores[p]
		if !ok {
			var err error
			if s, err = openStore(l.dir, l.cfg.Topic, l.cluster, p); err != nil {
				l.mu.Unlock()
				return err
			}
			l.stores[p] = s
		}
		s.loaded.Store(false)
		// Own writes still staged go first: the load may bring newer ones.
		if err := s.flush(); err != nil {
			l.mu.Unlock()
			return err
		}
		open = append(open, s)
	}
	l.mu.Unlock()
	if len(open) == 0 {
		return nil
	}
	offs, err := l.listOffsets(ctx, parts, true)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(open))
	for i, s := range open {
		s.target.Store(offs[s.p].LastOffset)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.load(ctx, s, offs[s.p].FirstOffset, offs[s.p].LastOffset)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// load applies partition s.p's changelog from the store's offset up to target.
func (l *Ledger) load(ctx context.Context, s *store, first, target int64) error {
	from := s.appliedOffset()
	if from > target {
		// The store is ahead of the topic: the topic was recreated. Start over.
		l.log.Warn("ledger: local store is ahead of the changelog; rebuilding", "partition", s.p, "store", from, "changelog", target)
		if err := s.reset(); err != nil {
			return err
		}
		from = 0
	}
	from = max(from, first)
	if from >= target {
		s.loaded.Store(true)
		return nil
	}
	start := time.Now()
	l.log.Info("ledger: loading partition", "partition", s.p, "from", from, "to", target)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: l.cfg.Brokers, Topic: l.cfg.Topic, Partition: s.p, Dialer: l.cfg.Dialer,
		MinBytes: 1, MaxBytes: readerMaxBytes, MaxWait: readerMaxWait,
		ReadBackoffMin: time.Millisecond, ReadBackoffMax: 100 * time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(l.kafkaLog(s.p)),
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		return err
	}
	batch := make([]record, 0, loadBatch)
	next := from
	flush := func() error {
		if next == s.appliedOffset() {
			return nil
		}
		err := s.apply(batch, next, true)
		batch = batch[:0]
		return err
	}
	lastLog := time.Now()
	for next < target {
		fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				_ = flush()
				return fmt.Errorf("ledger: load of partition %d at %d of %d: %w", s.p, next, target, ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if ferr := flush(); ferr != nil {
					return ferr
				}
				continue
			}
			_ = flush()
			return fmt.Errorf("ledger: load of partition %d at %d of %d: %w", s.p, next, target, err)
		}
		next = m.Offset + 1
		if m.Key != nil {
			rec, err := decodeRecord(m.Offset, string(m.Key), m.Value)
			if err != nil {
				// Keep what we had: a garbled record must not erase an entry.
				l.log.Error("ledger: undecodable entry skipped", "partition", s.p, "offset", m.Offset, "err", err)
			} else {
				batch = append(batch, rec)
			}
		}
		if len(batch) >= loadBatch || next >= target {
			if err := flush(); err != nil {
				return err
			}
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			l.log.Info("ledger: loading partition", "partition", s.p, "at", next, "to", target)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.loaded.Store(true)
	l.log.Info("ledger: partition loaded", "partition", s.p, "records", target-from, "entries", s.count.Load(), "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func (l *Ledger) storeOf(p int) *store {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.stores[p]
}

// Get returns the entry of command id in partition p. It reflects this instance's
// own Puts at once, and other instances' writes as of the last Assign. A partition
// not loaded here gives ErrNotAssigned: nothing can be said about the command.
func (l *Ledger) Get(p int, id string) (Entry, bool, error) {
	s := l.storeOf(p)
	if s == nil || !s.loaded.Load() {
		return Entry{}, false, fmt.Errorf("%w: %d", ErrNotAssigned, p)
	}
	return s.get(id)
}

// SettledBefore lists up to limit settled (done) commands last written before t, in
// the partitions assigned here: candidates for Forget once their retention passed.
// Commands still in progress are never listed: they need resolving, not forgetting.
func (l *Ledger) SettledBefore(t time.Time, limit int) []Ref {
	l.mu.RLock()
	stores := make([]*store, 0, len(l.stores))
	for _, s := range l.stores {
		if s.loaded.Load() {
			stores = append(stores, s)
		}
	}
	l.mu.RUnlock()
	sort.Slice(stores, func(i, j int) bool { return stores[i].p < stores[j].p })
	var out []Ref
	for _, s := range stores {
		l.flush(s) // the settled index is bbolt's
		var err error
		if out, err = s.settledBefore(t.UnixNano(), limit, out); err != nil {
			l.log.Warn("ledger: sweep read", "partition", s.p, "err", err)
		}
		if len(out) >= limit {
			break
		}
	}
	return out
}

// Len is the number of entries in the partitions assigned here (for metrics).
func (l *Ledger) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := int64(0)
	for _, s := range l.stores {
		l.flush(s) // the count is bbolt's
		n += s.count.Load()
	}
	return int(n)
}

// Status reports the load of every assigned partition, by partition.
func (l *Ledger) Status() []PartitionStatus {
	l.mu.RLock()
	out := make([]PartitionStatus, 0, len(l.stores))
	for _, s := range l.stores {
		l.flush(s) // the count is bbolt's
		out = append(out, PartitionStatus{Partition: s.p, Applied: s.appliedOffset(), Target: s.target.Load(), Loaded: s.loaded.Load(), Entries: s.count.Load()})
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// Put writes e (partition e.Partition, key e.CommandID), stamping UpdatedAt and
// Owner, and returns the entry as written once the brokers acknowledged it
// (acks=all); it is then visible to Get here, and to the next owner of the
// partition after its Assign. The last acknowledged write of a key wins. An error
// means the write may or may not have landed: do not call the vendor on it.
func (l *Ledger) Put(ctx context.Context, e Entry) (Entry, error) {
	if e.CommandID == "" {
		return e, errors.New("ledger: put: empty command id")
	}
	if !slices.Contains(l.parts, e.Partition) {
		return e, fmt.Errorf("ledger: put %s: no partition %d", e.CommandID, e.Partition)
	}
	if l.isClosed() {
		return e, ErrClosed
	}
	e.UpdatedAt = time.Now().UTC()
	e.Owner = l.cfg.InstanceID
	b, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("ledger: put %s: %w", e.CommandID, err)
	}
	off, err := l.produce(ctx, e.Partition, e.CommandID, b)
	if err != nil {
		return e, fmt.Errorf("ledger: put %s: %w", e.CommandID, err)
	}
	if s := l.storeOf(e.Partition); s != nil {
		rec := record{off: off, key: e.CommandID, value: b, updated: e.UpdatedAt.UnixNano(), done: e.Done()}
		if err := s.stage(rec); err != nil {
			// On Kafka but not here: the next Assign replays it. Until then Get must
			// not say "never seen".
			s.loaded.Store(false)
			return e, fmt.Errorf("ledger: put %s: %w", e.CommandID, err)
		}
	}
	return e, nil
}

// Forget writes a tombstone for id in partition p, so compaction drops it
// (retention of very old entries). Forgetting a command that may still be
// redelivered lets it run again.
func (l *Ledger) Forget(ctx context.Context, p int, id string) error {
	if id == "" {
		return errors.New("ledger: forget: empty command id")
	}
	if !slices.Contains(l.parts, p) {
		return fmt.Errorf("ledger: forget %s: no partition %d", id, p)
	}
	if l.isClosed() {
		return ErrClosed
	}
	off, err := l.produce(ctx, p, id, nil)
	if err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	if s := l.storeOf(p); s != nil {
		if err := s.stage(record{off: off, key: id}); err != nil {
			s.loaded.Store(false)
			return fmt.Errorf("ledger: forget %s: %w", id, err)
		}
	}
	return nil
}

// flush writes partition s's staged writes to its store. A store that cannot take
// them answers nothing until the next Assign replays them from the changelog.
func (l *Ledger) flush(s *store) {
	if err := s.flush(); err != nil {
		s.loaded.Store(false)
		l.log.Error("ledger: local store write failed; the partition reloads at the next assignment", "partition", s.p, "err", err)
	}
}

func (l *Ledger) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Close closes the local stores (their files stay for the next start, unless the
// directory was a temporary one). Put, Forget and Assign return ErrClosed after it.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.assignMu.Lock()
		l.mu.Lock()
		for p, s := range l.stores {
			_ = s.close()
			delete(l.stores, p)
		}
		l.mu.Unlock()
		l.assignMu.Unlock()
		if l.lock != nil {
			_ = l.lock.Close()
		}
		if l.tempDir {
			_ = os.RemoveAll(l.dir)
		}
		if l.transport != nil {
			l.transport.CloseIdleConnections()
		}
	})
	return nil
}
