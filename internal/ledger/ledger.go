// Package ledger is callbridge's idempotency ledger: one Entry per command id on a
// compacted Kafka topic, mirrored in memory by every bridge instance.
//
// The outbound half writes an entry before and after every vendor call and consults
// it before executing a command, so a command id that was executed is never executed
// again — across restarts, instances and rebalances — and a vendor call whose outcome
// was never recorded shows up as Pending instead of being repeated blindly.
//
// Every instance tails every ledger partition (the ledger is small: one entry per
// command, compacted), so lookups are in-memory. Put is synchronous (acks=all) and
// visible locally at once; Sync is the barrier that makes other instances' acknowledged
// writes visible, to be called after each consumer-group rebalance.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
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
	readerMaxWait  = time.Second // long-poll of an idle tail; also bounds Close latency
	readerMaxBytes = 10 << 20
)

var (
	// ErrClosed is returned by calls on a closed Ledger.
	ErrClosed = errors.New("ledger: closed")
	// ErrNotCompacted is returned by Open when the topic exists without
	// cleanup.policy=compact: its entries would expire and commands run twice.
	ErrNotCompacted = errors.New("ledger: topic is not compacted")
)

// Config says where the ledger lives and how to reach it.
type Config struct {
	// Brokers are the bootstrap brokers, host:port; required.
	Brokers []string
	// Topic is the ledger topic (prefix already applied); default DefaultTopic.
	Topic string
	// Partitions is used only when Open creates the topic; default DefaultPartitions.
	// Never add partitions to an existing ledger topic: keys would move partition
	// and an old entry could shadow a newer one.
	Partitions int
	// ReplicationFactor is used only when Open creates the topic; default -1, the
	// broker's default.replication.factor.
	ReplicationFactor int
	// Dialer connects the tail readers (TLS, SASL); nil is a plain connection.
	Dialer *kafka.Dialer
	// Transport carries produce and admin requests (TLS, SASL); nil is a plain
	// transport owned (and closed) by the Ledger.
	Transport kafka.RoundTripper
	// InstanceID is stamped as Owner on every entry this instance writes.
	InstanceID string
	// Logger receives reader and decoding problems; nil discards them.
	Logger *slog.Logger
}

// slot is what the map holds per key: the entry and the partition offset it was
// written at. gone marks a local Forget the tail has not reached yet.
type slot struct {
	e    Entry
	off  int64
	gone bool
}

// Ledger is the in-memory view of the ledger topic plus its writer. It is safe for
// concurrent use.
type Ledger struct {
	cfg       Config
	client    *kafka.Client
	transport *kafka.Transport // non-nil when owned
	parts     []int            // partition ids, sorted, fixed at Open
	log       *slog.Logger

	mu       sync.RWMutex
	entries  map[string]slot
	live     int           // entries not gone
	consumed map[int]int64 // per partition: every offset below this is applied
	lastErr  map[int]error // per partition: the tail's last read error, for Sync errors
	advanced chan struct{} // closed and replaced whenever consumed moves

	cancel    context.CancelFunc
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Open ensures the ledger topic exists and is compacted, loads every partition from
// the beginning, and returns once the in-memory view has caught up with the high
// watermarks at open time. Tailing continues in the background until Close.
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
	l := &Ledger{
		cfg:      cfg,
		log:      cfg.Logger,
		entries:  make(map[string]slot),
		consumed: make(map[int]int64),
		lastErr:  make(map[int]error),
		advanced: make(chan struct{}),
		done:     make(chan struct{}),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	rt := cfg.Transport
	if rt == nil {
		l.transport = &kafka.Transport{ClientID: "callbridge-ledger", MetadataTopics: []string{cfg.Topic}}
		rt = l.transport
	}
	l.client = &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: rt}

	if err := l.open(ctx); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Ledger) open(ctx context.Context) error {
	parts, err := l.ensureTopic(ctx)
	if err != nil {
		return err
	}
	l.parts = parts
	offs, err := l.listOffsets(ctx, parts, true)
	if err != nil {
		return err
	}
	target := make(map[int]int64, len(parts))
	for _, p := range parts {
		// Everything below the log start offset is gone (or never was): nothing to wait for.
		l.consumed[p] = offs[p].FirstOffset
		target[p] = offs[p].LastOffset
	}
	tailCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:     l.cfg.Brokers,
			Topic:       l.cfg.Topic,
			Partition:   p,
			Dialer:      l.cfg.Dialer,
			MinBytes:    1,
			MaxBytes:    readerMaxBytes,
			MaxWait:     readerMaxWait,
			ErrorLogger: kafka.LoggerFunc(l.kafkaLog(p)),
		})
		l.wg.Add(1)
		go l.tail(tailCtx, p, r)
	}
	if err := l.waitFor(ctx, target); err != nil {
		return fmt.Errorf("ledger: initial load of %s: %w", l.cfg.Topic, err)
	}
	return nil
}

