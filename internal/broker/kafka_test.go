package broker

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

func newCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readAt reads the record at offset 0 of one partition.
func readAt(t *testing.T, cfg Config, topic string, partition int) kafka.Message {
	t.Helper()
	d, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Topic: topic, Partition: partition, Dialer: d, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	m, err := r.ReadMessage(testCtx(t, 10*time.Second))
	if err != nil {
		t.Fatalf("read %s/%d: %v", topic, partition, err)
	}
	return m
}

func TestEnsureTopics(t *testing.T) {
	cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(1, "existing"))}
	ctx := testCtx(t, 20*time.Second)
	specs := []TopicSpec{
		{Name: "call.finished"},
		{Name: "callbridge.ledger", Partitions: 5, Configs: map[string]string{"cleanup.policy": "compact"}},
		{Name: "existing"},
	}

	// Twice: the second run finds every topic and must still succeed.
	for run := 1; run <= 2; run++ {
		if err := EnsureTopics(ctx, cfg, specs); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}

	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...)}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"call.finished", "callbridge.ledger", "existing"}})
	if err != nil {
		t.Fatal(err)
	}
	partitions := map[string]int{}
	for _, tp := range meta.Topics {
		if tp.Error != nil {
			t.Fatalf("metadata %s: %v", tp.Name, tp.Error)
		}
		partitions[tp.Name] = len(tp.Partitions)
	}
	wantPartitions := map[string]int{"call.finished": DefaultPartitions, "callbridge.ledger": 5, "existing": 1}
	for name, want := range wantPartitions {
		if partitions[name] != want {
			t.Errorf("%s has %d partitions, want %d", name, partitions[name], want)
		}
	}

	dc, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: "callbridge.ledger", ConfigNames: []string{"cleanup.policy"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, res := range dc.Resources {
		for _, e := range res.ConfigEntries {
			if e.ConfigName == "cleanup.policy" {
				policy = e.ConfigValue
			}
		}
	}
	if policy != "compact" {
		t.Fatalf("ledger cleanup.policy = %q, want compact", policy)
	}
}

func TestEnsureTopicsReportsBrokerRejection(t *testing.T) {
	cfg := Config{Brokers: newCluster(t)}
	err := EnsureTopics(testCtx(t, 10*time.Second), cfg, []TopicSpec{{Name: "ok.topic"}, {Name: "too.replicated", ReplicationFactor: 3}})
	if !errors.Is(err, kafka.InvalidReplicationFactor) {
		t.Fatalf("EnsureTopics = %v, want the broker's InvalidReplicationFactor (3 replicas on a 1-broker cluster)", err)
	}
	if !strings.Contains(err.Error(), "too.replicated") || strings.Contains(err.Error(), "ok.topic") {
		t.Fatalf("error %q should name only the rejected topic", err)
	}
}

// TestWriterRoundTripPartitionsLikeJava writes keyed records and reads each back
// from the partition Kafka's Java client would pick: the expected partitions come
// from the murmur2 vectors of Kafka's own UtilsTest (e.g. murmur2("21") =
// -973932308), taken modulo 7 partitions after masking the sign bit.
type recordWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// writers are the two producers of the product: the batching writer (webhooks) and
// the Producer (the outbound half's results). Both must put a record where the Java
// client would, refuse unknown topics and compress as configured.
var writers = []struct {
	name string
	open func(t *testing.T, cfg Config) recordWriter
}{
	{"Writer", func(t *testing.T, cfg Config) recordWriter {
		w, err := NewWriter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = CloseWriter(w) })
		return w
	}},
	{"Producer", func(t *testing.T, cfg Config) recordWriter {
		tr, err := cfg.Transport()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.CloseIdleConnections)
		p, err := NewProducer(cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}},
	{"Batcher", func(t *testing.T, cfg Config) recordWriter {
		return openBatcher(t, cfg)
	}},
}

