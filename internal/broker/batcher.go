package broker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Batcher produces records for many callers at once, each waiting for its own, as
// webhooks do: records queue per partition, and a partition with no produce request
// in flight sends what has queued at once, as one request, while what queues
// meanwhile goes in the next ("linger 0" in the Java client's terms). Under load the
// batches grow with the round trip; a lone record is not held for a timer.
//
// It partitions, acknowledges and retries as Producer does (murmur2 of the key, acks
// from all in-sync replicas, temporary failures retried with backoff, ProduceTimeout
// per request), one request in flight per partition so that records keep their order.
//
// kafka.Writer, which it replaces for webhooks, spends a goroutine hand-off, a batch
// timer and a few allocations per record; this spends a lock and a channel per call.
type Batcher struct {
	p        *Producer
	linger   time.Duration
	maxBytes int
	maxRecs  int

	mu     sync.Mutex
	queues map[dest]*queue
	closed bool
	// flushing counts the partitions with a produce in flight, for Close.
	flushing sync.WaitGroup
}

// queue is one partition's records waiting for its next request.
type queue struct {
	items []queued
	busy  bool // a flusher owns the partition
}

type queued struct {
	msg  kafka.Message
	size int
	call *call
}

// call is one Enqueue: done runs once each of its records has an outcome.
type call struct {
	mu   sync.Mutex
	left int
	err  error
	done func(error)
}

func (c *call) complete(n int, err error) {
	c.mu.Lock()
	if err != nil && c.err == nil {
		c.err = err
	}
	c.left -= n
	last := c.left == 0
	c.mu.Unlock()
	if last {
		c.done(c.err)
	}
}

// Batch bounds, as kafka.Writer's defaults: a produce request stays under the
// broker's default message.max.bytes (1 MiB).
const (
	batchMaxBytes   = 1 << 20
	batchMaxRecords = 100
)

// ErrClosed is returned by a Batcher's WriteMessages after Close.
var ErrClosed = errors.New("broker: producer closed")

// NewBatcher returns a Batcher over tr (a transport from cfg.Transport, which it
// shares and does not close). cfg.BatchTimeout, when positive, is how long a
// partition's first record waits for others before its request is sent.
func NewBatcher(cfg Config, tr kafka.RoundTripper) (*Batcher, error) {
	p, err := NewProducer(cfg, tr)
	if err != nil {
		return nil, err
	}
	return &Batcher{p: p, linger: cfg.BatchTimeout, maxBytes: batchMaxBytes, maxRecs: batchMaxRecords,
		queues: map[dest]*queue{}}, nil
}

// WriteMessages queues msgs (each naming its topic) and returns once every one is
// acknowledged, or with the first error. When ctx ends first it returns ctx's error
// and the records are still produced, as with kafka.Writer.
func (b *Batcher) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	res := make(chan error, 1)
	b.Enqueue(ctx, msgs, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Enqueue queues msgs (each naming its topic, at least one) and returns at once; done
// runs once every record is acknowledged, or failed, with nil or the first error. It
// runs on the Batcher's goroutine (or on the caller's, when msgs cannot be queued),
// so it must be quick: a caller that waits for many writes at once is spared a
// goroutine per write. ctx bounds only the lookup of a topic's partitions.
func (b *Batcher) Enqueue(ctx context.Context, msgs []kafka.Message, done func(error)) {
	c := &call{left: len(msgs), done: done}
	now := time.Now()
	for i, m := range msgs {
		d, err := b.p.route(ctx, m)
		if err != nil {
			c.complete(len(msgs)-i, err)
			break
		}
		if m.Time.IsZero() {
			m.Time = now
		}
		it := queued{msg: m, size: len(m.Key) + len(m.Value), call: c}
		for _, h := range m.Headers {
			it.size += len(h.Key) + len(h.Value)
		}
		if !b.enqueue(d, it) {
			c.complete(len(msgs)-i, ErrClosed)
			break
		}
	}
}

// enqueue adds it to d's queue and starts a flusher when the partition has none.
func (b *Batcher) enqueue(d dest, it queued) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	q := b.queues[d]
	if q == nil {
		q = &queue{}
		b.queues[d] = q
	}
	q.items = append(q.items, it)
	if !q.busy {
		q.busy = true
		b.flushing.Add(1)
		go b.flush(d, q)
	}
	return true
}

// flush sends d's queue, a batch per request, until it is empty.
func (b *Batcher) flush(d dest, q *queue) {
	defer b.flushing.Done()
	if b.linger > 0 {
		time.Sleep(b.linger)
	}
	var (
		batch []queued
		msgs  []kafka.Message
	)
	for {
		b.mu.Lock()
		batch = b.take(q, batch[:0])
		if len(batch) == 0 {
			q.busy = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		msgs = msgs[:0]
		for _, it := range batch {
			msgs = append(msgs, it.msg)
		}
		err := b.p.produce(context.Background(), d.topic, d.partition, msgs)
		for _, it := range batch {
			it.call.complete(1, err)
		}
		clear(batch)
		clear(msgs)
	}
}

// take moves the next batch from q to batch: at least one record, then as many as
// fit the bounds. Called with b.mu held.
func (b *Batcher) take(q *queue, batch []queued) []queued {
	n, size := 0, 0
	for n < len(q.items) && n < b.maxRecs {
		if n > 0 && size+q.items[n].size > b.maxBytes {
			break
		}
		size += q.items[n].size
		n++
	}
	batch = append(batch, q.items[:n]...)
	rest := copy(q.items, q.items[n:])
	clear(q.items[rest:])
	q.items = q.items[:rest]
	if rest == 0 && cap(q.items) > 4*b.maxRecs {
		q.items = nil // what a backlog grew is not kept once it drained
	}
	return batch
}

// Close refuses new records and waits until every queued one has its outcome.
func (b *Batcher) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.flushing.Wait()
	return nil
}
