package cekafka

import (
	"bytes"
	"context"
	"io"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/segmentio/kafka-go"
)

type skipKeyKey struct{}

// WithSkipKeyMapping returns a context under which WriteMessage leaves the record
// key alone instead of setting it from the partitionkey extension.
func WithSkipKeyMapping(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipKeyKey{}, true)
}

// WriteMessage fills out (headers, value and key; Topic and the rest untouched)
// from the message in, the way kafka_sarama.WriteProducerMessage fills a sarama
// record. It writes binary mode unless ctx asks for structured mode with
// binding.WithForceStructured. Unless ctx comes from WithSkipKeyMapping, the key is
// set from the partitionkey extension of in (as read, before transformers) when it
// has one. As in binding.Write, a structured in is copied through verbatim only
// when there is nothing to transform (no transformers, key mapping skipped).
func WriteMessage(ctx context.Context, in binding.Message, out *kafka.Message, transformers ...binding.Transformer) error {
	var key string
	skipKey, _ := ctx.Value(skipKeyKey{}).(bool)
	if !skipKey {
		// The same extraction as kafka_sarama: a transformer sees the metadata
		// whichever path binding.Write takes.
		transformers = append(transformers, binding.TransformerFunc(func(r binding.MessageMetadataReader, _ binding.MessageMetadataWriter) error {
			ext := r.GetExtension(partitionKey)
			if types.IsZero(ext) {
				return nil
			}
			s, err := types.Format(ext)
			if err != nil {
				return err
			}
			key = s
			return nil
		}))
	}
	w := (*recordWriter)(out)
	if _, err := binding.Write(ctx, in, w, w, transformers...); err != nil {
		return err
	}
	if key != "" {
		out.Key = []byte(key)
	}
	return nil
}

// recordWriter writes a message into a kafka-go record.
type recordWriter kafka.Message

var (
	_ binding.StructuredWriter = (*recordWriter)(nil)
	_ binding.BinaryWriter     = (*recordWriter)(nil)
)

func (w *recordWriter) SetStructuredEvent(_ context.Context, f format.Format, event io.Reader) error {
	w.Headers = []kafka.Header{{Key: contentTypeHeader, Value: []byte(f.MediaType())}}
	v, err := readAll(event)
	if err != nil {
		return err
	}
	w.Value = v
	return nil
}

// Start drops whatever headers the record had: they would otherwise mix with the
// event's.
func (w *recordWriter) Start(context.Context) error {
	// Sized for the usual event: specversion, id, source, type, subject, time,
	// dataschema, content-type and a handful of extensions.
	w.Headers = make([]kafka.Header, 0, 14)
	w.Value = nil
	return nil
}

func (w *recordWriter) End(context.Context) error { return nil }

func (w *recordWriter) SetData(r io.Reader) error {
	v, err := readAll(r)
	if err != nil {
		return err
	}
	w.Value = v
	return nil
}

// attrHeaders maps attribute names of every spec version to their header names,
// saving a string concatenation per attribute per record.
var attrHeaders = func() map[string]string {
	m := map[string]string{}
	for _, v := range spec.New().Versions() {
		for _, a := range v.Attributes() {
			m[a.Name()] = prefix + a.Name()
		}
	}
	return m
}()

func (w *recordWriter) SetAttribute(attr spec.Attribute, value any) error {
	if attr.Kind() == spec.DataContentType {
		return w.set(contentTypeHeader, value)
	}
	name, ok := attrHeaders[attr.Name()]
	if !ok {
		name = prefix + attr.Name()
	}
	return w.set(name, value)
}

func (w *recordWriter) SetExtension(name string, value any) error {
	return w.set(prefix+name, value)
}

// set replaces header name with value, or removes it when value is nil. Every
// attribute and extension is a string on Kafka.
func (w *recordWriter) set(name string, value any) error {
	w.remove(name)
	if value == nil {
		return nil
	}
	s, err := types.Format(value)
	if err != nil {
		return err
	}
	w.Headers = append(w.Headers, kafka.Header{Key: name, Value: []byte(s)})
	return nil
}

func (w *recordWriter) remove(name string) {
	for i, h := range w.Headers {
		if h.Key == name {
			w.Headers = append(w.Headers[:i], w.Headers[i+1:]...)
			return
		}
	}
}

// readAll copies r; the copy keeps the record independent of the event it came
// from. The readers the binding hands over know their length, so one allocation
// of the right size does.
func readAll(r io.Reader) ([]byte, error) {
	var n int
	switch r := r.(type) {
	case *bytes.Reader:
		n = r.Len()
	case *bytes.Buffer:
		n = r.Len()
	default:
		return io.ReadAll(r)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
