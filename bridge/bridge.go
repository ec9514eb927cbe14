// Package bridge wires the two halves of callbridge into one process: the HTTP
// server (webhooks, health, metrics), the Kafka producer, the idempotency ledger and
// the command consumer.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge/inbound"
	"github.com/callbridge/callbridge/bridge/outbound"
	"github.com/callbridge/callbridge/bridge/reconcile"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/idleconns"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"

	// The vendors; adding one is one more line here.
	_ "github.com/callbridge/callbridge/internal/platform/byai"
	_ "github.com/callbridge/callbridge/internal/platform/yiwise"
)

// Options are what a process adds to the configuration.
type Options struct {
	// Telemetry records spans, metrics and logs; nil records nothing.
	Telemetry *telemetry.Telemetry
	// VendorTransport is the base transport for vendor API calls; nil is the default.
	VendorTransport http.RoundTripper
	// ValidateEvents checks every produced event against its schema, whatever
	// CALLBRIDGE_VALIDATE_EVENTS says (tests and dev turn it on).
	ValidateEvents bool
	// InstanceID names this process in the ledger; default host name and pid.
	InstanceID string
	// ReconcileSettle leaves calls that ended this recently to their webhooks; 0 is the
	// reconciler's default (5m). The dev demo, whose calls take a moment, shortens it.
	ReconcileSettle time.Duration
}

// Bridge is one running callbridge process.
type Bridge struct {
	cfg             *config.Config
	opts            Options
	kafka           broker.Config
	log             *slog.Logger
	writer          *broker.Batcher
	writerTransport *kafka.Transport
	pub             *publish.Publisher
	ledger          *ledger.Ledger
	// dialer and transport serve the ledger, the results producer, topic admin and
	// reconciliation: one connection pool for all of them, closed in Close.
	dialer    *kafka.Dialer
	transport *kafka.Transport
	out       *outbound.Outbound
	rec       *reconcile.Engine
	handler   http.Handler
	inbound   *inbound.Handler
	accounts  map[string]*platform.Account
}

// BrokerConfig maps the configuration to the Kafka client settings.
func BrokerConfig(c *config.Config) broker.Config {
	k := c.Kafka
	return broker.Config{
		Brokers:  k.Brokers,
		ClientID: k.ClientID,
		TLS: broker.TLS{Enabled: k.TLSEnabled, CAFile: k.TLSCAFile, CertFile: k.TLSCertFile,
			KeyFile: k.TLSKeyFile, InsecureSkipVerify: k.TLSInsecureSkipVerify},
		SASL:           broker.SASL{Mechanism: k.SASLMechanism, Username: k.SASLUsername, Password: k.SASLPassword.Reveal()},
		Compression:    k.Compression,
		ProduceTimeout: k.ProduceTimeout,
		BatchTimeout:   k.BatchTimeout,
	}
}

// Topics lists every topic the bridge uses, with their creation settings.
func Topics(c *config.Config) []broker.TopicSpec {
	names := []string{event.TopicCallFinished, event.TopicTaskStatus, event.TopicIntentChanged,
		event.TopicSMSSent, event.TopicTaskCreate, event.TopicCustomerImport, event.TopicCallSingle, event.TopicTaskControl,
		event.TopicTaskUpdate, event.TopicBlacklistAdd,
		event.TopicCommandResult, event.TopicDLQ}
	specs := make([]broker.TopicSpec, 0, len(names))
	for _, n := range names {
		specs = append(specs, broker.TopicSpec{Name: c.TopicPrefix + n, Partitions: c.Kafka.Partitions, ReplicationFactor: c.Kafka.ReplicationFactor})
	}
	specs = append(specs, reconcile.TopicSpec(c.TopicPrefix, c.Kafka.Partitions, c.Kafka.ReplicationFactor))
	return specs
}

// New connects to Kafka, creates missing topics, opens the ledger (outbound) and
// builds the HTTP handler. It fails when Kafka cannot be reached.
func New(ctx context.Context, c *config.Config, opts Options) (*Bridge, error) {
	b := &Bridge{cfg: c, opts: opts, kafka: BrokerConfig(c), log: opts.Telemetry.Logger(), accounts: map[string]*platform.Account{}}
	for i := range c.Accounts {
		b.accounts[c.Accounts[i].Name] = &c.Accounts[i]
	}
	if opts.InstanceID == "" {
		host, _ := os.Hostname()
		b.opts.InstanceID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if err := b.kafka.Validate(); err != nil {
		return nil, err
	}
	if c.Kafka.CreateTopics {
		if err := broker.EnsureTopics(ctx, b.kafka, Topics(c)); err != nil {
			return nil, fmt.Errorf("bridge: create topics: %w", err)
		}
	}
	// Webhooks and dead letters: many callers at once, each waiting for its records.
	tr, err := b.kafka.Transport()
	if err != nil {
		return nil, err
	}
	w, err := broker.NewBatcher(b.kafka, tr)
	if err != nil {
		return nil, err
	}
	b.writer, b.writerTransport = w, tr
	pol, err := privacy.New(privacy.Mode(c.PhonePrivacy), []byte(c.PhoneHashKey.Reveal()))
	if err != nil {
		return nil, err
	}
	b.pub = &publish.Publisher{Writer: w, TopicPrefix: c.TopicPrefix, Privacy: pol, OmitRaw: !c.IncludeRaw,
		Validate: opts.ValidateEvents || c.ValidateEvents, Telemetry: opts.Telemetry}

	mux := http.NewServeMux()
	if c.InboundEnabled {
		b.inbound = &inbound.Handler{Accounts: b.accounts, Publisher: b.pub, MaxBodyBytes: c.WebhookMaxBytes,
			ProduceTimeout: c.Kafka.ProduceTimeout, TrustedProxies: c.TrustedProxies, Telemetry: opts.Telemetry,
			MaxInflight: c.WebhookMaxInflight}
		b.inbound.Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /readyz", b.ready)
	mux.Handle("GET /metrics", opts.Telemetry.MetricsHandler())
	b.handler = mux

	if c.OutboundEnabled {
		if err := b.openOutbound(ctx); err != nil {
			b.closeWriter()
			return nil, err
		}
	}
	if err := b.openReconcile(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// openReconcile starts reconciliation when an account has RECONCILE_INTERVAL > 0.
func (b *Bridge) openReconcile() error {
	var accts []*platform.Account
	for _, a := range b.accounts {
		if a.ReconcileInterval > 0 {
			accts = append(accts, a)
		}
	}
	if len(accts) == 0 {
		return nil
	}
	dialer, transport, err := b.kafkaClients()
	if err != nil {
		return err
	}
	b.rec, err = reconcile.New(reconcile.Config{Brokers: b.kafka.Brokers, Dialer: dialer, Transport: transport,
		TopicPrefix: b.cfg.TopicPrefix, Group: b.cfg.ConsumerGroup + "-reconcile", Accounts: accts,
		VendorTransport: b.opts.VendorTransport, Publisher: b.pub, InstanceID: b.opts.InstanceID, Telemetry: b.opts.Telemetry,
		Settle: b.opts.ReconcileSettle})
	return err
}

// kafkaClients builds the dialer and transport of the outbound side once, for all
// that share them.
func (b *Bridge) kafkaClients() (*kafka.Dialer, *kafka.Transport, error) {
	if b.transport != nil {
		return b.dialer, b.transport, nil
	}
	dialer, err := b.kafka.Dialer()
	if err != nil {
		return nil, nil, err
	}
	transport, err := b.kafka.Transport()
	if err != nil {
		return nil, nil, err
	}
	b.dialer, b.transport = dialer, transport
	return dialer, transport, nil
}

func (b *Bridge) openOutbound(ctx context.Context) error {
	dialer, transport, err := b.kafkaClients()
	if err != nil {
		return err
	}
	l, err := ledger.Open(ctx, ledger.Config{Brokers: b.kafka.Brokers, Topic: b.cfg.TopicPrefix + event.TopicLedger,
		Partitions: b.cfg.Kafka.Partitions, ReplicationFactor: b.cfg.Kafka.ReplicationFactor, Dir: b.cfg.LedgerDir,
		Dialer: dialer, Transport: transport, InstanceID: b.opts.InstanceID, Logger: b.log})
	if err != nil {
		return fmt.Errorf("bridge: open ledger: %w", err)
	}
	b.ledger = l
	b.opts.Telemetry.Meters().ObserveLedgerSize(func() int64 { return int64(l.Len()) })
	// Results go out one at a time, each awaited before the command's offset moves:
	// produced at once rather than through the webhooks' batching writer.
	producer, err := broker.NewProducer(b.kafka, transport)
	if err != nil {
		return err
	}
	results := *b.pub
	results.Writer = producer
	b.out, err = outbound.New(outbound.Config{
		Brokers: b.kafka.Brokers, Dialer: dialer, Group: b.cfg.ConsumerGroup, TopicPrefix: b.cfg.TopicPrefix,
		Accounts: b.accounts, Ledger: l, Publisher: &results, Transport: b.opts.VendorTransport,
		Retry:          outbound.RetryPolicy{MaxAttempts: b.cfg.RetryMaxAttempts, Initial: b.cfg.RetryInitialBackoff, Max: b.cfg.RetryMaxBackoff},
		CommandTimeout: b.cfg.CommandTimeout, Telemetry: b.opts.Telemetry, AdminTransport: transport,
		LedgerRetention: b.cfg.LedgerRetention, LedgerSweepInterval: b.cfg.LedgerSweepInterval,
		StartOffset: map[string]int64{"latest": kafka.LastOffset}[b.cfg.ConsumerStart], // else 0: earliest
	})
	return err
}

// ready answers 200 only while a webhook would be acknowledged: recent produces
// succeeded (none is stuck, the last did not fail) and Kafka answers a probe. In a
// process without the inbound half, it is ready once the outbound half consumes;
// loading the ledger never makes a process with the inbound half unready. The body
// says what the outbound half is doing and how far each ledger partition's load is.
func (b *Bridge) ready(w http.ResponseWriter, r *http.Request) {
	if b.inbound != nil {
		if ok, why := b.inbound.Healthy(); !ok {
			http.Error(w, "kafka not acknowledging: "+why, http.StatusServiceUnavailable)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := broker.Ping(ctx, b.kafka); err != nil {
		http.Error(w, "kafka unreachable", http.StatusServiceUnavailable)
		return
	}
	if b.out == nil {
		_, _ = w.Write([]byte("ok"))
		return
	}
	loading, detail := b.outboundStatus()
	if loading && !b.cfg.InboundEnabled {
		http.Error(w, "not ready: "+detail, http.StatusServiceUnavailable)
		return
	}
	_, _ = fmt.Fprintf(w, "ok\noutbound: %s\n", detail)
}

// outboundStatus says whether the outbound half is still starting (joining its
// group or loading the ledger) and what it is doing.
func (b *Bridge) outboundStatus() (bool, string) {
	state := b.out.State()
	var parts []string
	loading := !strings.HasPrefix(state, "consuming")
	for _, st := range b.ledger.Status() {
		if st.Loaded {
			continue
		}
		loading = true
		pct := 100.0
		if st.Target > 0 {
			pct = 100 * float64(st.Applied) / float64(st.Target)
		}
		parts = append(parts, fmt.Sprintf("ledger partition %d at offset %d of %d (%.0f%%)", st.Partition, st.Applied, st.Target, pct))
	}
	if len(parts) > 0 {
		state += "; " + strings.Join(parts, ", ")
	}
	return loading, state
}

// Handler serves webhooks, health, readiness and metrics.
func (b *Bridge) Handler() http.Handler { return b.handler }

// Run serves HTTP on ln (nil: listen on the configured address) and consumes commands
// until ctx is done or either half fails, then stops gracefully: in-flight webhooks and
// commands finish, within the configured shutdown timeout. It returns nil when ctx ended
// the run, and otherwise the first half's failure, so that the process exits non-zero
// with the reason instead of running on with one half gone.
func (b *Bridge) Run(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", b.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("bridge: listen on %s: %w", b.cfg.HTTPAddr, err)
		}
	}
	addr := ln.Addr().String()
	idle := &idleconns.Reaper{Max: b.cfg.HTTPMaxIdleConns, Closed: func(n int) {
		b.log.Debug("closed surplus idle connections", "closed", n)
	}}
	defer b.opts.Telemetry.Meters().ObserveHTTPConnections(func() int64 { return int64(idle.Open()) })()
	srv := &http.Server{
		ConnState:         idle.ConnState,
		Handler:           b.handler,
		ReadHeaderTimeout: b.cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       b.cfg.HTTPReadTimeout,
		WriteTimeout:      b.cfg.HTTPWriteTimeout,
		IdleTimeout:       b.cfg.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	// The halves run under their own context: the first failure cancels it, so the
	// other half stops too rather than going on alone.
	halves, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	failed := make(chan error, 2)
	fail := func(err error) {
		failed <- err
		stop(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(idle.Listener(ln, b.cfg.HTTPMaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("bridge: http server on %s: %w", addr, err))
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		idle.Run(halves)
	}()
	if b.out != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.out.Run(halves); err != nil {
				fail(fmt.Errorf("bridge: outbound: %w", err))
			}
		}()
	}
	if b.rec != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.rec.Run(halves); err != nil {
				fail(fmt.Errorf("bridge: reconcile: %w", err))
			}
		}()
	}
	b.log.InfoContext(ctx, "callbridge running", "http", addr, "inbound", b.cfg.InboundEnabled,
		"outbound", b.cfg.OutboundEnabled, "accounts", len(b.accounts))
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failed:
		b.log.ErrorContext(ctx, "stopping: a half failed", "error", runErr)
	}
	stop(runErr)
	return errors.Join(runErr, b.shutdown(ctx, srv, &wg))
}

// shutdown stops the HTTP server (in-flight webhooks finish) and waits for both halves,
// within the shutdown timeout. Past it, it reports what did not stop and leaves the
// Kafka clients to be closed once the halves have let go of them.
func (b *Bridge) shutdown(ctx context.Context, srv *http.Server, wg *sync.WaitGroup) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("bridge: http shutdown: %w", err))
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		b.Close()
	case <-sctx.Done():
		errs = append(errs, fmt.Errorf("bridge: not stopped within the shutdown timeout (%s): %w", b.cfg.ShutdownTimeout, sctx.Err()))
		go func() {
			<-stopped
			b.Close()
		}()
	}
	return errors.Join(errs...)
}

func (b *Bridge) closeWriter() {
	if b.writer != nil {
		_ = b.writer.Close()
		b.writerTransport.CloseIdleConnections()
	}
}

// Close releases the Kafka clients.
func (b *Bridge) Close() {
	if b.ledger != nil {
		_ = b.ledger.Close()
	}
	if b.rec != nil {
		_ = b.rec.Close()
	}
	if b.transport != nil {
		b.transport.CloseIdleConnections()
	}
	b.closeWriter()
	if b.inbound != nil {
		b.inbound.Close()
	}
}
