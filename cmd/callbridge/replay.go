package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/publish"
)

// replay re-delivers dead letters once their cause is fixed: dead-lettered commands
// are produced again to the topic they came from (headers and key as they were), and
// dead-lettered webhooks are POSTed again to a bridge's webhook endpoint. Progress is
// kept in a consumer group, so each dead letter is replayed once.
func replay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", stderr)
	group := fs.String("group", "callbridge-replay", "consumer group that remembers what was replayed")
	webhookURL := fs.String("webhook-url", "", "bridge base URL to POST dead-lettered webhooks to, e.g. http://callbridge:8080")
	only := fs.String("source", "all", "replay only 'webhook' or 'command' dead letters, or 'all'")
	reason := fs.String("reason-contains", "", "replay only dead letters whose reason contains this text")
	limit := fs.Int("limit", 0, "stop after this many replays (0: no limit)")
	dry := fs.Bool("dry-run", false, "print what would be replayed without doing it or moving the group")
	brokers := fs.String("brokers", "", "Kafka brokers (default $CALLBRIDGE_KAFKA_BROKERS or localhost:9092)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	cfg, err := config.Load()
	if err != nil {
		return usageError{err}
	}
	if *brokers != "" {
		cfg.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	bc := bridge.BrokerConfig(cfg)
	// A dead-letter topic that cannot be read is not an empty one.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = broker.Ping(pctx, bc)
	cancel()
	if err != nil {
		return fmt.Errorf("replay: Kafka at %s: %w", strings.Join(bc.Brokers, ","), err)
	}
	dialer, err := bc.Dialer()
	if err != nil {
		return err
	}
	w, err := broker.NewWriter(bc)
	if err != nil {
		return err
	}
	defer broker.CloseWriter(w)
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: bc.Brokers, Dialer: dialer, GroupID: *group,
		Topic: cfg.TopicPrefix + event.TopicDLQ, StartOffset: kafka.FirstOffset, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	tokens := map[string]string{}
	for _, a := range cfg.Accounts {
		tokens[a.Name] = a.WebhookToken
	}
	n := 0
	for *limit == 0 || n < *limit {
		// Stop once caught up: replay is a batch job, not a daemon.
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		m, err := r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				break
			}
			return err
		}
		h := headers(m.Headers)
		src := h[publish.HeaderSource]
		match := (*only == "all" || *only == src) && strings.Contains(h[publish.HeaderReason], *reason)
		if match {
			what := src
			if a := h[publish.HeaderAccount]; a != "" {
				what += " " + a
			}
			fmt.Fprintf(stdout, "%s offset %d (%s): %s\n", verb(*dry), m.Offset, what, h[publish.HeaderReason])
			if !*dry {
				if err := redeliver(ctx, w, m, h, *webhookURL, tokens); err != nil {
					return fmt.Errorf("offset %d: %w", m.Offset, err)
				}
			}
			n++
		}
		if !*dry {
			if err := r.CommitMessages(ctx, m); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "%d dead letters %s\n", n, map[bool]string{true: "would be replayed", false: "replayed"}[*dry])
	return nil
}

func verb(dry bool) string {
	if dry {
		return "would replay"
	}
	return "replaying"
}

func headers(hs []kafka.Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

func redeliver(ctx context.Context, w *kafka.Writer, m kafka.Message, h map[string]string, webhookURL string, tokens map[string]string) error {
	switch h[publish.HeaderSource] {
	case "command":
		var keep []kafka.Header
		for _, hd := range m.Headers {
			if !strings.HasPrefix(hd.Key, "callbridge-dlq-") {
				keep = append(keep, hd)
			}
		}
		return w.WriteMessages(ctx, kafka.Message{Topic: h[publish.HeaderTopic], Key: m.Key, Value: m.Value, Headers: keep})
	case "webhook":
		if webhookURL == "" {
			return usageError{errors.New("--webhook-url is required to replay webhooks")}
		}
		account := h[publish.HeaderAccount]
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(webhookURL, "/")+"/webhooks/"+account, bytes.NewReader(m.Value))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Callbridge-Token", tokens[account])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "success" {
			return fmt.Errorf("bridge answered %d %q", resp.StatusCode, body)
		}
		return nil
	}
	return fmt.Errorf("unknown dead-letter source %q", h[publish.HeaderSource])
}
