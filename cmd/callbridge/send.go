package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/google/uuid"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/bridge/outbound"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/schemas"
)

// send wraps a JSON command in a CloudEvent and produces it to the command's topic.
func send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := fmt.Sprintf("usage: callbridge send TYPE -f FILE (TYPE: %s)", strings.Join(outbound.CommandTopics, ", "))
	typ := "TYPE"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		typ, args = args[0], args[1:]
		if !slices.Contains(outbound.CommandTopics, typ) {
			return usageError{fmt.Errorf("unknown command type %q (want one of %s)", typ, strings.Join(outbound.CommandTopics, ", "))}
		}
	}
	fs := newFlags("send "+typ, stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	file := fs.String("f", "", "JSON file with the command data ('-' for standard input)")
	brokers := fs.String("brokers", "", "Kafka brokers (default $CALLBRIDGE_KAFKA_BROKERS or localhost:9092)")
	id := fs.String("id", "", "CloudEvent id, the idempotency key (default a new UUID)")
	key := fs.String("key", "", "Kafka key (default the event id)")
	structured := fs.Bool("structured", false, "produce in structured mode instead of binary")
	skipCheck := fs.Bool("no-validate", false, "produce even when the data does not match the command schema")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if typ == "TYPE" {
		return usageError{errors.New(usage)}
	}
	if *file == "" {
		return usageError{errors.New("-f FILE is required")}
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	if !json.Valid(data) {
		return usageError{fmt.Errorf("%s is not JSON", *file)}
	}
	if err := schemas.Validate(typ, data); err != nil && !*skipCheck {
		return usageError{fmt.Errorf("%s is not a valid %s command (use --no-validate to send it anyway): %w", *file, typ, err)}
	}
	cfg, err := config.Load()
	if err != nil {
		return usageError{err}
	}
	if *brokers != "" {
		cfg.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	if *id == "" {
		*id = uuid.NewString()
	}
	if *key == "" {
		*key = *id
	}
	ev := cloudevents.NewEvent()
	ev.SetID(*id)
	ev.SetSource("/callbridge/cli")
	ev.SetType("callbridge." + typ)
	ev.SetTime(time.Now())
	ev.SetExtension("partitionkey", *key)
	if err := ev.SetData(cloudevents.ApplicationJSON, json.RawMessage(data)); err != nil {
		return err
	}
	if *structured {
		ctx = binding.WithForceStructured(ctx)
	}
	msg, err := cekafka.ToKafka(ctx, ev, cfg.TopicPrefix+typ)
	if err != nil {
		return err
	}
	w, err := broker.NewWriter(bridge.BrokerConfig(cfg))
	if err != nil {
		return err
	}
	defer broker.CloseWriter(w)
	if err := w.WriteMessages(ctx, msg); err != nil {
		return fmt.Errorf("produce to %s: %w", msg.Topic, err)
	}
	fmt.Fprintln(stdout, *id)
	return nil
}
