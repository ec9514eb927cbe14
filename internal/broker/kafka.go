package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Dialer returns a kafka-go Dialer (for kafka.Reader and direct connections) that
// uses the configured client id, TLS and SASL.
func (c Config) Dialer() (*kafka.Dialer, error) {
	tc, mech, err := c.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       DefaultDialTimeout,
		DualStack:     true,
		TLS:           tc,
		SASLMechanism: mech,
	}, nil
}

// Transport returns a kafka-go Transport (for kafka.Writer and kafka.Client) that
// uses the configured client id, TLS and SASL.
func (c Config) Transport() (*kafka.Transport, error) {
	tc, mech, err := c.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		ClientID:    c.clientID(),
		DialTimeout: DefaultDialTimeout,
		TLS:         tc,
		SASL:        mech,
	}, nil
}

// security builds the TLS config and SASL mechanism both client kinds share.
func (c Config) security() (*tls.Config, sasl.Mechanism, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	mech, err := c.SASLMechanism()
	if err != nil {
		return nil, nil, err
	}
	return tc, mech, nil
}

// NewWriter returns the writer every producer of the product uses. It has no fixed
// topic (each message names its own), waits for acks from all in-sync replicas,
// partitions by murmur2 of the key exactly as the Java client and librdkafka do
// (so keyed records from any client land on the same partition), never creates
// topics implicitly, and bounds each produce request by ProduceTimeout.
// Release it with CloseWriter: kafka.Writer.Close leaves a transport it did not
// create open.
func NewWriter(cfg Config) (*kafka.Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.Transport()
	if err != nil {
		return nil, err
	}
	codec, _ := cfg.compression() // checked by Validate
	return &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           cfg.batchTimeout(),
		WriteTimeout:           cfg.produceTimeout(),
		Compression:            codec,
		Transport:              tr,
		AllowAutoTopicCreation: false,
	}, nil
}

// CloseWriter flushes and closes w and releases its transport's connections.
func CloseWriter(w *kafka.Writer) error {
	err := w.Close()
	if t, ok := w.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// TopicSpec describes a topic EnsureTopics creates when it is missing.
type TopicSpec struct {
	// Name is the full topic name (prefix included).
	Name string
	// Partitions is the partition count; default 3.
	Partitions int
	// ReplicationFactor is the replica count; default -1, the broker's default.
	ReplicationFactor int
	// Configs are topic config entries, e.g. {"cleanup.policy": "compact"}.
	Configs map[string]string
}

// DefaultPartitions is the partition count of topics created without one.
const DefaultPartitions = 3

// EnsureTopics creates the topics that do not exist yet. Topics that already exist
// are left as they are (their partitions and configs are not changed).
func EnsureTopics(ctx context.Context, cfg Config, topics []TopicSpec) error {
	if len(topics) == 0 {
		return nil
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	tr, err := cfg.Transport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()

	req := &kafka.CreateTopicsRequest{Topics: make([]kafka.TopicConfig, 0, len(topics))}
	for _, t := range topics {
		if t.Name == "" {
			return errors.New("ensure topics: empty topic name")
		}
		tc := kafka.TopicConfig{
			Topic:             t.Name,
			NumPartitions:     t.Partitions,
			ReplicationFactor: t.ReplicationFactor,
		}
		if tc.NumPartitions <= 0 {
			tc.NumPartitions = DefaultPartitions
		}
		if tc.ReplicationFactor == 0 {
			tc.ReplicationFactor = -1
		}
		for k, v := range t.Configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
	}

	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: cfg.produceTimeout()}
	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		// kafka-go reports a broker it cannot connect to as "[8] Broker Not
		// Available", hiding the cause; a ping names each address and why.
		if perr := Ping(ctx, cfg); perr != nil && ctx.Err() == nil {
			return fmt.Errorf("ensure topics: %w", perr)
		}
		return fmt.Errorf("ensure topics: %w", err)
	}
	var errs []error
	for _, t := range req.Topics {
		if e := resp.Errors[t.Topic]; e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", t.Topic, e))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ensure topics: %w", errors.Join(errs...))
	}
	return nil
}

// Ping proves the cluster is reachable and accepts our credentials: it connects to
// the bootstrap brokers in turn and returns nil as soon as one answers a metadata
// request (for no topics, so it stays cheap on large clusters). Without a deadline
// on ctx, ProduceTimeout bounds it.
func Ping(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	d, err := cfg.Dialer()
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.produceTimeout())
		defer cancel()
	}
	var errs []error
	for _, addr := range cfg.Brokers {
		err := pingOne(ctx, d, addr)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("kafka unreachable: %w", errors.Join(errs...))
}

func pingOne(ctx context.Context, d *kafka.Dialer, addr string) error {
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		// kafka-go wraps the dial error twice, naming the address each time; the
		// caller names it once: keep the cause ("connect: connection refused",
		// "lookup …: no such host", "i/o timeout").
		if op := (*net.OpError)(nil); errors.As(err, &op) && op.Err != nil {
			return op.Err
		}
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// Conn ignores ctx after the dial; a past deadline on cancellation unblocks the read.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err = conn.Brokers()
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}
