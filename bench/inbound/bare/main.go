// Command bare is the inbound benchmark's baseline: the least a webhook receiver that
// stores webhooks in Kafka can do. A bare net/http handler reads the body and produces
// it as it came, answering "success" once Kafka acknowledged: by default with kafka-go's
// Writer as callbridge configures it (broker.NewWriter: acks=all, 1 ms batches), or
// with -producer batcher through the producer callbridge's webhooks use now
// (broker.Batcher: acks=all, a partition's request sent as soon as none is in flight).
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/broker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "HTTP address")
	brokers := flag.String("brokers", "127.0.0.1:19092", "Kafka bootstrap broker")
	topic := flag.String("topic", "callbridge.call.finished", "topic to produce to")
	timeout := flag.Duration("timeout", 10*time.Second, "produce timeout")
	producer := flag.String("producer", "writer", "writer (kafka.Writer, 1 ms batches) or batcher (broker.Batcher)")
	flag.Parse()
	cfg := broker.Config{Brokers: []string{*brokers}, ProduceTimeout: *timeout}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := broker.EnsureTopics(ctx, cfg, []broker.TopicSpec{{Name: *topic, Partitions: 3}}); err != nil {
		log.Fatal(err)
	}
	cancel()
	var w interface {
		WriteMessages(context.Context, ...kafka.Message) error
	}
	switch *producer {
	case "writer":
		kw, err := broker.NewWriter(cfg)
		if err != nil {
			log.Fatal(err)
		}
		w = kw
	case "batcher":
		tr, err := cfg.Transport()
		if err != nil {
			log.Fatal(err)
		}
		b, err := broker.NewBatcher(cfg, tr)
		if err != nil {
			log.Fatal(err)
		}
		w = b
	default:
		log.Fatalf("-producer %q: want writer or batcher", *producer)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{account}", func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "could not read body", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), *timeout)
		defer cancel()
		if err := w.WriteMessages(ctx, kafka.Message{Topic: *topic, Key: []byte(r.PathValue("account")), Value: body}); err != nil {
			http.Error(rw, "kafka unavailable", http.StatusServiceUnavailable)
			return
		}
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(rw, "success")
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(rw, "ok") })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
