// Package publish turns normalized events into CloudEvents and produces them, and
// writes what could not become an event to the dead-letter topic. Both halves of the
// bridge publish through it, so every event gets the same attributes, privacy policy,
// schema check and trace context.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	ceevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/schemas"
)

// Writer produces records; *kafka.Writer with RequiredAcks=all is the real one.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Publisher produces events. Zero values of the optional fields are safe.
type Publisher struct {
	// Writer produces the records (required).
	Writer Writer
	// TopicPrefix is prepended to every logical topic name.
	TopicPrefix string
	// Privacy rewrites phone numbers in event data; nil publishes them as sent.
	Privacy *privacy.Policy
	// OmitRaw drops the vendor's verbatim object from event data.
	OmitRaw bool
	// Validate checks every event's data against its JSON Schema before producing;
	// an event that fails is not produced and the error says why.
	Validate bool
	// Telemetry records producer spans and metrics; nil records nothing.
	Telemetry *telemetry.Telemetry
}

// InvalidEventError is an event whose data does not match its schema. Retrying cannot
// help: callers send its input to the dead-letter topic.
type InvalidEventError struct {
	Type, ID string
	Err      error
}

func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("publish: %s %s does not match its schema: %v", e.Type, e.ID, e.Err)
}

func (e *InvalidEventError) Unwrap() error { return e.Err }

// Topic returns the physical name of a logical topic.
func (p *Publisher) Topic(name string) string { return p.TopicPrefix + name }

// Source is the CloudEvent source of an account's events.
func Source(vendor, account string) string { return "/callbridge/" + vendor + "/" + account }

// schemaName maps an event type to its schema: results share one schema.
func schemaName(typ string) string {
	name := strings.TrimPrefix(typ, "callbridge.")
	if strings.HasPrefix(name, "command.") {
		return "command.result"
	}
	return name
}

// Build returns the CloudEvent for out, with data serialized under the policy.
func (p *Publisher) Build(vendor, account string, out event.Out) (cloudevents.Event, error) {
	data, err := p.marshal(out.Data)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("publish: marshal %s data: %w", out.Type, err)
	}
	if p.Privacy.Mode() != privacy.Plain {
		var phones []string
		if out.Phones != nil {
			phones = out.Phones()
		}
		data = p.Privacy.Apply(data, phones)
	}
	name := schemaName(out.Type)
	// Every event is UTF-8 JSON: the parsers reject bodies that are not, and
	// json.Marshal replaces what is not, so this guards the splicing above.
	if !utf8.Valid(data) {
		return cloudevents.Event{}, &InvalidEventError{Type: out.Type, ID: out.ID, Err: errors.New("data is not valid UTF-8")}
	}
	if p.Validate {
		if err := schemas.Validate(name, data); err != nil {
			return cloudevents.Event{}, &InvalidEventError{Type: out.Type, ID: out.ID, Err: err}
		}
	}
	ev := cloudevents.NewEvent()
	ec, _ := ev.Context.(*ceevent.EventContextV1)
	ev.SetID(out.ID)
	if src, ok := urls.source(vendor, account); ok && ec != nil {
		ec.Source = src
	} else {
		ev.SetSource(Source(vendor, account))
	}
	ev.SetType(out.Type)
	if out.Subject != "" {
		ev.SetSubject(out.Subject)
	}
	t := out.Time
	if t.IsZero() {
		t = time.Now()
	}
	ev.SetTime(t)
	if schema, ok := urls.schema(name); ok && ec != nil {
		ec.DataSchema = &schema
	} else {
		ev.SetDataSchema(schemas.URI(name))
	}
	if ec != nil {
		// What SetExtension stores (these names are valid and lower-case, and it
		// keeps a string as it is), at once: one call each cost a map growth, a
		// boxed value and a concatenation.
		ec.Extensions = map[string]any{"vendor": vendor, "account": account, "partitionkey": out.Key}
	} else {
		ev.SetExtension("vendor", vendor)
		ev.SetExtension("account", account)
		ev.SetExtension("partitionkey", out.Key)
	}
	// data is compact JSON from json.Marshal: set it as is rather than through
	// SetData, which would parse and re-encode it.
	ev.SetDataContentType(cloudevents.ApplicationJSON)
	ev.DataEncoded = data
	return ev, nil
}

