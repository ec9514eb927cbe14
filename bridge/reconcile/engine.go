package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/internal/vendorhttp"
)

// TopicSpec is the progress topic as bridge.Topics creates it: compacted, one record
// per account survives.
func TopicSpec(prefix string, partitions, replication int) broker.TopicSpec {
	return broker.TopicSpec{Name: prefix + event.TopicReconcile, Partitions: partitions, ReplicationFactor: replication,
		Configs: map[string]string{"cleanup.policy": "compact"}}
}

// Progress is one account's record on the progress topic (key: the account name).
type Progress struct {
	Account string `json:"account"`
	// From and To are the window of the current sweep, or of the last one when Done.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Cursor is the vendor's cursor of the next page to read; "" the first.
	Cursor string `json:"cursor,omitempty"`
	// Done says the sweep of [From, To) completed.
	Done bool `json:"done"`
	// LastSuccess is when a sweep of the account last completed.
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// Published and AlreadyPublished count the calls of the current sweep so far.
	Published        int `json:"published"`
	AlreadyPublished int `json:"alreadyPublished"`
	// Owner is the instance that wrote the record, for operators.
	Owner string `json:"owner,omitempty"`
}

// Config configures the Engine. Zero values of optional fields are defaults.
type Config struct {
	// Brokers, Dialer (readers, group) and Transport (progress writer) reach the cluster.
	Brokers   []string
	Dialer    *kafka.Dialer
	Transport *kafka.Transport
	// TopicPrefix is CALLBRIDGE_TOPIC_PREFIX.
	TopicPrefix string
	// Group is the consumer group that divides accounts among instances; default
	// "callbridge-reconcile".
	Group string
	// Accounts are the accounts to reconcile; those with ReconcileInterval 0 are skipped.
	Accounts []*platform.Account
	// Listers, if set, are the accounts' call listers by name (tests); otherwise each is
	// the account's vendor client on VendorTransport, through vendorhttp (telemetry and
	// the account's shared rate limit).
	Listers         map[string]platform.CallLister
	VendorTransport http.RoundTripper
	// Publisher produces recovered calls (required).
	Publisher Publisher
	// Settle leaves calls that ended in the last Settle to their webhooks, which are
	// usually on their way; default 5m.
	Settle time.Duration
	// RetryWait is the wait before a failed sweep is resumed; default the smaller of
	// the account's interval and 1m.
	RetryWait time.Duration
	// HeartbeatInterval and SessionTimeout tune group membership; defaults 1s and 10s.
	HeartbeatInterval, SessionTimeout time.Duration
	// InstanceID names this process in progress records.
	InstanceID string
	// Telemetry records metrics and logs; nil records nothing.
	Telemetry *telemetry.Telemetry
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Engine sweeps every configured account each RECONCILE_INTERVAL.
//
// Progress lives on the compacted topic callbridge.reconcile, one record per account
// keyed by its name, written after every page: the window being swept and the
// vendor's cursor of the next page. A restart (or another instance taking over) reads
// it back and resumes the same window at that cursor, so nothing is skipped; the page
// that was published but not yet checkpointed is listed again, and its calls are found
// on call.finished (Published), so nothing is repeated.
//
// One sweeper per account: the instances join the consumer group Group on the
// progress topic, and an instance sweeps exactly the accounts whose progress records
// hash (murmur2, like the Java client's keys) to partitions assigned to it. Kafka's
// group protocol gives each partition to one member at a time, and kafka-go ends a
// generation only after its goroutines return, so two instances never sweep one
// account together, and adding instances divides the accounts among them. The owner
// of a partition is also the only writer of its records, and it reads the partition
// back on assignment, as a Kafka Streams task restores its store from its changelog.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	accounts  map[string]*platform.Account
	listers   map[string]platform.CallLister
	published *Published
	writer    *kafka.Writer
	topic     string
	lookback  time.Duration // the widest of the accounts'
}