func TestWriterRoundTripPartitionsLikeJava(t *testing.T) {
	const topic = "rt"
	tests := []struct {
		key       string
		partition int
	}{
		{"21", 3},                       // murmur2 -973932308
		{"foobar", 0},                   // murmur2 -790332482
		{"abc", 4},                      // murmur2 479470107
		{"a-little-bit-long-string", 1}, // murmur2 -985981536
	}
	for _, wr := range writers {
		t.Run(wr.name, func(t *testing.T) {
			cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(7, topic))}
			w := wr.open(t, cfg)
			msgs := make([]kafka.Message, len(tests))
			for i, tt := range tests {
				msgs[i] = kafka.Message{
					Topic:   topic,
					Key:     []byte(tt.key),
					Value:   []byte("value-" + tt.key),
					Headers: []kafka.Header{{Key: "h", Value: []byte(tt.key)}},
				}
			}
			if err := w.WriteMessages(testCtx(t, 10*time.Second), msgs...); err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				t.Run(tt.key, func(t *testing.T) {
					m := readAt(t, cfg, topic, tt.partition)
					if string(m.Key) != tt.key || string(m.Value) != "value-"+tt.key {
						t.Fatalf("partition %d holds key %q value %q", tt.partition, m.Key, m.Value)
					}
					if len(m.Headers) != 1 || m.Headers[0].Key != "h" || string(m.Headers[0].Value) != tt.key {
						t.Fatalf("headers = %v", m.Headers)
					}
				})
			}
		})
	}
}

func TestWriterRefusesUnknownTopic(t *testing.T) {
	for _, wr := range writers {
		t.Run(wr.name, func(t *testing.T) {
			cfg := Config{Brokers: newCluster(t, kfake.AllowAutoTopicCreation()), ProduceTimeout: time.Second}
			w := wr.open(t, cfg)
			err := w.WriteMessages(testCtx(t, 3*time.Second), kafka.Message{Topic: "never.created", Value: []byte("x")})
			if !errors.Is(err, kafka.UnknownTopicOrPartition) {
				t.Fatalf("WriteMessages = %v, want UnknownTopicOrPartition: auto-creation must stay off", err)
			}
		})
	}
}

func TestWriterCompressionCodecs(t *testing.T) {
	for _, wr := range writers {
		for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			t.Run(wr.name+"/"+codec, func(t *testing.T) {
				cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(1, "c")), Compression: codec}
				w := wr.open(t, cfg)
				if err := w.WriteMessages(testCtx(t, 10*time.Second), kafka.Message{Topic: "c", Value: []byte("compressed " + codec)}); err != nil {
					t.Fatal(err)
				}
				if m := readAt(t, cfg, "c", 0); string(m.Value) != "compressed "+codec {
					t.Fatalf("read %q", m.Value)
				}
			})
		}
	}
}