func (l *Ledger) kafkaLog(p int) func(string, ...any) {
	return func(msg string, args ...any) {
		l.log.Warn("ledger reader", "topic", l.cfg.Topic, "partition", p, "msg", fmt.Sprintf(msg, args...))
	}
}

// ensureTopic creates the topic if it is missing, checks it is compacted, and returns
// its partition ids.
func (l *Ledger) ensureTopic(ctx context.Context) ([]int, error) {
	topic, err := l.metadata(ctx)
	if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
		return nil, err
	}
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		res, err := l.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic:             l.cfg.Topic,
			NumPartitions:     l.cfg.Partitions,
			ReplicationFactor: l.cfg.ReplicationFactor,
			ConfigEntries:     []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}},
		}}})
		if err != nil {
			return nil, fmt.Errorf("ledger: create topic %s: %w", l.cfg.Topic, err)
		}
		// Another instance may have won the race; that is fine.
		if err := res.Errors[l.cfg.Topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return nil, fmt.Errorf("ledger: create topic %s: %w", l.cfg.Topic, err)
		}
		// The transport's metadata cache may lag the creation (always, when another
		// instance created it), so poll until the partitions show up.
		if topic, err = l.awaitTopic(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.checkCompacted(ctx); err != nil {
		return nil, err
	}
	parts := make([]int, 0, len(topic.Partitions))
	for _, p := range topic.Partitions {
		parts = append(parts, p.ID)
	}
	sort.Ints(parts)
	return parts, nil
}

func (l *Ledger) metadata(ctx context.Context) (kafka.Topic, error) {
	res, err := l.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{l.cfg.Topic}})
	if err != nil {
		return kafka.Topic{}, fmt.Errorf("ledger: metadata of %s: %w", l.cfg.Topic, err)
	}
	for _, t := range res.Topics {
		if t.Name != l.cfg.Topic {
			continue
		}
		if t.Error != nil {
			return kafka.Topic{}, fmt.Errorf("ledger: metadata of %s: %w", l.cfg.Topic, t.Error)
		}
		if len(t.Partitions) == 0 {
			return kafka.Topic{}, fmt.Errorf("ledger: metadata of %s: no partitions: %w", l.cfg.Topic, kafka.UnknownTopicOrPartition)
		}
		return t, nil
	}
	return kafka.Topic{}, fmt.Errorf("ledger: metadata of %s: %w", l.cfg.Topic, kafka.UnknownTopicOrPartition)
}

func (l *Ledger) awaitTopic(ctx context.Context) (kafka.Topic, error) {
	delay := backoffMin
	for {
		t, err := l.metadata(ctx)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
			return kafka.Topic{}, err
		}
		if !sleep(ctx, delay) {
			return kafka.Topic{}, fmt.Errorf("ledger: waiting for topic %s: %w", l.cfg.Topic, ctx.Err())
		}
		delay = min(2*delay, backoffMax)
	}
}

// checkCompacted refuses a delete-only ledger topic. A principal without
// DescribeConfigs permission cannot tell; that is logged, not fatal.
func (l *Ledger) checkCompacted(ctx context.Context) error {
	res, err := l.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic,
		ResourceName: l.cfg.Topic,
		ConfigNames:  []string{"cleanup.policy"},
	}}})
	if err == nil && len(res.Resources) == 1 {
		err = res.Resources[0].Error
	}
	if errors.Is(err, kafka.TopicAuthorizationFailed) || errors.Is(err, kafka.ClusterAuthorizationFailed) {
		l.log.Warn("ledger: cannot verify cleanup.policy of the ledger topic", "topic", l.cfg.Topic, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("ledger: describe configs of %s: %w", l.cfg.Topic, err)
	}
	for _, r := range res.Resources {
		for _, c := range r.ConfigEntries {
			if c.ConfigName == "cleanup.policy" && !strings.Contains(c.ConfigValue, "compact") {
				return fmt.Errorf("%w: %s has cleanup.policy=%s", ErrNotCompacted, l.cfg.Topic, c.ConfigValue)
			}
		}
	}
	return nil
}