// New checks cfg; Run starts sweeping. Accounts whose vendor cannot list calls are
// logged and left out.
func New(cfg Config) (*Engine, error) {
	if len(cfg.Brokers) == 0 || cfg.Publisher == nil {
		return nil, errors.New("reconcile: brokers and a publisher are required")
	}
	if cfg.Group == "" {
		cfg.Group = "callbridge-reconcile"
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Minute
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Engine{cfg: cfg, log: cfg.Telemetry.Logger(), accounts: map[string]*platform.Account{}, listers: map[string]platform.CallLister{},
		topic: cfg.TopicPrefix + event.TopicReconcile}
	var names []string
	for _, a := range cfg.Accounts {
		if a.ReconcileInterval <= 0 {
			continue
		}
		l := cfg.Listers[a.Name]
		if l == nil {
			c, err := vendorhttp.Client(cfg.VendorTransport, a, cfg.Telemetry)
			if err != nil {
				return nil, err
			}
			var ok bool
			if l, ok = c.(platform.CallLister); !ok {
				e.log.Warn("reconciliation is configured but the vendor cannot list calls; account left out", "account", a.Name, "vendor", a.Vendor)
				continue
			}
		}
		e.accounts[a.Name], e.listers[a.Name] = a, l
		e.lookback = max(e.lookback, lookbackOf(a))
		names = append(names, a.Name)
	}
	e.published = &Published{Dialer: cfg.Dialer, Brokers: cfg.Brokers, Topic: cfg.TopicPrefix + event.TopicCallFinished, Accounts: names}
	e.writer = &kafka.Writer{Addr: kafka.TCP(cfg.Brokers...), Topic: e.topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	if cfg.Transport != nil { // a nil *kafka.Transport in the interface would not mean the default
		e.writer.Transport = cfg.Transport
	}
	return e, nil
}

// Accounts is how many accounts the engine reconciles.
func (e *Engine) Accounts() int { return len(e.accounts) }

// Close releases the progress writer.
func (e *Engine) Close() error { return e.writer.Close() }

// Run takes part in the group until ctx is done, sweeping the accounts of the
// partitions assigned to this instance.
func (e *Engine) Run(ctx context.Context) error {
	if len(e.accounts) == 0 {
		<-ctx.Done()
		return nil
	}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: e.cfg.Group, Brokers: e.cfg.Brokers, Dialer: e.cfg.Dialer, Topics: []string{e.topic},
		HeartbeatInterval: e.cfg.HeartbeatInterval, SessionTimeout: e.cfg.SessionTimeout, RebalanceTimeout: e.cfg.SessionTimeout,
		JoinGroupBackoff: 200 * time.Millisecond, Timeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("reconcile: consumer group: %w", err)
	}
	defer group.Close()
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.WarnContext(ctx, "reconcile: consumer group", "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		n, err := e.partitions(ctx)
		for wait := 100 * time.Millisecond; err != nil; wait = min(2*wait, 5*time.Second) {
			e.log.WarnContext(ctx, "reconcile: partitions of the progress topic", "error", err, "retry_in", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			n, err = e.partitions(ctx)
		}
		for _, pa := range gen.Assignments[e.topic] {
			var mine []string
			for name := range e.accounts {
				if PartitionOf(name, n) == pa.ID {
					mine = append(mine, name)
				}
			}
			if len(mine) == 0 {
				continue
			}
			gen.Start(func(gctx context.Context) { e.own(gctx, pa.ID, mine) })
		}
	}
}

// PartitionOf is the progress partition of account among n: where the writer's
// murmur2 balancer puts its records.
func PartitionOf(account string, n int) int {
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i
	}
	return (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(account)}, ps...)
}

func (e *Engine) partitions(ctx context.Context) (int, error) {
	dialer := e.cfg.Dialer
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	conn, err := dialer.DialContext(ctx, "tcp", e.cfg.Brokers[0])
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions(e.topic)
	if err != nil {
		return 0, err
	}
	return len(ps), nil
}

// own sweeps accounts (all of partition p) until the generation ends.
func (e *Engine) own(ctx context.Context, p int, accounts []string) {
	var progress map[string]Progress
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		var err error
		if progress, err = e.load(ctx, p); err == nil {
			break
		}
		e.log.WarnContext(ctx, "reconcile: read progress", "partition", p, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	var wg sync.WaitGroup
	for _, name := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runAccount(ctx, e.accounts[name], progress[name])
		}()
	}
	wg.Wait()
}

// load reads partition p of the progress topic: the latest record of each account.
func (e *Engine) load(ctx context.Context, p int) (map[string]Progress, error) {
	dialer := e.cfg.Dialer
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	conn, err := dialer.DialLeader(ctx, "tcp", e.cfg.Brokers[0], e.topic, p)
	if err != nil {
		return nil, err
	}
	lo, hi, err := conn.ReadOffsets()
	conn.Close()
	if err != nil {
		return nil, err
	}
	out := map[string]Progress{}
	if hi <= lo {
		return out, nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: e.cfg.Brokers, Dialer: dialer, Topic: e.topic, Partition: p,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(lo); err != nil {
		return nil, err
	}
	for off := lo; off < hi; {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return nil, err
		}
		off = m.Offset + 1
		if m.Value == nil {
			delete(out, string(m.Key))
			continue
		}
		var pr Progress
		if err := json.Unmarshal(m.Value, &pr); err != nil {
			e.log.WarnContext(ctx, "reconcile: unreadable progress record ignored", "account", string(m.Key), "error", err)
			continue
		}
		out[string(m.Key)] = pr
	}
	return out, nil
}

