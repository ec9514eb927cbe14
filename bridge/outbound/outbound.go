// Package outbound is the outbound half of callbridge: command CloudEvents in, one
// signed vendor call per command, a result CloudEvent out.
//
// Every command runs through one chain of small steps, listed in order in newChain
// (chain.go): deduplicate → settle → checkType → decode → validate → resolve → dispatch, which
// runs the command's saga; each vendor call in a saga is a step that is checkpointed
// in the ledger and retried (step.go). A step fails a command by returning a
// *command.Error, which settle records as the result; any other error leaves the
// command for the next run. handle publishes the recorded result.
//
// Consumption uses kafka-go's ConsumerGroup generations directly rather than a Reader
// so that the half can (1) bring the idempotency ledger up to date after every
// rebalance before touching a newly assigned partition, (2) finish the command in
// flight before giving a partition up, and (3) commit an offset only once the
// command's result is on Kafka.
package outbound

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// Config configures the outbound half. Zero values of optional fields are defaults.
type Config struct {
	// Brokers and Dialer reach the cluster (Dialer carries TLS and SASL; nil = plain).
	Brokers []string
	Dialer  *kafka.Dialer
	// Group is the consumer group id; default "callbridge".
	Group string
	// TopicPrefix is prepended to every topic name.
	TopicPrefix string
	// Accounts by name.
	Accounts map[string]*platform.Account
	// Ledger records every command's progress and result (required).
	Ledger Ledger
	// Publisher produces results and dead letters (required).
	Publisher Publisher
	// Retry shapes retries of retryable vendor failures.
	Retry RetryPolicy
	// Transport is the base HTTP transport for vendor calls; nil = http.DefaultTransport.
	Transport http.RoundTripper
	// CommandTimeout bounds one command from first to last vendor call; default 2m.
	CommandTimeout time.Duration
	// HeartbeatInterval and SessionTimeout tune group membership; defaults 1s and 10s.
	HeartbeatInterval, SessionTimeout time.Duration
	// CommitInterval is how often processed offsets are committed; default 200ms.
	CommitInterval time.Duration
	// LedgerRetention is how long settled commands are remembered; 0 is forever.
	// LedgerSweepInterval is how often older ones are forgotten; default 1h.
	LedgerRetention, LedgerSweepInterval time.Duration
	// Telemetry records spans, metrics and logs; nil records nothing.
	Telemetry *telemetry.Telemetry
	// StartOffset is where a new group starts: kafka.FirstOffset (0 means it) or kafka.LastOffset.
	StartOffset int64
	// Share divides each account's RATE_LIMIT among the live members of the
	// consumer group; Run keeps it up to date. Nil: a new one.
	Share *Share
	// Transport for group administration (TLS, SASL); nil is a plain one.
	AdminTransport kafka.RoundTripper
}

// CommandTopics are the logical topics the outbound half consumes.
var CommandTopics = []string{event.TopicTaskCreate, event.TopicCustomerImport, event.TopicCallSingle, event.TopicTaskControl,
	event.TopicTaskUpdate, event.TopicBlacklistAdd}

// Outbound consumes commands and executes them.
type Outbound struct {
	cfg     Config
	exec    Handler // the chain every command runs through (newChain)
	log     *slog.Logger
	topicOf map[string]string // physical → logical topic
	admin   *kafka.Client

	mu      sync.Mutex
	lag     map[lagKey]int64
	running bool
	state   string // what the half is doing, for readiness
}

type lagKey struct {
	topic     string
	partition int
}

// New checks cfg and builds the half; Run starts consuming.
func New(cfg Config) (*Outbound, error) {
	if cfg.Ledger == nil || cfg.Publisher == nil || len(cfg.Brokers) == 0 {
		return nil, errors.New("outbound: brokers, ledger and publisher are required")
	}
	if cfg.Group == "" {
		cfg.Group = "callbridge"
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 2 * time.Minute
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = 200 * time.Millisecond
	}
	if cfg.LedgerSweepInterval <= 0 {
		cfg.LedgerSweepInterval = time.Hour
	}
	if cfg.Share == nil {
		cfg.Share = NewShare()
	}
	o := &Outbound{cfg: cfg, log: cfg.Telemetry.Logger(), topicOf: map[string]string{}, lag: map[lagKey]int64{}, state: "joining the consumer group"}
	for _, t := range CommandTopics {
		o.topicOf[cfg.TopicPrefix+t] = t
	}
	o.exec = newChain(cfg, vendorClients(cfg))
	rt := cfg.AdminTransport
	if rt == nil {
		rt = &kafka.Transport{ClientID: "callbridge-outbound"}
	}
	o.admin = &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: rt}
	cfg.Telemetry.Meters().ObserveConsumerLag(o.consumerLag)
	return o, nil
}

