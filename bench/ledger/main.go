// Command ledger is the outbound half's scale benchmark (issue 10): it pre-fills the
// ledger with settled call.single results on an in-process broker, then measures a
// bridge instance — a separate `callbridge serve` process — from outside: RSS from
// /proc, time until a new command is executed, CPU per command from /proc/PID/stat.
// bench/ledger.sh drives it; see the README's Performance section.
//
//	ledger infra -kafka 127.0.0.1:19092                            # the broker, until killed
//	ledger fill -brokers ADDR -n 3000000                          # N settled entries in the ledger
//	ledger probe -brokers ADDR -id ID                              # send one call.single, wait for its result
//	ledger load -brokers ADDR -n 3000 -pids 123,456                # N commands; CPU of the pids per command
//	ledger load -brokers ADDR -n 3000 -pids 123 -rate 400          # … sent at 400 a second, not all at once
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
)

const partitions = 6

// vendor is what the filled results name; bench/ledger.sh configures account "main".
var vendor = os.Getenv("BENCH_VENDOR")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ledger infra|fill|probe|load [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:19092", "broker address")
	kafkaAddr := fs.String("kafka", "127.0.0.1:19092", "infra: broker address to listen on")
	n := fs.Int("n", 1000, "fill: entries; load: commands")
	id := fs.String("id", "probe", "probe: command id")
	pids := fs.String("pids", "", "load: instance pids whose CPU is measured")
	rate := fs.Float64("rate", 0, "load: commands sent per second (0: all at once)")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "infra":
		err = infra(ctx, *kafkaAddr)
	case "fill":
		err = fill(ctx, *brokers, *n)
	case "probe":
		err = probe(ctx, *brokers, *id)
	case "load":
		err = load(ctx, *brokers, *n, *pids, *rate)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger bench:", err)
		os.Exit(1)
	}
}

// infra runs the broker; the vendor is `callbridge simulate` (bench/ledger.sh).
func infra(ctx context.Context, kafkaAddr string) error {
	_, port, _ := net.SplitHostPort(kafkaAddr)
	p, _ := strconv.Atoi(port)
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(p))
	if err != nil {
		return err
	}
	defer kc.Close()
	fmt.Println("broker up", kc.ListenAddrs())
	<-ctx.Done()
	return nil
}

func topics(ctx context.Context, brokers string) error {
	specs := []broker.TopicSpec{}
	for _, t := range []string{event.TopicTaskCreate, event.TopicCustomerImport, event.TopicCallSingle, event.TopicTaskControl, event.TopicCommandResult, event.TopicDLQ} {
		specs = append(specs, broker.TopicSpec{Name: t, Partitions: partitions, ReplicationFactor: 1})
	}
	return broker.EnsureTopics(ctx, broker.Config{Brokers: []string{brokers}}, specs)
}

// fill writes n settled call.single entries, as a ledger that ran for a month holds.
func fill(ctx context.Context, brokers string, n int) error {
	if err := topics(ctx, brokers); err != nil {
		return err
	}
	l, err := ledger.Open(ctx, ledger.Config{Brokers: []string{brokers}, Partitions: partitions})
	if err != nil {
		return err
	}
	_ = l.Close()
	w := &kafka.Writer{Addr: kafka.TCP(brokers), Topic: ledger.DefaultTopic, RequiredAcks: kafka.RequireAll,
		Balancer: &kafka.Hash{}, BatchSize: 2000, BatchBytes: 16 << 20, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	start := time.Now()
	const batch = 2000
	msgs := make([]kafka.Message, 0, batch)
	for i := range n {
		idn := fmt.Sprintf("filled-%09d", i)
		at := time.Now().UTC()
		e := ledger.Entry{CommandID: idn, CommandType: event.TopicCallSingle, Account: "main", State: ledger.StateDone,
			Steps: ledger.Steps{CallID: fmt.Sprintf("98%010d", i)}, Attempts: 1, VendorRequestIDs: []string{fmt.Sprintf("req-%016x", i)},
			UpdatedAt: at, Owner: "callbridge-7d9f8c6b5-x2x9q-1",
			Result: &command.Result{CommandID: idn, CommandType: event.TopicCallSingle, Account: "main", Vendor: vendor,
				Outcome: command.Succeeded, CallID: fmt.Sprintf("98%010d", i), Attempts: 1, VendorRequestIDs: []string{fmt.Sprintf("req-%016x", i)}}}
		b, _ := json.Marshal(e)
		msgs = append(msgs, kafka.Message{Partition: i % partitions, Key: []byte(idn), Value: b})
		if len(msgs) == batch || i == n-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return err
			}
			msgs = msgs[:0]
		}
		if (i+1)%500000 == 0 {
			fmt.Printf("filled %d in %v\n", i+1, time.Since(start).Round(time.Second))
		}
	}
	fmt.Printf("filled %d entries in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

type sender struct {
	w       *kafka.Writer
	results chan kafka.Message
	cancel  context.CancelFunc
}

// newSender starts reading command.result from its end, partition by partition.
func newSender(ctx context.Context, brokers string) (*sender, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers)}
	var reqs []kafka.OffsetRequest
	for p := range partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{event.TopicCommandResult: reqs}})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	s := &sender{
		w:       &kafka.Writer{Addr: kafka.TCP(brokers), RequiredAcks: kafka.RequireAll, Balancer: &kafka.Murmur2Balancer{}, BatchTimeout: time.Millisecond, BatchSize: 500},
		results: make(chan kafka.Message, 1024),
		cancel:  cancel,
	}
	for _, po := range res.Topics[event.TopicCommandResult] {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{brokers}, Topic: event.TopicCommandResult, Partition: po.Partition,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 20 * time.Millisecond, ReadBackoffMin: time.Millisecond, ReadBackoffMax: 20 * time.Millisecond})
		_ = r.SetOffset(po.LastOffset)
		go func() {
			defer r.Close()
			for {
				m, err := r.ReadMessage(rctx)
				if err != nil {
					return
				}
				s.results <- m
			}
		}()
	}
	return s, nil
}

