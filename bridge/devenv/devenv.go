// Package devenv is `callbridge dev`: the whole environment in one process. It runs
// an in-process Kafka broker (kfake), the BYAI and Yiwise simulators and the bridge
// with one account per vendor, sends a small demo campaign to each vendor and prints,
// one readable line each, the commands, the vendors' API calls, the webhooks and the
// events on every output topic.
package devenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/simulator"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// Options configures Run. The zero value of each field means its default.
type Options struct {
	// Out receives the banner and the lines; nil discards them.
	Out io.Writer
	// Color styles the lines with ANSI colors (for a terminal).
	Color bool
	// KafkaAddr is where the in-process broker listens; default "127.0.0.1:9092",
	// so kcat and other clients find it where they expect. Port 0 picks a free port.
	KafkaAddr string
	// HTTPAddr is the bridge's webhook, health and metrics address; default "127.0.0.1:8080".
	HTTPAddr string
	// BYAIAddr and YiwiseAddr are the simulators' addresses; defaults
	// "127.0.0.1:9101" and "127.0.0.1:9102".
	BYAIAddr, YiwiseAddr string
	// TimeScale multiplies the simulators' durations; default 0.005, so a 40 s call
	// takes 200 ms and a campaign finishes in seconds.
	TimeScale float64
	// Customers is the number of customers per demo campaign; default 5.
	Customers int
	// LogWriter receives the bridge's JSON logs; default io.Discard (the lines are
	// the output). Rejected webhooks and configuration warnings are shown as lines too.
	LogWriter io.Writer
	// WebhookToken is both demo accounts' webhook token; default DevWebhookToken.
	WebhookToken string
	// QuietBanner is how long the lines must pause before the banner is shown again,
	// once the demo campaigns are sent; default 2s.
	QuietBanner time.Duration
}

// DevWebhookToken is the demo accounts' webhook token unless --webhook-token says
// otherwise: fixed and shown in full, so that a hand-made request can use it. The
// demo listens on 127.0.0.1 by default.
const DevWebhookToken = "dev-token"

// SimulatorFlags registers the simulators' address flags on fs, writing into o: the
// dev command knows which vendors are simulated only through this package.
func (o *Options) SimulatorFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.BYAIAddr, "byai-addr", "127.0.0.1:9101", "address of the BYAI simulator")
	fs.StringVar(&o.YiwiseAddr, "yiwise-addr", "127.0.0.1:9102", "address of the Yiwise simulator")
}

func (o *Options) defaults() error {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.KafkaAddr, "127.0.0.1:9092")
	def(&o.HTTPAddr, "127.0.0.1:8080")
	def(&o.BYAIAddr, "127.0.0.1:9101")
	def(&o.YiwiseAddr, "127.0.0.1:9102")
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.LogWriter == nil {
		o.LogWriter = io.Discard
	}
	def(&o.WebhookToken, DevWebhookToken)
	if o.QuietBanner <= 0 {
		o.QuietBanner = 2 * time.Second
	}
	switch {
	case o.TimeScale < 0:
		return fmt.Errorf("devenv: time scale %v must be positive", o.TimeScale)
	case o.TimeScale == 0:
		o.TimeScale = 0.005
	}
	switch {
	case o.Customers < 0:
		return fmt.Errorf("devenv: customers %d must be positive", o.Customers)
	case o.Customers == 0:
		o.Customers = 5
	}
	return nil
}

// Simulator credentials; they never leave the process.
const (
	byaiAppKey       = "dev-byai-appkey"
	byaiAppSecret    = "dev-byai-appsecret-0123456789"
	byaiCompanyID    = 1
	yiwiseAppKey     = "dev-yiwise-appkey"
	yiwiseAppSecret  = "dev-yiwise-appsecret-0123456789"
	yiwiseTenantSign = "devtenant"
	shutdownTimeout  = 10 * time.Second

	// verifyBYAISign has the bridge check the signs the BYAI simulator puts on call
	// callbacks, as a production account would.
	verifyBYAISign = true
)