// urls holds the source and schema URIs of events as the setters parse them: they
// are few (an account's source, a type's schema), and parsing them for every event
// was a good part of Build.
var urls parsedURLs

type parsedURLs struct {
	mu      sync.RWMutex
	sources map[[2]string]types.URIRef // by vendor and account
	schemas map[string]types.URI       // by schema name
}

// maxParsedURLs bounds each map should Build ever see unconfigured names.
const maxParsedURLs = 1024

// source is what SetSource(Source(vendor, account)) stores; ok is false when it
// fails to parse (then the setter records the error).
func (c *parsedURLs) source(vendor, account string) (types.URIRef, bool) {
	k := [2]string{vendor, account}
	c.mu.RLock()
	u, ok := c.sources[k]
	c.mu.RUnlock()
	if ok {
		return u, true
	}
	pu, err := url.Parse(Source(vendor, account))
	if err != nil {
		return types.URIRef{}, false
	}
	u = types.URIRef{URL: *pu}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sources == nil {
		c.sources = map[[2]string]types.URIRef{}
	}
	if len(c.sources) < maxParsedURLs {
		c.sources[k] = u
	}
	return u, true
}

// schema is what SetDataSchema(schemas.URI(name)) stores (a copy for each event);
// ok is false when it would store something else.
func (c *parsedURLs) schema(name string) (types.URI, bool) {
	c.mu.RLock()
	u, ok := c.schemas[name]
	c.mu.RUnlock()
	if ok {
		return u, true
	}
	s := schemas.URI(name)
	if strings.TrimSpace(s) != s {
		return types.URI{}, false
	}
	pu, err := url.Parse(s)
	if err != nil {
		return types.URI{}, false
	}
	u = types.URI{URL: *pu}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schemas == nil {
		c.schemas = map[string]types.URI{}
	}
	if len(c.schemas) < maxParsedURLs {
		c.schemas[name] = u
	}
	return u, true
}