func (s *sender) close() { _ = s.w.Close(); s.cancel() }

func command1(ctx context.Context, id string, i int) kafka.Message {
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/bench")
	ev.SetType(command.TypeCallSingle)
	_ = ev.SetData(cloudevents.ApplicationJSON, map[string]any{"account": "main", "phone": fmt.Sprintf("136%08d", i%100000000),
		"script": map[string]any{"robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34}}) // the simulator's script ids
	m, _ := cekafka.ToKafka(ctx, ev, event.TopicCallSingle)
	m.Key = []byte(id)
	return m
}

// wait reads results until every id in want has one.
func (s *sender) wait(ctx context.Context, want map[string]bool) error {
	for len(want) > 0 {
		var m kafka.Message
		select {
		case m = <-s.results:
		case <-ctx.Done():
			return fmt.Errorf("%d results missing: %w", len(want), ctx.Err())
		}
		ev, err := cekafka.FromKafka(m)
		if err != nil {
			continue
		}
		var r command.Result
		if json.Unmarshal(ev.Data(), &r) == nil {
			delete(want, r.CommandID)
		}
	}
	return nil
}

func probe(ctx context.Context, brokers, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	s, err := newSender(ctx, brokers)
	if err != nil {
		return err
	}
	defer s.close()
	start := time.Now()
	if err := s.w.WriteMessages(ctx, command1(ctx, id, 1)); err != nil {
		return err
	}
	if err := s.wait(ctx, map[string]bool{id: true}); err != nil {
		return err
	}
	fmt.Printf("probe %s executed %v after it was sent\n", id, time.Since(start).Round(time.Millisecond))
	return nil
}

// send writes msgs at once (rate 0) or paced at rate a second from start, in 10ms
// steps.
func send(ctx context.Context, w *kafka.Writer, msgs []kafka.Message, rate float64, start time.Time) error {
	if rate <= 0 {
		return w.WriteMessages(ctx, msgs...)
	}
	for sent := 0; sent < len(msgs); {
		due := min(len(msgs), int(time.Since(start).Seconds()*rate)+1)
		if due > sent {
			if err := w.WriteMessages(ctx, msgs[sent:due]...); err != nil {
				return err
			}
			sent = due
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func cpuTicks(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, nil
}

// load sends n commands, all at once or rate a second, and reports the CPU the
// instances spent on them.
func load(ctx context.Context, brokers string, n int, pids string, rate float64) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	s, err := newSender(ctx, brokers)
	if err != nil {
		return err
	}
	defer s.close()
	ps := strings.Split(pids, ",")
	before := make([]int64, len(ps))
	for i, p := range ps {
		before[i], _ = cpuTicks(p)
	}
	run := time.Now().UnixNano()
	want := map[string]bool{}
	msgs := make([]kafka.Message, 0, n)
	for i := range n {
		id := fmt.Sprintf("load-%d-%d", run, i)
		want[id] = true
		msgs = append(msgs, command1(ctx, id, i))
	}
	start := time.Now()
	if err := send(ctx, s.w, msgs, rate, start); err != nil {
		return err
	}
	if err := s.wait(ctx, want); err != nil {
		return err
	}
	took := time.Since(start)
	total := int64(0)
	var each []string
	for i, p := range ps {
		after, _ := cpuTicks(p)
		total += after - before[i]
		each = append(each, fmt.Sprintf("pid %s %.2fs", p, float64(after-before[i])/100))
	}
	cpu := float64(total) / 100
	fmt.Printf("%d commands in %v (%.0f/s); instances' CPU %.2fs (%s) = %.0f µs per command\n",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), cpu, strings.Join(each, ", "), cpu/float64(n)*1e6)
	return nil
}