func (e *Engine) save(ctx context.Context, pr Progress) error {
	pr.Owner = e.cfg.InstanceID
	b, err := json.Marshal(pr)
	if err != nil {
		return err
	}
	if err := e.writer.WriteMessages(ctx, kafka.Message{Key: []byte(pr.Account), Value: b}); err != nil {
		return fmt.Errorf("reconcile: save progress of %s: %w", pr.Account, err)
	}
	return nil
}

// runAccount sweeps one account every interval until ctx ends, starting with the
// unfinished sweep pr records, if any.
func (e *Engine) runAccount(ctx context.Context, acct *platform.Account, pr Progress) {
	m := e.cfg.Telemetry.Meters()
	pr.Account = acct.Name
	if !pr.LastSuccess.IsZero() {
		m.ReconcileSucceeded(ctx, acct.Name, pr.LastSuccess)
	}
	lookback := lookbackOf(acct)
	retry := e.cfg.RetryWait
	if retry <= 0 {
		retry = min(acct.ReconcileInterval, time.Minute)
	}
	for {
		if pr.Done || pr.From.IsZero() {
			// The next sweep is due an interval after the last one completed.
			if !pr.LastSuccess.IsZero() {
				if !sleep(ctx, pr.LastSuccess.Add(acct.ReconcileInterval).Sub(e.cfg.Now())) {
					return
				}
			}
			now := e.cfg.Now()
			pr = Progress{Account: acct.Name, From: now.Add(-lookback), To: now.Add(-e.cfg.Settle), LastSuccess: pr.LastSuccess}
			if err := e.save(ctx, pr); err != nil {
				e.log.WarnContext(ctx, "reconcile: sweep not started", "account", acct.Name, "error", err)
				pr = Progress{Account: acct.Name, Done: true, LastSuccess: pr.LastSuccess}
				if !sleep(ctx, retry) {
					return
				}
				continue
			}
		}
		err := e.sweep(ctx, acct, &pr)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.log.WarnContext(ctx, "reconcile: sweep failed; resuming later", "account", acct.Name, "error", err, "retry_in", retry)
			if !sleep(ctx, retry) {
				return
			}
			continue
		}
		m.ReconcileSucceeded(ctx, acct.Name, pr.LastSuccess)
		e.log.InfoContext(ctx, "reconcile: sweep done", "account", acct.Name, "from", pr.From, "to", pr.To,
			"published", pr.Published, "already_published", pr.AlreadyPublished)
	}
}

// sweep runs (or resumes) the sweep pr describes, checkpointing after each page.
func (e *Engine) sweep(ctx context.Context, acct *platform.Account, pr *Progress) error {
	// One index serves every account: refresh it for the widest window of them all,
	// which covers this sweep's, so that no account's refresh drops another's ids.
	from := e.cfg.Now().Add(-e.lookback)
	if pr.From.Before(from) {
		from = pr.From // a resumed sweep of an older window
	}
	if err := e.published.Refresh(ctx, from); err != nil {
		return err
	}
	base := Counts{Published: pr.Published, AlreadyPublished: pr.AlreadyPublished}
	s := &Sweep{Account: acct, Lister: e.listers[acct.Name], Published: e.published, Publisher: e.cfg.Publisher, Telemetry: e.cfg.Telemetry,
		Checkpoint: func(ctx context.Context, next string, c Counts) error {
			cp := *pr
			cp.Cursor = next
			cp.Published, cp.AlreadyPublished = base.Published+c.Published, base.AlreadyPublished+c.AlreadyPublished
			if next == "" { // the last page: the sweep is done with it
				cp.Done, cp.LastSuccess = true, e.cfg.Now()
			}
			if err := e.save(ctx, cp); err != nil {
				return err
			}
			*pr = cp
			return nil
		}}
	_, err := s.Run(ctx, pr.From, pr.To, pr.Cursor)
	return err
}

// lookbackOf is the account's RECONCILE_LOOKBACK, 48h by default.
func lookbackOf(a *platform.Account) time.Duration {
	if a.ReconcileLookback > 0 {
		return a.ReconcileLookback
	}
	return 48 * time.Hour
}

// sleep waits d (nothing when d ≤ 0); false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
