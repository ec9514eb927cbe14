package cekafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka_sarama "github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"

	"github.com/callbridge/callbridge/internal/broker"
)

// interopEvents are bound by both bindings in every interop test.
func interopEvents() []struct {
	name string
	e    cloudevents.Event
} {
	return []struct {
		name string
		e    cloudevents.Event
	}{
		{"full event", fullEvent()},
		{"minimal event", minimalEvent()},
	}
}

// decodeSarama decodes a record the way a sarama consumer using sdk-go's own
// binding does.
func decodeSarama(t *testing.T, cm *sarama.ConsumerMessage) *cloudevents.Event {
	t.Helper()
	e, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(cm))
	if err != nil {
		t.Fatalf("kafka_sarama decode: %v", err)
	}
	stripSaramaKafkaExtensions(e)
	return e
}

// encodeSarama binds an event the way a sarama producer using sdk-go's own
// binding does.
func encodeSarama(t *testing.T, ctx context.Context, e cloudevents.Event, topic string) *sarama.ProducerMessage {
	t.Helper()
	pm := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&e), pm); err != nil {
		t.Fatalf("kafka_sarama encode: %v", err)
	}
	return pm
}

// TestInteropWithSaramaBindingInMemory converts records between the kafka-go and
// sarama structs in memory (key, value and headers, what crosses the wire):
// kafka_sarama decodes what we write, we decode what kafka_sarama writes, and both
// bindings lay the same event out as the same record.
func TestInteropWithSaramaBindingInMemory(t *testing.T) {
	for _, mode := range modes {
		for _, ev := range interopEvents() {
			t.Run(mode.name+"/"+ev.name, func(t *testing.T) {
				ctx := mode.ctx(context.Background())

				ours, err := ToKafka(ctx, ev.e, "t")
				if err != nil {
					t.Fatal(err)
				}
				t.Run("sarama decodes ours", func(t *testing.T) {
					assertSameEvent(t, &ev.e, decodeSarama(t, toConsumerMessage(ours)))
				})

				theirs := fromProducerMessage(t, encodeSarama(t, ctx, ev.e, "t"))
				t.Run("ours decodes sarama's", func(t *testing.T) {
					got, err := FromKafka(theirs)
					if err != nil {
						t.Fatal(err)
					}
					assertSameEvent(t, &ev.e, got)
				})

				t.Run("same record", func(t *testing.T) {
					if string(ours.Key) != string(theirs.Key) {
						t.Errorf("key: ours %q, sarama %q", ours.Key, theirs.Key)
					}
					if string(ours.Value) != string(theirs.Value) {
						t.Errorf("value:\n ours   %s\n sarama %s", ours.Value, theirs.Value)
					}
					oh, th := headerMap(t, ours.Headers), headerMap(t, theirs.Headers)
					if fmt.Sprint(oh) != fmt.Sprint(th) {
						t.Errorf("headers:\n ours   %v\n sarama %v", oh, th)
					}
				})
			})
		}
	}
}

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "cekafka-interop-test"
	c.Version = sarama.V2_8_0_0 // record headers need >= 0.11
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Metadata.Retry.Backoff = 50 * time.Millisecond
	return c
}

// TestInteropWithSaramaThroughBroker sends records through a real-protocol broker:
// kafka-go with our binding produces and a sarama consumer with kafka_sarama
// decodes; then a sarama producer with kafka_sarama produces and kafka-go with our
// binding decodes.
func TestInteropWithSaramaThroughBroker(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			ctx := mode.ctx(context.Background())
			toSarama, fromSarama := "to.sarama", "from.sarama"
			addrs := newCluster(t, toSarama, fromSarama)
			events := interopEvents()

			t.Run("kafka-go with ours to sarama with kafka_sarama", func(t *testing.T) {
				w, err := broker.NewWriter(broker.Config{Brokers: addrs})
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				all := make([]cloudevents.Event, len(events))
				for i, ev := range events {
					all[i] = ev.e
				}
				if err := NewSender(w).Send(mode.ctx(testCtx(t, 10*time.Second)), toSarama, all...); err != nil {
					t.Fatal(err)
				}

				consumer, err := sarama.NewConsumer(addrs, saramaConfig())
				if err != nil {
					t.Fatal(err)
				}
				defer consumer.Close()
				pc, err := consumer.ConsumePartition(toSarama, 0, sarama.OffsetOldest)
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				for _, ev := range events {
					select {
					case cm := <-pc.Messages():
						if want := ev.e.Extensions()["partitionkey"]; want != nil && string(cm.Key) != want {
							t.Errorf("%s: key %q, want %q", ev.name, cm.Key, want)
						}
						if got := kafka_sarama.NewMessageFromConsumerMessage(cm).ReadEncoding(); got != mode.encoding {
							t.Errorf("%s: kafka_sarama sees encoding %v, want %v", ev.name, got, mode.encoding)
						}
						assertSameEvent(t, &ev.e, decodeSarama(t, cm))
					case err := <-pc.Errors():
						t.Fatal(err)
					case <-time.After(10 * time.Second):
						t.Fatalf("sarama consumer got no record for %s", ev.name)
					}
				}
			})

			t.Run("sarama with kafka_sarama to kafka-go with ours", func(t *testing.T) {
				producer, err := sarama.NewSyncProducer(addrs, saramaConfig())
				if err != nil {
					t.Fatal(err)
				}
				defer producer.Close()
				for _, ev := range events {
					if _, _, err := producer.SendMessage(encodeSarama(t, ctx, ev.e, fromSarama)); err != nil {
						t.Fatal(err)
					}
				}
				for i, m := range readRecords(t, addrs, fromSarama, len(events)) {
					ev := events[i]
					if want := ev.e.Extensions()["partitionkey"]; want != nil && string(m.Key) != want {
						t.Errorf("%s: key %q, want %q", ev.name, m.Key, want)
					}
					if got := NewMessage(&m).ReadEncoding(); got != mode.encoding {
						t.Errorf("%s: encoding %v, want %v", ev.name, got, mode.encoding)
					}
					got, err := FromKafka(m)
					if err != nil {
						t.Fatal(err)
					}
					assertSameEvent(t, &ev.e, got)
				}
			})
		})
	}
}
