// Package publish turns normalized events into CloudEvents and produces them, and
// writes what could not become an event to the dead-letter topic. Both halves of the
// bridge publish through it, so every event gets the same attributes, privacy policy,
// schema check and trace context.
package publish

import (
	"context"
	"encoding/binary"
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
	"github.com/callbridge/callbridge/internal/cowmap"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/telemetry"
	"github.com/callbridge/callbridge/schemas"
)

// Writer produces records; *kafka.Writer with RequiredAcks=all is the real one.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// AsyncWriter is a Writer that can also report the outcome of a write when it comes,
// to a function, rather than to a goroutine waiting for it (broker.Batcher).
type AsyncWriter interface {
	Writer
	// Enqueue queues msgs and returns at once; done runs once with the outcome.
	Enqueue(ctx context.Context, msgs []kafka.Message, done func(error))
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
	name := schemaName(out.Type)
	data, err := p.data(out, name, 0)
	if err != nil {
		return cloudevents.Event{}, err
	}
	ev := cloudevents.NewEvent()
	ec, _ := ev.Context.(*ceevent.EventContextV1)
	ev.SetID(out.ID)
	if src, ok := urls.source(vendor, account); ok && ec != nil {
		ec.Source = src.ref
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
		u := schema.uri
		ec.DataSchema = &u
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

// data is out's event data as Build sets it, checked; name is its schema. room is
// how much to leave after it when that costs nothing.
func (p *Publisher) data(out event.Out, name string, room int) ([]byte, error) {
	data, valid, err := p.marshal(out.Data, room, out.RawUTF8)
	if err != nil {
		return nil, fmt.Errorf("publish: marshal %s data: %w", out.Type, err)
	}
	if p.Privacy.Mode() != privacy.Plain {
		var phones []string
		if out.Phones != nil {
			phones = out.Phones()
		}
		data = p.Privacy.Apply(data, phones)
		valid = false
	}
	// Every event is UTF-8 JSON: the parsers reject bodies that are not, and
	// json.Marshal replaces what is not, so this guards the splicing above (and
	// json.RawMessage values, which json.Marshal copies as they are).
	if !valid && !utf8.Valid(data) {
		return nil, &InvalidEventError{Type: out.Type, ID: out.ID, Err: errors.New("data is not valid UTF-8")}
	}
	if p.Validate {
		if err := schemas.Validate(name, data); err != nil {
			return nil, &InvalidEventError{Type: out.Type, ID: out.ID, Err: err}
		}
	}
	return data, nil
}

// urls holds the source and schema URIs of events as the setters parse them: they
// are few (an account's source, a type's schema), and parsing them for every event
// was a good part of Build.
var urls = parsedURLs{
	sources: cowmap.Map[[2]string, *sourceURL]{Max: maxParsedURLs},
	schemas: cowmap.Map[string, *schemaURL]{Max: maxParsedURLs},
}

type parsedURLs struct {
	sources cowmap.Map[[2]string, *sourceURL] // by vendor and account
	schemas cowmap.Map[string, *schemaURL]    // by schema name
}

// sourceURL is an event source as SetSource stores it, and its ce_source header
// ("" when the binding would refuse it).
type sourceURL struct {
	ref    types.URIRef
	header string
}

// schemaURL is a dataschema as SetDataSchema stores it, and its ce_dataschema
// header ("" when the binding would refuse it).
type schemaURL struct {
	uri    types.URI
	header string
}

// maxParsedURLs bounds each map should Build ever see unconfigured names.
const maxParsedURLs = 1024

// source is what SetSource(Source(vendor, account)) stores; ok is false when it
// fails to parse (then the setter records the error).
func (c *parsedURLs) source(vendor, account string) (*sourceURL, bool) {
	k := [2]string{vendor, account}
	if u, ok := c.sources.Get(k); ok {
		return u, true
	}
	pu, err := url.Parse(Source(vendor, account))
	if err != nil {
		return nil, false
	}
	u := &sourceURL{ref: types.URIRef{URL: *pu}}
	// What cekafka.BinaryMessage checks and writes.
	if h := u.ref.String(); strings.TrimSpace(h) != "" {
		u.header = h
	}
	return c.sources.Add(k, u), true
}

// schema is what SetDataSchema(schemas.URI(name)) stores (a copy for each event);
// ok is false when it would store something else.
func (c *parsedURLs) schema(name string) (*schemaURL, bool) {
	if u, ok := c.schemas.Get(name); ok {
		return u, true
	}
	s := schemas.URI(name)
	if strings.TrimSpace(s) != s {
		return nil, false
	}
	pu, err := url.Parse(s)
	if err != nil {
		return nil, false
	}
	u := &schemaURL{uri: types.URI{URL: *pu}}
	// What cekafka.BinaryMessage checks and writes.
	if u.uri.Validate() {
		u.header = u.uri.String()
	}
	return c.schemas.Add(name, u), true
}

// marshal encodes event data. The vendor's raw object is spliced in as it came
// (already valid JSON: the parser decoded it) instead of being re-scanned, or left
// out when OmitRaw is set. valid reports that data is known to be valid UTF-8:
// AppendJSON's output is (as event's tests prove), so only raw is checked, unless
// rawUTF8 says its parser did. room is left after the data written into a buffer of
// marshal's own.
func (p *Publisher) marshal(v any, room int, rawUTF8 bool) (data []byte, valid bool, err error) {
	if a, ok := v.(event.RawAppender); ok {
		// AppendJSON leaves raw out: no copy of the data without it is needed.
		raw := a.RawJSON()
		if p.OmitRaw {
			raw = nil
		}
		// json.Marshal's bytes without reflection, into a buffer with room for raw and
		// the record's headers so that nothing is copied again; 1 KiB covers a
		// typical event apart from its transcript.
		data = a.AppendJSON(getValue(len(raw) + 1024 + room))
		return spliceRaw(data, raw), rawUTF8 || utf8Valid(raw), nil
	}
	rc, ok := v.(event.RawCarrier)
	if !ok {
		data, err = json.Marshal(v)
		return data, false, err
	}
	// A carrier that cannot append itself (every one of event's can) is marshalled
	// without its raw, which is spliced in as it came.
	rest, raw := rc.WithoutRaw()
	if p.OmitRaw {
		raw = nil
	}
	if data, err = json.Marshal(rest); err != nil {
		return nil, false, err
	}
	return spliceRaw(data, raw), false, nil
}

// spliceRaw appends raw to the JSON object data as its last member, "raw".
func spliceRaw(data, raw []byte) []byte {
	if len(raw) == 0 || len(data) < 2 || data[len(data)-1] != '}' {
		return data
	}
	out := data[:len(data)-1]
	if len(data) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"raw":`...)
	out = append(out, raw...)
	return append(out, '}')
}

// Publish builds and produces outs in one write, returning once the cluster
// acknowledged every record (or the first error). Each record gets a producer span
// whose context travels in the event's traceparent/tracestate extensions
// (ce_traceparent, ce_tracestate) and in the plain traceparent/tracestate headers.
func (p *Publisher) Publish(ctx context.Context, vendor, account string, outs []event.Out) error {
	if len(outs) == 0 {
		return nil
	}
	msgs, spans, err := p.records(ctx, vendor, account, outs)
	defer endSpans(spans)
	if err != nil {
		return err
	}
	if err := p.write(ctx, msgs...); err != nil {
		// A record that was not acknowledged may still be queued in the producer:
		// its buffer is left to the garbage collector.
		return err
	}
	recycle(msgs)
	return nil
}

// PublishAsync is Publish that returns once the records are handed to the writer:
// done runs with the outcome once the cluster acknowledged them all (nil) or one
// failed. An event that cannot be built is reported at once, as Publish reports it,
// and done does not run. done must be quick: with an AsyncWriter it runs on the
// writer's goroutine; with another Writer, on a goroutine of its own.
func (p *Publisher) PublishAsync(ctx context.Context, vendor, account string, outs []event.Out, done func(error)) error {
	if len(outs) == 0 {
		done(nil)
		return nil
	}
	msgs, spans, err := p.records(ctx, vendor, account, outs)
	if err != nil {
		endSpans(spans)
		return err
	}
	aw, ok := p.Writer.(AsyncWriter)
	if !ok {
		go func() {
			defer endSpans(spans)
			err := p.write(ctx, msgs...)
			if err == nil {
				recycle(msgs)
			}
			done(err)
		}()
		return nil
	}
	start := time.Now()
	aw.Enqueue(ctx, msgs, func(err error) {
		err = p.written(ctx, msgs, start, err)
		endSpans(spans)
		if err == nil {
			recycle(msgs)
		}
		done(err)
	})
	return nil
}

// records builds the Kafka records of outs, and the spans to end once written.
func (p *Publisher) records(ctx context.Context, vendor, account string, outs []event.Out) ([]kafka.Message, []trace.Span, error) {
	msgs := make([]kafka.Message, 0, len(outs))
	var spans []trace.Span
	plain := cekafka.PlainContext(ctx)
	for _, out := range outs {
		topic := p.Topic(out.Topic)
		if plain {
			msg, span, ok, err := p.record(ctx, vendor, account, out, topic)
			if span != nil {
				spans = append(spans, span)
			}
			if err != nil {
				return nil, spans, err
			}
			if ok {
				msgs = append(msgs, msg)
				continue
			}
		}
		ev, err := p.Build(vendor, account, out)
		if err != nil {
			return nil, spans, err
		}
		_, span := telemetry.StartProducerSpan(ctx, topic, &ev)
		spans = append(spans, span)
		// The same record as cekafka.ToKafka, written straight from the event
		// (which nothing else holds, so the record may share its data).
		msg, err := cekafka.BinaryMessage(ctx, &ev, topic)
		if err != nil {
			return nil, spans, fmt.Errorf("publish: bind %s: %w", out.ID, err)
		}
		// The trace context also as the plain W3C headers OpenTelemetry's Kafka
		// instrumentations read.
		cekafka.AddTraceHeaders(&msg)
		msgs = append(msgs, msg)
	}
	return msgs, spans, nil
}

func endSpans(spans []trace.Span) {
	for _, s := range spans {
		s.End()
	}
}

// recycle returns the buffers of acknowledged records to the pool.
func recycle(msgs []kafka.Message) {
	for _, m := range msgs {
		putValue(m.Value)
	}
}

// Header names of the records record writes (cekafka's binary mode).
const (
	hID          = "ce_id"
	hSource      = "ce_source"
	hSpecVersion = "ce_specversion"
	hType        = "ce_type"
	hContentType = "content-type"
	hDataSchema  = "ce_dataschema"
	hSubject     = "ce_subject"
	hTime        = "ce_time"
	hAccount     = "ce_account"
	hKey         = "ce_partitionkey"
	hTraceParent = "ce_traceparent"
	hTraceState  = "ce_tracestate"
	hVendor      = "ce_vendor"
)

// headerRoom is the room left after event data for the header values record writes.
const headerRoom = 512

// record is the record Build, StartProducerSpan, cekafka.BinaryMessage and
// cekafka.AddTraceHeaders make of out (under a ctx cekafka.PlainContext accepts),
// written straight from out: no event, no extension map to fill and walk. ok is
// false, with nothing done, when the event would not be the usual valid one: then
// those make the record (or the error). The span, when not nil, is to be ended once
// the record is written.
func (p *Publisher) record(ctx context.Context, vendor, account string, out event.Out, topic string) (msg kafka.Message, span trace.Span, ok bool, err error) {
	// What the setters store, and the checks BinaryMessage makes of it.
	id, typ := strings.TrimSpace(out.ID), strings.TrimSpace(out.Type)
	if id == "" || typ == "" {
		return msg, nil, false, nil
	}
	src, ok := urls.source(vendor, account)
	if !ok || src.header == "" {
		return msg, nil, false, nil
	}
	name := schemaName(out.Type)
	schema, ok := urls.schema(name)
	if !ok || schema.header == "" {
		return msg, nil, false, nil
	}
	data, err := p.data(out, name, headerRoom)
	if err != nil {
		return msg, nil, false, err
	}
	t := out.Time
	if t.IsZero() {
		t = time.Now()
	}
	subject := strings.TrimSpace(out.Subject)
	span, sc := telemetry.StartRecordSpan(ctx, topic, id, typ, out.Key)
	var state string
	if sc.IsValid() {
		state = sc.TraceState().String()
	}

	// Header values go after the data when its buffer has room (it is recycled
	// with them once Kafka acknowledged the record), else in a buffer of their own.
	n := len(id) + len(src.header) + len(ceevent.CloudEventsVersionV1) + len(typ) + len(cloudevents.ApplicationJSON) +
		len(schema.header) + len(subject) + len(time.RFC3339Nano) + 6 + len(account) + 2*len(out.Key) + len(vendor) +
		telemetry.TraceParentLen + len(state)
	buf := data[len(data):]
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	headers := make([]kafka.Header, 0, 15)
	add := func(name, value string) {
		start := len(buf)
		buf = append(buf, value...)
		headers = append(headers, kafka.Header{Key: name, Value: buf[start:len(buf):len(buf)]})
	}
	// BinaryMessage's order: the attributes, then the extensions by name.
	add(hID, id)
	add(hSource, src.header)
	add(hSpecVersion, ceevent.CloudEventsVersionV1)
	add(hType, typ)
	add(hContentType, cloudevents.ApplicationJSON)
	add(hDataSchema, schema.header)
	if subject != "" {
		add(hSubject, subject)
	}
	start := len(buf)
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	headers = append(headers, kafka.Header{Key: hTime, Value: buf[start:len(buf):len(buf)]})
	add(hAccount, account)
	add(hKey, out.Key)
	var tp, ts []byte
	if sc.IsValid() {
		start := len(buf)
		buf = telemetry.AppendTraceParent(buf, sc)
		tp = buf[start:len(buf):len(buf)]
		headers = append(headers, kafka.Header{Key: hTraceParent, Value: tp})
		if state != "" {
			add(hTraceState, state)
			ts = headers[len(headers)-1].Value
		}
	}
	add(hVendor, vendor)
	// AddTraceHeaders' plain copies.
	if tp != nil {
		headers = append(headers, kafka.Header{Key: cekafka.TraceParentHeader, Value: tp})
		if ts != nil {
			headers = append(headers, kafka.Header{Key: cekafka.TraceStateHeader, Value: ts})
		}
	}
	msg = kafka.Message{Topic: topic, Headers: headers}
	if len(data) > 0 {
		msg.Value = data
	}
	if out.Key != "" {
		start := len(buf)
		buf = append(buf, out.Key...)
		msg.Key = buf[start:len(buf):len(buf)]
	}
	return msg, span, true, nil
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
	return p.written(ctx, msgs, start, p.Writer.WriteMessages(ctx, msgs...))
}

// written records the outcome of writing msgs, begun at start, in metrics.
func (p *Publisher) written(ctx context.Context, msgs []kafka.Message, start time.Time, err error) error {
	m := p.Telemetry.Meters()
	if err != nil {
		for _, msg := range msgs {
			m.ProducerError(ctx, msg.Topic)
		}
	} else {
		// Acknowledged together: one reading of the clock serves every record.
		d := time.Since(start)
		for _, msg := range msgs {
			m.PublishLatency(ctx, msg.Topic, d)
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

// utf8Valid is utf8.Valid, quicker on the Chinese text of vendor objects: ASCII is
// skipped eight bytes at a time, and three-byte runes whose lead byte admits any
// continuation bytes (all but 0xE0 and 0xED) are checked inline; from the first
// other rune on, utf8.Valid decides.
func utf8Valid(b []byte) bool {
	i := 0
	for i < len(b) {
		if i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
			i += 8
			continue
		}
		switch c := b[i]; {
		case c < utf8.RuneSelf:
			i++
		case c >= 0xE1 && c <= 0xEF && c != 0xED && i+2 < len(b) && b[i+1]&0xC0 == 0x80 && b[i+2]&0xC0 == 0x80:
			i += 3
		default:
			return utf8.Valid(b[i:])
		}
	}
	return true
}
