package cekafka

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/internal/broker"
)

// kcatPath finds kcat (librdkafka's CLI). Missing kcat skips the test, except in
// CI, where the interop proof must run.
func kcatPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kcat is not installed and CI=true: the librdkafka interop test must run in CI (apt-get install -y kcat)")
	}
	t.Skip("skipping librdkafka interop: kcat is not installed (apt-get install -y kcat)")
	return ""
}

// kcat runs kcat with args and stdin and returns its stdout.
func kcat(t *testing.T, bin, stdin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\nstderr: %s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// kcatRecord is one line of `kcat -C -J`.
type kcatRecord struct {
	Topic     string   `json:"topic"`
	Partition int      `json:"partition"`
	Offset    int64    `json:"offset"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	Headers   []string `json:"headers"` // key, value, key, value, ...
}

func kcatConsume(t *testing.T, bin, addr, topic string, count int) []kcatRecord {
	t.Helper()
	out := kcat(t, bin, "", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-c", fmt.Sprint(count), "-e", "-J", "-q")
	var recs []kcatRecord
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r kcatRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("kcat -J line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	if len(recs) != count {
		t.Fatalf("kcat consumed %d records from %s, want %d:\n%s", len(recs), topic, count, out)
	}
	return recs
}

func (r kcatRecord) headerMap(t *testing.T) map[string]string {
	t.Helper()
	if len(r.Headers)%2 != 0 {
		t.Fatalf("odd kcat header list %v", r.Headers)
	}
	m := map[string]string{}
	for i := 0; i < len(r.Headers); i += 2 {
		m[r.Headers[i]] = r.Headers[i+1]
	}
	return m
}

// TestInteropWithLibrdkafkaConsumer produces with kafka-go and our binding, and
// reads the record with librdkafka (kcat): key, ce_* headers and value must be
// what the CloudEvents Kafka binding prescribes, in both modes, and a binary record
// carries its trace context in the plain W3C headers too.
func TestInteropWithLibrdkafkaConsumer(t *testing.T) {
	bin := kcatPath(t)
	e := fullEvent()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			topic := "to.kcat." + mode.name
			addrs := newCluster(t, topic)
			w, err := broker.NewWriter(broker.Config{Brokers: addrs})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := NewSender(w).Send(mode.ctx(testCtx(t, 10*time.Second)), topic, e); err != nil {
				t.Fatal(err)
			}

			r := kcatConsume(t, bin, addrs[0], topic, 1)[0]
			if r.Key == nil || *r.Key != "task-43" {
				t.Errorf("kcat key %v, want task-43", r.Key)
			}
			if r.Payload == nil {
				t.Fatal("kcat saw a null value")
			}
			h := r.headerMap(t)
			if mode.name == "structured" {
				if len(h) != 1 || h["content-type"] != "application/cloudevents+json" {
					t.Errorf("kcat headers %v, want only content-type application/cloudevents+json", h)
				}
				var got cloudevents.Event
				if err := json.Unmarshal([]byte(*r.Payload), &got); err != nil {
					t.Fatalf("structured value as seen by kcat: %v\n%s", err, *r.Payload)
				}
				assertSameEvent(t, &e, &got)
				return
			}
			want := map[string]string{
				"ce_specversion":  "1.0",
				"ce_id":           e.ID(),
				"ce_source":       e.Source(),
				"ce_type":         e.Type(),
				"ce_subject":      e.Subject(),
				"ce_time":         "2019-01-12T08:09:32.123456789Z",
				"ce_dataschema":   e.DataSchema(),
				"ce_vendor":       "byai",
				"ce_account":      "byai-main",
				"ce_partitionkey": "task-43",
				"ce_traceparent":  traceparent,
				"ce_tracestate":   tracestate,
				"content-type":    "application/json",
				// The same trace context as OpenTelemetry's Kafka instrumentations read it.
				"traceparent": traceparent,
				"tracestate":  tracestate,
			}
			if fmt.Sprint(h) != fmt.Sprint(want) {
				t.Errorf("kcat headers\n got  %v\n want %v", h, want)
			}
			if *r.Payload != string(e.Data()) {
				t.Errorf("kcat value %s, want %s", *r.Payload, e.Data())
			}
		})
	}
}

// TestInteropWithLibrdkafkaProducer produces with librdkafka (kcat) the way a
// non-Go platform would, and decodes with kafka-go and our binding.
func TestInteropWithLibrdkafkaProducer(t *testing.T) {
	bin := kcatPath(t)
	data := `{"account":"byai-main","taskId":"43","action":"pause"}`
	structured := `{"specversion":"1.0","id":"cmd-2","source":"/platform/crm","type":"callbridge.task.control",` +
		`"subject":"task/43","time":"2024-05-01T10:00:00+08:00","datacontenttype":"application/json",` +
		`"partitionkey":"task-43","traceparent":"` + traceparent + `","data":` + data + `}`
	tests := []struct {
		name    string
		headers []string
		value   string
		id      string
	}{
		{
			name: "binary",
			headers: []string{
				"ce_specversion=1.0", "ce_id=cmd-1", "ce_source=/platform/crm", "ce_type=callbridge.task.control",
				"ce_subject=task/43", "ce_time=2024-05-01T10:00:00+08:00", "ce_partitionkey=task-43",
				"ce_traceparent=" + traceparent, "content-type=application/json",
			},
			value: data,
			id:    "cmd-1",
		},
		{
			name:    "structured",
			headers: []string{"content-type=application/cloudevents+json"},
			value:   structured,
			id:      "cmd-2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := "from.kcat." + tt.name
			addrs := newCluster(t, topic)
			args := []string{"-P", "-b", addrs[0], "-t", topic, "-k", "task-43"}
			for _, h := range tt.headers {
				args = append(args, "-H", h)
			}
			kcat(t, bin, tt.value+"\n", args...)

			m := readRecords(t, addrs, topic, 1)[0]
			if string(m.Key) != "task-43" {
				t.Errorf("key %q", m.Key)
			}
			got, err := FromKafka(m)
			if err != nil {
				t.Fatal(err)
			}
			want := cloudevents.NewEvent()
			want.SetID(tt.id)
			want.SetSource("/platform/crm")
			want.SetType("callbridge.task.control")
			want.SetSubject("task/43")
			want.SetTime(time.Date(2024, 5, 1, 2, 0, 0, 0, time.UTC))
			want.SetExtension("partitionkey", "task-43")
			want.SetExtension("traceparent", traceparent)
			if err := want.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
				t.Fatal(err)
			}
			assertSameEvent(t, &want, got)
		})
	}
}

// TestKeyedEventsLandWhereLibrdkafkaPutsThem proves that broker.NewWriter
// partitions keys exactly as librdkafka's murmur2 partitioner (the Java client's
// default): the same keys produced by both land on the same partitions.
func TestKeyedEventsLandWhereLibrdkafkaPutsThem(t *testing.T) {
	bin := kcatPath(t)
	const partitions = 7
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "by.kafka-go", "by.kcat"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()

	keys := []string{"task-1", "task-2", "task-43", "call-9001", "任务-7", "a", "21", "foobar", "abc", "x-long-key-0123456789abcdef"}
	events := make([]cloudevents.Event, len(keys))
	for i, k := range keys {
		e := minimalEvent()
		e.SetID(fmt.Sprint("e", i))
		e.SetExtension("partitionkey", k)
		events[i] = e
	}
	w, err := broker.NewWriter(broker.Config{Brokers: addrs})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := NewSender(w).Send(testCtx(t, 10*time.Second), "by.kafka-go", events...); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for _, k := range keys {
		lines.WriteString(k + "\t" + k + "\n")
	}
	kcat(t, bin, lines.String(), "-P", "-b", addrs[0], "-t", "by.kcat", "-K", "\t", "-X", "topic.partitioner=murmur2_random")

	partitionOf := func(topic string) map[string]int {
		m := map[string]int{}
		for _, r := range kcatConsume(t, bin, addrs[0], topic, len(keys)) {
			if r.Key == nil {
				t.Fatalf("%s: record without key", topic)
			}
			m[*r.Key] = r.Partition
		}
		return m
	}
	ours, theirs := partitionOf("by.kafka-go"), partitionOf("by.kcat")
	spread := map[int]bool{}
	for _, k := range keys {
		spread[ours[k]] = true
		if ours[k] != theirs[k] {
			t.Errorf("key %q: kafka-go partition %d, librdkafka murmur2 partition %d", k, ours[k], theirs[k])
		}
	}
	if len(spread) < 3 {
		t.Errorf("keys landed on only %d partitions: the comparison proves little", len(spread))
	}
}