// listOffsets returns the log start (if first) and high watermark of partitions.
func (l *Ledger) listOffsets(ctx context.Context, parts []int, first bool) (map[int]kafka.PartitionOffsets, error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(parts))
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
		if first {
			reqs = append(reqs, kafka.FirstOffsetOf(p))
		}
	}
	var out map[int]kafka.PartitionOffsets
	err := retry(ctx, func() error {
		res, err := l.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{l.cfg.Topic: reqs}})
		if err != nil {
			return err
		}
		out = make(map[int]kafka.PartitionOffsets, len(parts))
		for _, po := range res.Topics[l.cfg.Topic] {
			if po.Error != nil {
				return fmt.Errorf("partition %d: %w", po.Partition, po.Error)
			}
			out[po.Partition] = po
		}
		for _, p := range parts {
			if _, ok := out[p]; !ok {
				return fmt.Errorf("partition %d: missing from the response: %w", p, kafka.UnknownTopicOrPartition)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: list offsets of %s: %w", l.cfg.Topic, err)
	}
	return out, nil
}

// tail applies one partition's records in offset order until ctx ends.
func (l *Ledger) tail(ctx context.Context, p int, r *kafka.Reader) {
	defer l.wg.Done()
	defer r.Close()
	delay := backoffMin
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.mu.Lock()
			l.lastErr[p] = err
			l.mu.Unlock()
			l.log.Warn("ledger: read failed", "topic", l.cfg.Topic, "partition", p, "err", err)
			if !sleep(ctx, delay) {
				return
			}
			delay = min(2*delay, backoffMax)
			continue
		}
		delay = backoffMin
		l.apply(p, m)
	}
}

// apply folds one record read by the tail into the map. Reads come in offset order,
// but Put and Forget may already have stored something newer for the key: the
// offset comparison keeps the newest write.
func (l *Ledger) apply(p int, m kafka.Message) {
	var e Entry
	var decodeErr error
	if m.Value != nil {
		decodeErr = json.Unmarshal(m.Value, &e)
	}
	key := string(m.Key)

	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.advance(p, m.Offset+1)
	if m.Key == nil {
		return
	}
	if decodeErr != nil {
		// Keep what we had: a garbled record must not erase an entry.
		l.log.Error("ledger: undecodable entry skipped", "topic", l.cfg.Topic, "partition", p, "offset", m.Offset, "key", key, "err", decodeErr)
		return
	}
	cur, ok := l.entries[key]
	if ok && cur.off >= m.Offset {
		if cur.gone && cur.off == m.Offset {
			delete(l.entries, key) // our own Forget has come round; the marker is done
		}
		return
	}
	if m.Value == nil {
		if ok && !cur.gone {
			l.live--
		}
		delete(l.entries, key)
		return
	}
	if !ok || cur.gone {
		l.live++
	}
	l.entries[key] = slot{e: e, off: m.Offset}
}

// advance records that partition p is applied below off and wakes waiters. l.mu held.
func (l *Ledger) advance(p int, off int64) {
	if off <= l.consumed[p] {
		return
	}
	l.consumed[p] = off
	delete(l.lastErr, p)
	close(l.advanced)
	l.advanced = make(chan struct{})
}

// storeLocked makes this instance's acknowledged write at (p, off) visible at once
// (e nil: a tombstone), unless something newer for the key was applied meanwhile.
// l.mu held.
func (l *Ledger) storeLocked(p int, off int64, key string, e *Entry) {
	cur, ok := l.entries[key]
	// The tail already passed off: the map holds the write or something newer, maybe
	// a deletion, which must not be undone here.
	if l.consumed[p] > off || (ok && cur.off >= off) {
		return
	}
	if e == nil {
		if ok && !cur.gone {
			l.live--
		}
		l.entries[key] = slot{off: off, gone: true}
		return
	}
	if !ok || cur.gone {
		l.live++
	}
	l.entries[key] = slot{e: e.clone(), off: off}
}

// Get returns the entry of a command id from memory. It reflects this instance's
// own Puts at once and other instances' writes as of the last Sync (or later).
func (l *Ledger) Get(id string) (Entry, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s, ok := l.entries[id]
	if !ok || s.gone {
		return Entry{}, false
	}
	return s.e.clone(), true
}

// SettledBefore lists the ids of settled (done) commands last written before t:
// candidates for Forget once their retention has passed. Commands still in progress
// are never listed: they need resolving, not forgetting.
func (l *Ledger) SettledBefore(t time.Time) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var ids []string
	for id, s := range l.entries {
		if !s.gone && s.e.Done() && s.e.UpdatedAt.Before(t) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Len is the number of entries held (for metrics).
func (l *Ledger) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.live
}