// marshal encodes event data. The vendor's raw object is spliced in as it came
// (already valid JSON: the parser decoded it) instead of being re-scanned, or left
// out when OmitRaw is set.
func (p *Publisher) marshal(v any) ([]byte, error) {
	rc, ok := v.(event.RawCarrier)
	if !ok {
		return json.Marshal(v)
	}
	rest, raw := rc.WithoutRaw()
	if p.OmitRaw {
		raw = nil
	}
	var data []byte
	if a, ok := rest.(event.JSONAppender); ok {
		// json.Marshal's bytes without reflection, into a buffer with room for raw so
		// that splicing it in below copies nothing again; 1 KiB covers a typical
		// event apart from its transcript.
		data = a.AppendJSON(getValue(len(raw) + 1024))
	} else {
		var err error
		if data, err = json.Marshal(rest); err != nil {
			return nil, err
		}
	}
	if len(raw) == 0 || len(data) < 2 || data[len(data)-1] != '}' {
		return data, nil
	}
	out := data[:len(data)-1]
	if len(data) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"raw":`...)
	out = append(out, raw...)
	return append(out, '}'), nil
}

// Publish builds and produces outs in one write, returning once the cluster
// acknowledged every record (or the first error). Each record gets a producer span
// whose context travels in the event's traceparent/tracestate extensions
// (ce_traceparent, ce_tracestate) and in the plain traceparent/tracestate headers.
func (p *Publisher) Publish(ctx context.Context, vendor, account string, outs []event.Out) error {
	if len(outs) == 0 {
		return nil
	}
	msgs := make([]kafka.Message, 0, len(outs))
	spans := make([]trace.Span, 0, len(outs))
	defer func() {
		for _, s := range spans {
			s.End()
		}
	}()
	for _, out := range outs {
		ev, err := p.Build(vendor, account, out)
		if err != nil {
			return err
		}
		topic := p.Topic(out.Topic)
		_, span := telemetry.StartProducerSpan(ctx, topic, &ev)
		spans = append(spans, span)
		// The same record as cekafka.ToKafka, written straight from the event
		// (which nothing else holds, so the record may share its data).
		msg, err := cekafka.BinaryMessage(ctx, &ev, topic)
		if err != nil {
			return fmt.Errorf("publish: bind %s: %w", out.ID, err)
		}
		// The trace context also as the plain W3C headers OpenTelemetry's Kafka
		// instrumentations read.
		cekafka.AddTraceHeaders(&msg)
		msgs = append(msgs, msg)
	}
	if err := p.write(ctx, msgs...); err != nil {
		// A record that was not acknowledged may still be queued in the producer:
		// its buffer is left to the garbage collector.
		return err
	}
	for _, m := range msgs {
		putValue(m.Value)
	}
	return nil
}

// values recycles the buffers event data is written into (see marshal): Publish
// returns them once Kafka acknowledged their records, when nothing reads them any
// more.
var values sync.Pool // of *[]byte

// maxPooledValue keeps the pool from holding on to the odd large record.
const maxPooledValue = 64 << 10

func getValue(size int) []byte {
	if b, ok := values.Get().(*[]byte); ok {
		return slices.Grow((*b)[:0], size)
	}
	return make([]byte, 0, size)
}

func putValue(buf []byte) {
	if cap(buf) > 0 && cap(buf) <= maxPooledValue {
		values.Put(&buf)
	}
}

func (p *Publisher) write(ctx context.Context, msgs ...kafka.Message) error {
	start := time.Now()
	err := p.Writer.WriteMessages(ctx, msgs...)
	m := p.Telemetry.Meters()
	for _, msg := range msgs {
		if err != nil {
			m.ProducerError(ctx, msg.Topic)
		} else {
			m.PublishLatency(ctx, msg.Topic, time.Since(start))
		}
	}
	if err != nil {
		return fmt.Errorf("publish: produce %d records: %w", len(msgs), err)
	}
	return nil
}

// DeadLetter is a record that could not become an event or be executed.
type DeadLetter struct {
	// Reason says why, for the operator.
	Reason string
	// Source is "webhook" or "command".
	Source string
	// Vendor and Account, where known.
	Vendor, Account string
	// Body is the input verbatim.
	Body []byte
	// Key is the original record's key, if any.
	Key []byte
	// Headers are the original record's headers, kept so a replay reproduces it.
	Headers []kafka.Header
	// Topic, Partition and Offset locate the original record, for commands.
	Topic     string
	Partition int
	Offset    int64
}

// Dead-letter header names.
const (
	HeaderReason    = "callbridge-dlq-reason"
	HeaderSource    = "callbridge-dlq-source"
	HeaderVendor    = "callbridge-dlq-vendor"
	HeaderAccount   = "callbridge-dlq-account"
	HeaderTopic     = "callbridge-dlq-topic"
	HeaderPartition = "callbridge-dlq-partition"
	HeaderOffset    = "callbridge-dlq-offset"
	HeaderTime      = "callbridge-dlq-time"
)

// DeadLetter writes d to the dead-letter topic and waits for the ack.
func (p *Publisher) DeadLetter(ctx context.Context, d DeadLetter, reasonKind string) error {
	headers := append([]kafka.Header(nil), d.Headers...)
	add := func(k, v string) {
		if v != "" {
			headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
		}
	}
	add(HeaderReason, d.Reason)
	add(HeaderSource, d.Source)
	add(HeaderVendor, d.Vendor)
	add(HeaderAccount, d.Account)
	add(HeaderTopic, d.Topic)
	if d.Topic != "" {
		add(HeaderPartition, strconv.Itoa(d.Partition))
		add(HeaderOffset, strconv.FormatInt(d.Offset, 10))
	}
	add(HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	key := d.Key
	if key == nil && d.Account != "" {
		key = []byte(d.Account)
	}
	err := p.write(ctx, kafka.Message{Topic: p.Topic(event.TopicDLQ), Key: key, Value: d.Body, Headers: headers})
	if err == nil {
		p.Telemetry.Meters().DLQWrite(ctx, reasonKind)
	}
	return err
}
