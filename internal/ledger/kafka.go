package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

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

// retry runs fn until it succeeds, fails permanently, maxAttempts is reached or ctx
// ends.
func retry(ctx context.Context, fn func() error) error {
	delay := backoffMin
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return withCause(ctx, err)
		}
		if attempt >= maxAttempts || !temporary(err) {
			return err
		}
		if !sleep(ctx, delay) {
			return withCause(ctx, err)
		}
		delay = min(2*delay, backoffMax)
	}
}

// withCause makes err, which ended with ctx, say so: kafka-go reports a request
// cancelled before it was sent as a broker error of a partition ("unknown server
// error"), which callers could not tell from a broker's.
func withCause(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
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