func (o *Outbound) consumerLag() []telemetry.PartitionLag {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]telemetry.PartitionLag, 0, len(o.lag))
	for k, v := range o.lag {
		out = append(out, telemetry.PartitionLag{Topic: k.topic, Partition: k.partition, Lag: v})
	}
	return out
}

// State says what the half is doing: joining the group, loading the ledger
// partitions it was assigned (how far), or consuming.
func (o *Outbound) State() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state
}

func (o *Outbound) setState(s string) {
	o.mu.Lock()
	o.state = s
	o.mu.Unlock()
}

// Run consumes until ctx is done. Each generation: load the ledger partitions of the
// assigned command partitions and learn the group's members (the rate limits' share),
// then one goroutine per assigned partition processes its records in order.
func (o *Outbound) Run(ctx context.Context) error {
	topics := make([]string, 0, len(CommandTopics))
	for _, t := range CommandTopics {
		topics = append(topics, o.cfg.TopicPrefix+t)
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                o.cfg.Group,
		Brokers:           o.cfg.Brokers,
		Dialer:            o.cfg.Dialer,
		Topics:            topics,
		HeartbeatInterval: o.cfg.HeartbeatInterval,
		SessionTimeout:    o.cfg.SessionTimeout,
		RebalanceTimeout:  o.cfg.SessionTimeout,
		JoinGroupBackoff:  200 * time.Millisecond,
		StartOffset:       cmp.Or(o.cfg.StartOffset, kafka.FirstOffset),
		Timeout:           10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("outbound: consumer group: %w", err)
	}
	defer group.Close()
	if o.cfg.LedgerRetention > 0 {
		go o.sweepLedger(ctx)
	}
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			o.log.WarnContext(ctx, "consumer group", "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		o.log.InfoContext(ctx, "partitions assigned", "generation", gen.ID, "assignments", describe(gen.Assignments))
		// Another instance may have executed commands of these partitions until a
		// moment ago: load everything it recorded before processing any of them. The
		// load runs under the generation, so a rebalance interrupts it (keeping its
		// progress) instead of waiting for it.
		loaded := make(chan struct{})
		parts := ledgerPartitions(gen.Assignments)
		gen.Start(func(gctx context.Context) {
			o.learnMembers(gctx, gen)
			if o.assignLedger(gctx, parts) {
				close(loaded)
			}
			// A function given to Start that returns ends the generation: stay.
			<-gctx.Done()
		})
		for topic, ps := range gen.Assignments {
			for _, p := range ps {
				topic, p := topic, p
				gen.Start(func(gctx context.Context) {
					select {
					case <-loaded:
					case <-gctx.Done():
						return
					}
					o.consumePartition(ctx, gctx, gen, topic, p)
				})
			}
		}
	}
}

