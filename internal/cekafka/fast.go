package cekafka

import (
	"context"
	"mime"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/segmentio/kafka-go"
)

// BinaryMessage returns the record ToKafka(ctx, *e, topic) returns, byte for byte
// (key, value, header names and values), without going through the binding API:
// the binary-mode record is written straight from e's v1.0 context. It is the
// producer's hot path; ToKafka stays the general binding.
//
// Whenever the result could differ from ToKafka's, BinaryMessage simply calls
// ToKafka: an invalid event (so the error is ToKafka's too), a context that is not
// v1.0, an extension that is not a lower-case name or whose value does not format,
// and a ctx carrying anything binding.Write or WriteMessage consults
// (binding.WithForceStructured, WithSkipKeyMapping, ...).
//
// Two differences that do not reach the wire: the extension headers come after the
// attribute headers sorted by name (ToKafka's follow Go's map order, which varies),
// and the record value is e's data itself rather than a copy, so e's data must not
// be modified while the record is in use.
func BinaryMessage(ctx context.Context, e *cloudevents.Event, topic string) (kafka.Message, error) {
	if m, ok := binaryMessage(ctx, e, topic); ok {
		return m, nil
	}
	return ToKafka(ctx, *e, topic)
}

// bindingCtxKeys are the context keys binding.Write consults when it writes an
// event (such as the preferred encoding binding.WithForceStructured sets). They are
// unexported, so they are learnt once by recording the lookups of a real write.
var bindingCtxKeys = func() []any {
	rec := &keyRecorder{Context: context.Background()}
	e := event.New()
	e.SetID("probe")
	e.SetSource("/probe")
	e.SetType("probe")
	m := kafka.Message{}
	_, _ = binding.Write(rec, binding.ToMessage(&e), nil, (*recordWriter)(&m))
	return rec.keys
}()

type keyRecorder struct {
	context.Context
	keys []any
}

func (r *keyRecorder) Value(key any) any {
	if !slices.Contains(r.keys, key) {
		r.keys = append(r.keys, key)
	}
	return nil
}

// attribute names of v1.0: an extension of that name would replace the
// attribute's header in ToKafka.
func isV1AttributeHeader(name string) bool {
	switch name {
	case "id", "source", "specversion", "type", "dataschema", "subject", "time":
		return true
	}
	return false
}

// validExtensionName reports whether name is what EventContextV1.SetExtension
// stores: non-empty lower-case letters and digits.
func validExtensionName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// PlainContext reports whether ctx carries nothing that binding.Write or
// WriteMessage consults (binding.WithForceStructured, WithSkipKeyMapping, ...):
// under it, ToKafka writes a valid v1.0 event's binary-mode record as BinaryMessage
// does.
func PlainContext(ctx context.Context) bool {
	if ctx.Value(skipKeyKey{}) != nil {
		return false
	}
	for _, k := range bindingCtxKeys {
		if ctx.Value(k) != nil {
			return false
		}
	}
	return true
}