// Run starts everything, sends the demo campaigns and prints what happens until ctx
// is done; then it stops everything cleanly and returns nil. It returns an error
// when something cannot start (a port in use) or the bridge fails.
func Run(ctx context.Context, o Options) (err error) {
	if err := o.defaults(); err != nil {
		return err
	}
	p := NewPrinter(o.Out, o.Color)

	// Cleanups of what started, run in reverse on every return path.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		// Ctrl-C while starting is a clean stop too.
		if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
			err = nil
			p.Line(KindInfo, "stopped", "", "everything stopped cleanly", false)
		}
	}()

	// Listen first so that port 0 works: the simulators need the real webhook URL.
	ln, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("devenv: bridge HTTP address %s: %w", o.HTTPAddr, err)
	}
	cleanups = append(cleanups, func() { _ = ln.Close() })
	httpURL := "http://" + dialable(ln.Addr())

	kc, err := startKafka(o.KafkaAddr)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, kc.Close)
	kafkaAddr := kc.ListenAddrs()[0]

	tokens := map[string]string{BYAIAccount: o.WebhookToken, YiwiseAccount: o.WebhookToken}
	webhook := func(account string) string { return httpURL + "/webhooks/" + account + "?token=" + tokens[account] }
	label := map[string]string{"byai": BYAIAccount, "yiwise": YiwiseAccount}
	byaiClient, yiwiseClient := p.CallbackClient(BYAIAccount), p.CallbackClient(YiwiseAccount)
	sims, err := simulator.Start(simulator.Options{
		BYAIAddr: o.BYAIAddr, YiwiseAddr: o.YiwiseAddr,
		BYAI: byaisim.Config{AppKey: byaiAppKey, AppSecret: byaiAppSecret, CompanyID: byaiCompanyID,
			SignCallbacks: true, IntentChangeRate: 0.3, InboundRate: 0.1,
			Options: core.Options{WebhookURL: webhook(BYAIAccount), HTTPClient: byaiClient, LoseCallWebhooks: loseEvery}},
		Yiwise: yiwisesim.Config{AppKey: yiwiseAppKey, AppSecret: yiwiseAppSecret, TenantSign: yiwiseTenantSign,
			Options: core.Options{WebhookURL: webhook(YiwiseAccount), HTTPClient: yiwiseClient, LoseCallWebhooks: loseEvery}},
		TimeScale: o.TimeScale,
		OnEvent:   p.SimEvents(func(v string) string { return label[v] }),
	})
	if err != nil {
		return fmt.Errorf("devenv: simulators: %w", err)
	}
	closeSims := func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = sims.Close(sctx)
		byaiClient.CloseIdleConnections()
		yiwiseClient.CloseIdleConnections()
	}
	cleanups = append(cleanups, closeSims)

	vars := configVars(kafkaAddr, dialable(ln.Addr()), sims.BYAIURL, sims.YiwiseURL, tokens)
	// The same settings in a file, so `callbridge vendor` and `reconcile` can be tried
	// against the simulators: env $(cat FILE) callbridge vendor byai-demo robots.
	envFile := filepath.Join(os.TempDir(), "callbridge-dev.env")
	if err := writeEnvFile(envFile, vars); err != nil {
		envFile = ""
	}
	cfg, err := config.LoadFrom(vars)
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	topts := telemetry.Options{ServiceName: "callbridge-dev", LogWriter: &logTap{p: p, next: o.LogWriter}}
	if os.Getenv("OTEL_TRACES_EXPORTER") == "" {
		// No collector in a zero-setup demo: spans get ids (log correlation,
		// traceparent) but go nowhere unless the user asks for an exporter.
		topts.SpanExporter = discardSpans{}
	}
	tel, err := telemetry.Setup(ctx, topts)
	if err != nil {
		return fmt.Errorf("devenv: telemetry: %w", err)
	}
	cleanups = append(cleanups, func() { _ = tel.Shutdown(context.Background()) })
	for _, w := range cfg.Warnings {
		tel.Logger().WarnContext(ctx, "config: "+w)
	}

	b, err := bridge.New(ctx, cfg, bridge.Options{Telemetry: tel, ValidateEvents: true, InstanceID: "callbridge-dev", ReconcileSettle: time.Second})
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}

	bn := banner{kafka: kafkaAddr, http: httpURL, byai: sims.BYAIURL, yiwise: sims.YiwiseURL, envFile: envFile,
		webhooks:  []string{webhook(BYAIAccount), webhook(YiwiseAccount)},
		customers: o.Customers}
	printBanner(p, bn)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	tails := &tailer{p: p, brokers: cfg.Kafka.Brokers, prefix: cfg.TopicPrefix}
	if err := tails.start(runCtx); err != nil {
		b.Close()
		return err
	}
	cleanups = append(cleanups, func() { stop(); tails.wait() })

	bridgeDone := make(chan error, 1)
	go func() { bridgeDone <- b.Run(runCtx, ln) }()
	// Registered last so that it runs first: the bridge stops (finishing the webhooks
	// and commands in flight) while the simulators and the broker are still there.
	bridgeStopped := false
	cleanups = append(cleanups, func() {
		stop()
		if !bridgeStopped {
			<-bridgeDone
		}
	})

	if err := produce(runCtx, cfg, o.Customers, p); err != nil && runCtx.Err() == nil {
		return err
	}
	// The demo's lines scroll the banner away: show it again once they pause.
	go func() {
		if p.waitQuiet(runCtx, o.QuietBanner) {
			printReminder(p, bn)
		}
	}()

	select {
	case <-ctx.Done():
		p.Line(KindInfo, "stopping", "", "waiting for the bridge to finish what it is doing", false)
		err = <-bridgeDone
		bridgeStopped = true
		if err != nil {
			return fmt.Errorf("devenv: bridge: %w", err)
		}
		return nil
	case err = <-bridgeDone:
		bridgeStopped = true
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		return fmt.Errorf("devenv: bridge: %w", err)
	}
}