// A producer's records of one partition land in the order given, and a record with
// no key goes to some partition rather than failing.
func TestProducerKeepsOrderWithinAPartition(t *testing.T) {
	cfg := Config{Brokers: newCluster(t, kfake.SeedTopics(1, "o"))}
	tr, err := cfg.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	p, err := NewProducer(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []kafka.Message{{Topic: "o", Key: []byte("k"), Value: []byte("1")}, {Topic: "o", Value: []byte("2")}, {Topic: "o", Key: []byte("z"), Value: []byte("3")}}
	if err := p.WriteMessages(testCtx(t, 10*time.Second), msgs...); err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.Brokers, Topic: "o", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for _, want := range []string{"1", "2", "3"} {
		m, err := r.ReadMessage(testCtx(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Value) != want {
			t.Fatalf("read %q, want %q", m.Value, want)
		}
	}
}

func TestPingReachable(t *testing.T) {
	cfg := Config{Brokers: newCluster(t)}
	if err := Ping(testCtx(t, 5*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestPingFallsBackToNextBroker(t *testing.T) {
	cfg := Config{Brokers: append([]string{closedAddr(t)}, newCluster(t)...)}
	if err := Ping(testCtx(t, 5*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentAddr returns an address that accepts connections and never answers, the
// shape of a hung broker or a blackholing firewall.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func TestPingUnreachableFailsWithinDeadline(t *testing.T) {
	tests := []struct {
		name     string
		addr     func(*testing.T) string
		ctx      time.Duration // 0: no deadline on ctx, ProduceTimeout applies
		produce  time.Duration
		deadline time.Duration // the bound Ping must respect
	}{
		{"closed port fails fast", closedAddr, 3 * time.Second, 0, 3 * time.Second},
		{"silent broker fails at the ctx deadline", silentAddr, 500 * time.Millisecond, 0, 500 * time.Millisecond},
		{"silent broker without ctx deadline fails at the produce timeout", silentAddr, 0, 500 * time.Millisecond, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Brokers: []string{tt.addr(t)}, ProduceTimeout: tt.produce}
			ctx := context.Background()
			if tt.ctx > 0 {
				ctx = testCtx(t, tt.ctx)
			}
			start := time.Now()
			err := Ping(ctx, cfg)
			took := time.Since(start)
			if err == nil {
				t.Fatal("Ping succeeded against an unreachable broker")
			}
			if took > tt.deadline+500*time.Millisecond {
				t.Fatalf("Ping took %s, deadline was %s", took, tt.deadline)
			}
		})
	}
}

func TestPingCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	start := time.Now()
	err := Ping(ctx, Config{Brokers: []string{silentAddr(t)}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Ping took %s after cancel", took)
	}
}

// TestSASLAgainstBroker proves kafka-go authenticates with each configured SASL
// mechanism against kfake (which implements PLAIN and SCRAM server-side), for the
// transport (writer, EnsureTopics) and the dialer (Ping, reader) alike.
func TestSASLAgainstBroker(t *testing.T) {
	addrs := newCluster(t,
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plainpass"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "pass256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "pass512"),
	)
	tests := []struct {
		name   string
		sasl   SASL
		wantOK bool
	}{
		{"plain", SASL{Mechanism: "plain", Username: "plainuser", Password: "plainpass"}, true},
		{"scram-sha-256", SASL{Mechanism: "scram-sha-256", Username: "scram256", Password: "pass256"}, true},
		{"scram-sha-512", SASL{Mechanism: "scram-sha-512", Username: "scram512", Password: "pass512"}, true},
		{"plain wrong password", SASL{Mechanism: "plain", Username: "plainuser", Password: "nope"}, false},
		{"scram-sha-256 wrong password", SASL{Mechanism: "scram-sha-256", Username: "scram256", Password: "nope"}, false},
		{"scram-sha-512 with a 256 user", SASL{Mechanism: "scram-sha-512", Username: "scram256", Password: "pass256"}, false},
		{"no SASL at all", SASL{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Brokers: addrs, SASL: tt.sasl, ProduceTimeout: 3 * time.Second}
			err := Ping(testCtx(t, 3*time.Second), cfg)
			if !tt.wantOK {
				if err == nil {
					t.Fatal("Ping succeeded with bad credentials")
				}
				return
			}
			if err != nil {
				t.Fatalf("Ping: %v", err)
			}
			topic := "sasl." + tt.name
			if err := EnsureTopics(testCtx(t, 10*time.Second), cfg, []TopicSpec{{Name: topic, Partitions: 1}}); err != nil {
				t.Fatalf("EnsureTopics: %v", err)
			}
			w, err := NewWriter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.WriteMessages(testCtx(t, 10*time.Second), kafka.Message{Topic: topic, Key: []byte("k"), Value: []byte(tt.name)}); err != nil {
				t.Fatalf("write: %v", err)
			}
			if m := readAt(t, cfg, topic, 0); string(m.Value) != tt.name {
				t.Fatalf("read %q", m.Value)
			}
		})
	}
}

// TestUnreachableNamesTheAddressAndCause: kafka-go's client says "[8] Broker Not
// Available" for a broker it cannot connect to; an operator needs the address and
// the real cause.
func TestUnreachableNamesTheAddressAndCause(t *testing.T) {
	addr := closedAddr(t)
	cfg := Config{Brokers: []string{addr}}
	for name, err := range map[string]error{
		"EnsureTopics": EnsureTopics(testCtx(t, 5*time.Second), cfg, []TopicSpec{{Name: "t"}}),
		"Ping":         Ping(testCtx(t, 5*time.Second), cfg),
	} {
		if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s: %v; want the address %s and connection refused", name, err, addr)
		}
	}
	err := Ping(testCtx(t, 5*time.Second), Config{Brokers: []string{"kafka.invalid:9092"}})
	if err == nil || !strings.Contains(err.Error(), "kafka.invalid:9092") || !strings.Contains(err.Error(), "lookup") {
		t.Errorf("Ping of a name that does not resolve: %v; want the address and the failed lookup", err)
	}
}
