package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Producer writes records the way NewWriter's writer does (murmur2 partitioning of
// the key, acks from all in-sync replicas, no implicit topic creation, ProduceTimeout
// per request) but sends each WriteMessages call at once, as one produce request per
// partition from the caller's goroutine, instead of queueing it for a batch.
//
// It suits a caller that writes one record and waits for it before the next, as the
// outbound half does with each command's result: kafka.Writer would hold such a record
// for its BatchTimeout and hand it through two goroutines of its own, a timer and a
// thread wake-up per record that an instance with little else to do pays in full.
// Webhooks, many in flight at once, keep the batching writer.
type Producer struct {
	client   *kafka.Client
	codec    kafka.Compression
	timeout  time.Duration
	balancer kafka.Murmur2Balancer

	mu    sync.Mutex
	parts map[string][]int // partition ids by topic, as the cluster last said
}

// Producer attempts: a temporary failure (leader moving, broker restarting) is
// retried with backoff, as kafka.Writer does.
const (
	producerAttempts   = 10
	producerBackoffMin = 100 * time.Millisecond
	producerBackoffMax = time.Second
)

// NewProducer returns a Producer over tr (a transport from cfg.Transport, which it
// shares and does not close).
func NewProducer(cfg Config, tr kafka.RoundTripper) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, _ := cfg.compression() // checked by Validate
	return &Producer{
		client:  &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: cfg.produceTimeout()},
		codec:   codec,
		timeout: cfg.produceTimeout(),
		parts:   map[string][]int{},
	}, nil
}

// WriteMessages produces msgs (each naming its topic) and returns once every one is
// acknowledged, or with the first error; records of one partition keep their order.
func (p *Producer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	var order []dest
	byDest := map[dest][]kafka.Message{}
	now := time.Now()
	for _, m := range msgs {
		d, err := p.route(ctx, m)
		if err != nil {
			return err
		}
		if _, ok := byDest[d]; !ok {
			order = append(order, d)
		}
		if m.Time.IsZero() {
			m.Time = now
		}
		byDest[d] = append(byDest[d], m)
	}
	for _, d := range order {
		if err := p.produce(ctx, d.topic, d.partition, byDest[d]); err != nil {
			return err
		}
	}
	return nil
}

// dest is a topic's partition.
type dest struct {
	topic     string
	partition int
}

// route returns the partition m goes to: murmur2 of its key over its topic's
// partitions, as kafka.Writer and the Java client place it.
func (p *Producer) route(ctx context.Context, m kafka.Message) (dest, error) {
	parts, err := p.partitions(ctx, m.Topic)
	if err != nil {
		return dest{}, err
	}
	return dest{m.Topic, p.balancer.Balance(m, parts...)}, nil
}

func bytesOrNil(b []byte) kafka.Bytes {
	if b == nil {
		return nil
	}
	return kafka.NewBytes(b)
}

// produce sends msgs (their Time set) to one partition, retrying temporary failures.
func (p *Producer) produce(ctx context.Context, topic string, partition int, msgs []kafka.Message) error {
	recs := make([]kafka.Record, len(msgs))
	delay := producerBackoffMin
	for attempt := 1; ; attempt++ {
		// Afresh for every attempt: an attempt reads the records' keys and values.
		for i, m := range msgs {
			recs[i] = kafka.Record{Time: m.Time, Key: bytesOrNil(m.Key), Value: bytesOrNil(m.Value), Headers: m.Headers}
		}
		err := p.produceOnce(ctx, topic, partition, recs)
		if err == nil {
			return nil
		}
		if errors.Is(err, kafka.UnknownTopicOrPartition) {
			p.forget(topic) // the partitions may have changed: ask again next time
		}
		var ke kafka.Error
		temporary := !errors.As(err, &ke) || ke.Temporary()
		if ctx.Err() != nil || attempt >= producerAttempts || !temporary {
			return fmt.Errorf("produce to %s/%d: %w", topic, partition, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("produce to %s/%d: %w", topic, partition, err)
		case <-t.C:
		}
		delay = min(2*delay, producerBackoffMax)
	}
}

func (p *Producer) produceOnce(ctx context.Context, topic string, partition int, recs []kafka.Record) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res, err := p.client.Produce(ctx, &kafka.ProduceRequest{
		Topic: topic, Partition: partition, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(recs...), Compression: p.codec,
	})
	switch {
	case err != nil:
		return err
	case res.Error != nil:
		return res.Error
	}
	for _, err := range res.RecordErrors {
		return err
	}
	return nil
}

// partitions returns topic's partition ids, asking the cluster (the transport's
// metadata cache) only the first time.
func (p *Producer) partitions(ctx context.Context, topic string) ([]int, error) {
	p.mu.Lock()
	ids, ok := p.parts[topic]
	p.mu.Unlock()
	if ok {
		return ids, nil
	}
	res, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("produce to %s: metadata: %w", topic, err)
	}
	for _, t := range res.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("produce to %s: %w", topic, t.Error)
		}
		for _, pt := range t.Partitions {
			ids = append(ids, pt.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("produce to %s: %w", topic, kafka.UnknownTopicOrPartition)
	}
	slices.Sort(ids) // the ids are 0…n-1, the list kafka.Writer balances over

	p.mu.Lock()
	p.parts[topic] = ids
	p.mu.Unlock()
	return ids, nil
}

func (p *Producer) forget(topic string) {
	p.mu.Lock()
	delete(p.parts, topic)
	p.mu.Unlock()
}