// binaryMessage is the fast path; ok is false when ToKafka must decide.
func binaryMessage(ctx context.Context, e *cloudevents.Event, topic string) (kafka.Message, bool) {
	if !PlainContext(ctx) {
		return kafka.Message{}, false
	}
	ec, ok := e.Context.(*event.EventContextV1)
	if !ok || ec == nil || len(e.FieldErrors) > 0 {
		return kafka.Message{}, false
	}

	// The checks of Event.Validate, so that an event failing them goes to ToKafka
	// and gets its error.
	if strings.TrimSpace(ec.ID) == "" || strings.TrimSpace(ec.Type) == "" {
		return kafka.Message{}, false
	}
	source := ec.Source.String()
	if strings.TrimSpace(source) == "" {
		return kafka.Message{}, false
	}
	var contentType string
	if ec.DataContentType != nil {
		contentType = *ec.DataContentType
		if !validMediaType(contentType) {
			return kafka.Message{}, false
		}
	}
	var schema string
	if ec.DataSchema != nil {
		if !ec.DataSchema.Validate() {
			return kafka.Message{}, false
		}
		schema = ec.DataSchema.String()
	}
	var subject string
	if ec.Subject != nil {
		subject = *ec.Subject
		if strings.TrimSpace(subject) == "" {
			return kafka.Message{}, false
		}
	}
	var t time.Time
	if ec.Time != nil {
		t = ec.Time.Time
	}

	// One buffer holds every header value and the key. Extension values that are
	// not strings are formatted first.
	n := len(ec.ID) + len(source) + len(event.CloudEventsVersionV1) + len(ec.Type) + len(contentType) + len(schema) + len(subject)
	if !t.IsZero() {
		n += len(time.RFC3339Nano) + 6 // a zone offset never appears: the time is UTC
	}
	// Two more than the record needs: room for the plain trace headers AddTraceHeaders
	// appends.
	nh := 8 + len(ec.Extensions) + 2
	var formatted map[string]string
	for name, v := range ec.Extensions {
		if !validExtensionName(name) || isV1AttributeHeader(name) {
			return kafka.Message{}, false
		}
		switch v := v.(type) {
		case string:
			n += len(v)
		case nil:
		default:
			s, err := types.Format(v)
			if err != nil {
				return kafka.Message{}, false
			}
			if formatted == nil {
				formatted = make(map[string]string, len(ec.Extensions))
			}
			formatted[name] = s
			n += len(s)
		}
	}
	var key string
	if ext, ok := ec.Extensions[partitionKey]; ok && !types.IsZero(ext) {
		if s, ok := ext.(string); ok {
			key = s
		} else {
			key = formatted[partitionKey]
		}
		n += len(key)
	}

	buf := make([]byte, 0, n)
	headers := make([]kafka.Header, 0, nh)
	add := func(name, value string) {
		start := len(buf)
		buf = append(buf, value...)
		headers = append(headers, kafka.Header{Key: name, Value: buf[start:len(buf):len(buf)]})
	}
	// The order of binding.ReadBinary for v1.0, blank attributes left out as it
	// leaves them out.
	if ec.ID != "" {
		add(prefix+"id", ec.ID)
	}
	add(prefix+"source", source)
	add(prefix+"specversion", event.CloudEventsVersionV1)
	if ec.Type != "" {
		add(prefix+"type", ec.Type)
	}
	if contentType != "" {
		add(contentTypeHeader, contentType)
	}
	if schema != "" {
		add(prefix+"dataschema", schema)
	}
	if subject != "" {
		add(prefix+"subject", subject)
	}
	if !t.IsZero() {
		// types.FormatTime.
		start := len(buf)
		buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
		headers = append(headers, kafka.Header{Key: prefix + "time", Value: buf[start:len(buf):len(buf)]})
	}
	// Extensions by name (sorting the names rather than the headers spares write
	// barriers); ToKafka's follow map order.
	names := make([]string, 0, 16)
	for name := range ec.Extensions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch v := ec.Extensions[name].(type) {
		case string:
			add(extHeader(name), v)
		case nil:
			// ToKafka writes no header for a nil value.
		default:
			add(extHeader(name), formatted[name])
		}
	}

	m := kafka.Message{Topic: topic, Headers: headers}
	// binding.ReadBinary passes data only when there is some: the value is nil
	// for an empty one.
	if data := e.DataEncoded; len(data) > 0 {
		m.Value = data
	}
	if key != "" {
		start := len(buf)
		buf = append(buf, key...)
		m.Key = buf[start:len(buf):len(buf)]
	}
	return m, true
}

// extHeaders spares the concatenation for the extensions the product sets.
var extHeaders = map[string]string{}

func init() {
	for _, name := range []string{"vendor", "account", partitionKey, "traceparent", "tracestate"} {
		extHeaders[name] = prefix + name
	}
}

func extHeader(name string) string {
	if h, ok := extHeaders[name]; ok {
		return h
	}
	return prefix + name
}

// validMediaType is the datacontenttype check of EventContextV1.Validate, without
// parsing the media type every event sends.
func validMediaType(ct string) bool {
	switch ct {
	case cloudevents.ApplicationJSON, cloudevents.TextPlain, cloudevents.ApplicationXML:
		return true
	}
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return false
	}
	_, _, err := mime.ParseMediaType(ct)
	return err == nil
}