// Put writes e (key e.CommandID), stamping UpdatedAt and Owner, and returns the entry
// as written once the brokers acknowledged it (acks=all); it is then visible to Get
// here, and to other instances after their next Sync. The last acknowledged write of
// a key wins. An error means the write may or may not have landed: do not call the
// vendor on it.
func (l *Ledger) Put(ctx context.Context, e Entry) (Entry, error) {
	if e.CommandID == "" {
		return e, errors.New("ledger: put: empty command id")
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
	p := l.partition(e.CommandID)
	off, err := l.produce(ctx, p, e.CommandID, b)
	if err != nil {
		return e, fmt.Errorf("ledger: put %s: %w", e.CommandID, err)
	}
	l.mu.Lock()
	l.storeLocked(p, off, e.CommandID, &e)
	l.mu.Unlock()
	return e, nil
}

// Forget writes a tombstone for id, so compaction drops it (retention of very old
// entries). Forgetting a command that may still be redelivered lets it run again.
func (l *Ledger) Forget(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("ledger: forget: empty command id")
	}
	if l.isClosed() {
		return ErrClosed
	}
	p := l.partition(id)
	off, err := l.produce(ctx, p, id, nil)
	if err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	l.mu.Lock()
	l.storeLocked(p, off, id, nil)
	l.mu.Unlock()
	return nil
}

// partition is where id lives: murmur2 like the Java client and librdkafka, so
// tools that produce to the ledger agree with us.
func (l *Ledger) partition(id string) int {
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(id)}, l.parts...)
}

// produce writes one record to partition p and returns its offset. A nil value is a
// tombstone. Temporary failures are retried; a duplicate from a retry is harmless
// (same value, later offset).
func (l *Ledger) produce(ctx context.Context, p int, key string, value []byte) (int64, error) {
	var off int64
	err := retry(ctx, func() error {
		rec := kafka.Record{Time: time.Now(), Key: kafka.NewBytes([]byte(key))}
		if value != nil {
			rec.Value = kafka.NewBytes(value)
		}
		res, err := l.client.Produce(ctx, &kafka.ProduceRequest{
			Topic:        l.cfg.Topic,
			Partition:    p,
			RequiredAcks: kafka.RequireAll,
			Records:      kafka.NewRecordReader(rec),
		})
		switch {
		case err != nil:
			return err
		case res.Error != nil:
			return res.Error
		}
		for _, re := range res.RecordErrors {
			return re
		}
		off = res.BaseOffset
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("produce to %s/%d: %w", l.cfg.Topic, p, err)
	}
	return off, nil
}

// Sync is a read barrier: it fetches the high watermarks of all ledger partitions
// and returns once the tail has applied everything below them. Every write any
// instance had acknowledged before Sync was called is then visible to Get. Call it
// after each consumer-group rebalance, before processing newly assigned partitions.
func (l *Ledger) Sync(ctx context.Context) error {
	if l.isClosed() {
		return ErrClosed
	}
	offs, err := l.listOffsets(ctx, l.parts, false)
	if err != nil {
		return err
	}
	target := make(map[int]int64, len(l.parts))
	for _, p := range l.parts {
		target[p] = offs[p].LastOffset
	}
	if err := l.waitFor(ctx, target); err != nil {
		return fmt.Errorf("ledger: sync: %w", err)
	}
	return nil
}

// waitFor blocks until every partition in target is applied below its offset.
func (l *Ledger) waitFor(ctx context.Context, target map[int]int64) error {
	for {
		l.mu.RLock()
		behind, at, want := -1, int64(0), int64(0)
		for p, off := range target {
			if l.consumed[p] < off {
				behind, at, want = p, l.consumed[p], off
				break
			}
		}
		ch, lastErr := l.advanced, l.lastErr[behind]
		l.mu.RUnlock()
		if behind < 0 {
			return nil
		}
		select {
		case <-ch:
		case <-l.done:
			return ErrClosed
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("partition %d at offset %d of %d (last read error: %v): %w", behind, at, want, lastErr, ctx.Err())
			}
			return fmt.Errorf("partition %d at offset %d of %d: %w", behind, at, want, ctx.Err())
		}
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

// Close stops the tail readers and waits for them. Get keeps answering from the last
// view; Put, Forget and Sync return ErrClosed.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		if l.cancel != nil {
			l.cancel()
		}
		l.wg.Wait()
		if l.transport != nil {
			l.transport.CloseIdleConnections()
		}
	})
	return nil
}

// retry runs fn until it succeeds, fails permanently, maxAttempts is reached or ctx
// ends.
func retry(ctx context.Context, fn func() error) error {
	delay := backoffMin
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || attempt >= maxAttempts || !temporary(err) {
			return err
		}
		if !sleep(ctx, delay) {
			return err
		}
		delay = min(2*delay, backoffMax)
	}
}

// temporary: broker errors Kafka marks retriable, and transport errors (connection
// refused or reset while a broker restarts).
func temporary(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