// produce sends the demo campaigns through a writer of its own.
func produce(ctx context.Context, cfg *config.Config, customers int, p *Printer) error {
	w, err := broker.NewWriter(bridge.BrokerConfig(cfg))
	if err != nil {
		return fmt.Errorf("devenv: %w", err)
	}
	defer broker.CloseWriter(w)
	return produceDemo(ctx, w, cfg.TopicPrefix, customers, p)
}

// startKafka runs a one-broker kfake cluster on addr; topics are created by the bridge.
func startKafka(addr string) (*kfake.Cluster, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("devenv: Kafka address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("devenv: Kafka address %q: bad port", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	// kfake listens on 127.0.0.1; keep its port and use the host asked for.
	listen := func(network, a string) (net.Listener, error) {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, err
		}
		return net.Listen(network, net.JoinHostPort(host, p))
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.ListenFn(listen))
	if err != nil {
		return nil, fmt.Errorf("devenv: start Kafka on %s: %w", addr, err)
	}
	return kc, nil
}

// configVars is the bridge configuration: the two demo accounts against the
// simulators, small retry backoffs and timeouts so the demo (and Ctrl-C) is quick.
func configVars(kafkaAddr, httpAddr, byaiURL, yiwiseURL string, tokens map[string]string) map[string]string {
	b, y := config.AccountPrefix(BYAIAccount), config.AccountPrefix(YiwiseAccount)
	return map[string]string{
		"CALLBRIDGE_KAFKA_BROKERS":          kafkaAddr,
		"CALLBRIDGE_KAFKA_TOPIC_PARTITIONS": "1",
		"CALLBRIDGE_KAFKA_PRODUCE_TIMEOUT":  "5s",
		"CALLBRIDGE_HTTP_ADDR":              httpAddr,
		"CALLBRIDGE_CONSUMER_GROUP":         "callbridge-dev",
		"CALLBRIDGE_RETRY_INITIAL_BACKOFF":  "50ms",
		"CALLBRIDGE_RETRY_MAX_BACKOFF":      "1s",
		"CALLBRIDGE_SHUTDOWN_TIMEOUT":       "5s",
		"CALLBRIDGE_ACCOUNTS":               BYAIAccount + "," + YiwiseAccount,
		b + "VENDOR":                        "byai",
		b + "APP_KEY":                       byaiAppKey,
		b + "APP_SECRET":                    byaiAppSecret,
		b + "COMPANY_ID":                    strconv.Itoa(byaiCompanyID),
		b + "BASE_URL":                      byaiURL,
		b + "WEBHOOK_TOKEN":                 tokens[BYAIAccount],
		b + "VERIFY_CALLBACK_SIGN":          strconv.FormatBool(verifyBYAISign),
		y + "VENDOR":                        "yiwise",
		y + "APP_KEY":                       yiwiseAppKey,
		y + "APP_SECRET":                    yiwiseAppSecret,
		y + "TENANT_SIGN":                   yiwiseTenantSign,
		y + "BASE_URL":                      yiwiseURL,
		y + "WEBHOOK_TOKEN":                 tokens[YiwiseAccount],
		// The simulators lose every third call's webhook; reconciliation reads those
		// calls back, so the demo shows recovered calls too.
		b + "RECONCILE_INTERVAL": reconcileEvery,
		y + "RECONCILE_INTERVAL": reconcileEvery,
		b + "RECONCILE_LOOKBACK": "1h",
		y + "RECONCILE_LOOKBACK": "1h",
	}
}