// ledgerPartitions are the ledger partitions of the assigned command partitions:
// the same numbers, whatever the topic.
func ledgerPartitions(a map[string][]kafka.PartitionAssignment) []int {
	var out []int
	for _, ps := range a {
		for _, p := range ps {
			if !slices.Contains(out, p.ID) {
				out = append(out, p.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// assignLedger retries the ledger load until it succeeds: processing a newly
// assigned partition without it could execute a command twice. False means the
// generation (or the process) ended first.
func (o *Outbound) assignLedger(gctx context.Context, parts []int) bool {
	o.setState(fmt.Sprintf("loading ledger partitions %v", parts))
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := o.cfg.Ledger.Assign(gctx, parts)
		if err == nil {
			o.setState(fmt.Sprintf("consuming (ledger partitions %v loaded)", parts))
			return true
		}
		if gctx.Err() != nil {
			return false
		}
		o.log.WarnContext(gctx, "ledger load failed; retrying before consuming", "error", err, "retry_in", wait)
		select {
		case <-gctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// learnMembers feeds the rate limits' Share with this generation's membership: the
// members sorted by id, and this instance's place among them. Without an answer the
// previous share stays.
func (o *Outbound) learnMembers(ctx context.Context, gen *kafka.Generation) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := o.admin.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{o.cfg.Group}})
	if err == nil && (len(res.Groups) != 1 || res.Groups[0].Error != nil) {
		err = fmt.Errorf("describe group %s: %v", o.cfg.Group, res.Groups)
	}
	if err != nil {
		o.log.WarnContext(ctx, "consumer group members unknown; rate limits keep their share", "error", err)
		return
	}
	ids := make([]string, 0, len(res.Groups[0].Members))
	for _, m := range res.Groups[0].Members {
		ids = append(ids, m.MemberID)
	}
	slices.Sort(ids)
	index := slices.Index(ids, gen.MemberID)
	if index < 0 {
		// Not listed yet: count ourselves in (a smaller share is the safe side).
		index, ids = len(ids), append(ids, gen.MemberID)
	}
	o.cfg.Share.Set(index, len(ids))
	o.log.InfoContext(ctx, "rate limit share", "member", index, "members", len(ids))
}

// sweepBatch is how many entries one pass of the sweep lists.
const sweepBatch = 1000

// sweepLedger forgets settled commands older than the retention, so the compacted
// ledger stays bounded. Each instance sweeps the partitions assigned to it.
func (o *Outbound) sweepLedger(ctx context.Context) {
	t := time.NewTicker(o.cfg.LedgerSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		forgotten := 0
	sweep:
		for {
			refs := o.cfg.Ledger.SettledBefore(time.Now().Add(-o.cfg.LedgerRetention), sweepBatch)
			for _, r := range refs {
				if err := o.cfg.Ledger.Forget(ctx, r.Partition, r.ID); err != nil {
					o.log.WarnContext(ctx, "ledger sweep", "error", err)
					break sweep
				}
				forgotten++
			}
			if len(refs) < sweepBatch {
				break
			}
		}
		if forgotten > 0 {
			o.log.InfoContext(ctx, "ledger sweep", "forgotten", forgotten, "retention", o.cfg.LedgerRetention.String())
		}
	}
}

func describe(a map[string][]kafka.PartitionAssignment) map[string][]int {
	out := map[string][]int{}
	for t, ps := range a {
		for _, p := range ps {
			out[t] = append(out[t], p.ID)
		}
	}
	return out
}

// consumePartition processes one partition until the generation ends. A command in
// flight when it ends is finished under the process context (not the generation's),
// so the next owner finds its result in the ledger instead of a half-done step.
func (o *Outbound) consumePartition(ctx, gctx context.Context, gen *kafka.Generation, topic string, pa kafka.PartitionAssignment) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   o.cfg.Brokers,
		Dialer:    o.cfg.Dialer,
		Topic:     topic,
		Partition: pa.ID,
		MinBytes:  1,
		MaxBytes:  10 << 20,
		MaxWait:   250 * time.Millisecond,
		// kafka-go backs off 100ms after an idle fetch by default, which would add up
		// to that much latency to the first command after a quiet moment.
		ReadBackoffMin: time.Millisecond,
		ReadBackoffMax: 100 * time.Millisecond,
	})
	defer r.Close()
	offset := pa.Offset
	if offset < 0 {
		offset = cmp.Or(o.cfg.StartOffset, kafka.FirstOffset)
	}
	if err := r.SetOffset(offset); err != nil {
		o.log.WarnContext(ctx, "set offset", "topic", topic, "partition", pa.ID, "error", err)
		return
	}

	o.consume(ctx, gctx, r, topic, pa.ID, func(next int64) error {
		return gen.CommitOffsets(map[string]map[int]int64{topic: {pa.ID: next}})
	})
}

// fetcher is what the partition loop needs from a *kafka.Reader.
type fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
}

// consume settles one partition's records in order until gctx ends or a record
// cannot be settled. commit(next) is called, every CommitInterval and on return, with
// the offset after the last record whose result (or dead letter) is on Kafka: never
// past a record that was not settled.
func (o *Outbound) consume(ctx, gctx context.Context, r fetcher, topic string, partition int, commit func(next int64) error) {
	var committed, processed int64 = -1, -1
	lastFlush := time.Now()
	flush := func() {
		lastFlush = time.Now()
		if processed > committed {
			if err := commit(processed + 1); err != nil {
				o.log.DebugContext(ctx, "commit", "topic", topic, "partition", partition, "error", err)
				return
			}
			committed = processed
		}
	}
	defer flush()

	for {
		// An idle partition waits for its next record with no timer running (most
		// partitions of most topics are idle, and a timer per partition wakes the
		// process several times a second for nothing); only an offset still to
		// commit bounds the wait, so that it is committed within CommitInterval.
		fctx, cancel := gctx, context.CancelFunc(func() {})
		if processed > committed {
			fctx, cancel = context.WithDeadline(gctx, lastFlush.Add(o.cfg.CommitInterval))
		}
		msg, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if gctx.Err() != nil || ctx.Err() != nil {
				return
			}
			if errors.Is(err, context.DeadlineExceeded) {
				flush()
				continue
			}
			o.log.WarnContext(ctx, "fetch", "topic", topic, "partition", partition, "error", err)
			select {
			case <-gctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if err := o.handle(ctx, msg); err != nil {
			// Not even a result or a dead letter could be stored: do not move past the
			// record. Stop this partition; the group will hand it out again.
			o.log.ErrorContext(ctx, "command not settled; the partition restarts from its last commit", "topic", topic, "partition", partition, "offset", msg.Offset, "error", err)
			// Returning ends the generation and the group rejoins at once; pause first
			// so an unreachable cluster is not hammered.
			select {
			case <-gctx.Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		processed = msg.Offset
		o.mu.Lock()
		o.lag[lagKey{topic, partition}] = max(0, msg.HighWaterMark-msg.Offset-1)
		o.mu.Unlock()
		// A partition that never runs dry commits as it goes.
		if time.Since(lastFlush) >= o.cfg.CommitInterval {
			flush()
		}
	}
}