const (
	// loseEvery is the simulators' LoseCallWebhooks in the demo.
	loseEvery = 3
	// reconcileEvery sweeps often, so a lost call shows up within seconds.
	reconcileEvery = "2s"
)

// writeEnvFile writes vars as KEY=VALUE lines, sorted (none has a space).
func writeEnvFile(path string, vars map[string]string) error {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		b.WriteString(k + "=" + vars[k] + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// dialable makes a listen address usable in a URL: an unspecified host becomes 127.0.0.1.
func dialable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

type banner struct {
	kafka, http, byai, yiwise string
	// envFile holds the dev configuration for the CLI; "" when it could not be written.
	envFile   string
	webhooks  []string
	customers int
}

func printBanner(p *Printer, b banner) {
	p.Text(ansiBold, "callbridge dev: in-process Kafka, the BYAI and Yiwise simulators and the bridge, wired together\n\n")
	row := func(k, v string) { p.Text("", fmt.Sprintf("  %-15s %s\n", k, v)) }
	row("Kafka broker", b.kafka+"   topics: "+strings.Join(OutputTopics, ", "))
	row("", "kcat -b "+b.kafka+" -C -t "+event.TopicCallFinished+" -J")
	row("Webhooks", b.webhooks[0]+"   (BYAI, call callbacks signed)")
	row("", b.webhooks[1]+"   (Yiwise)")
	row("Metrics", b.http+"/metrics")
	row("Health", b.http+"/healthz   "+b.http+"/readyz")
	row("Simulators", "BYAI "+b.byai+"   Yiwise "+b.yiwise)
	row("Send a command", "callbridge send task.create -f examples/task.create.byai.json --brokers "+b.kafka)
	row("", "(from a checkout without installing: go run ./cmd/callbridge send …)")
	row("", "(examples/ has task.create.byai.json and task.create.yiwise.json to start from)")
	if b.envFile != "" {
		row("Ask a vendor", "env $(cat "+b.envFile+") callbridge vendor "+BYAIAccount+" robots")
		row("", "(also phones, tasks, calls TASK_ID; and callbridge reconcile --account "+YiwiseAccount+" --since 1h --dry-run)")
	}
	p.Text("", fmt.Sprintf("\nA demo campaign of %d customers per vendor starts now. Ctrl-C stops everything.\n\n", b.customers))
}

// printReminder is the banner's how-to-connect part, shown again once the demo's
// lines have settled.
func printReminder(p *Printer, b banner) {
	p.Text(ansiBold, "\nThe demo campaigns are done; everything keeps running. To connect:\n")
	row := func(k, v string) { p.Text("", fmt.Sprintf("  %-15s %s\n", k, v)) }
	row("Read events", "kcat -b "+b.kafka+" -C -t "+event.TopicCallFinished+" -J")
	row("Webhooks", b.webhooks[0])
	row("", b.webhooks[1])
	row("Metrics", b.http+"/metrics")
	row("Send a command", "callbridge send task.create -f examples/task.create.byai.json --brokers "+b.kafka)
	p.Text("", "Ctrl-C stops everything.\n\n")
}

// discardSpans is a span exporter that drops everything.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }
