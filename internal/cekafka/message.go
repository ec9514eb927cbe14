// Package cekafka is a CloudEvents protocol binding for segmentio/kafka-go, written
// on sdk-go's binding API and modelled on sdk-go's own kafka_sarama binding. It
// follows the CloudEvents 1.0 Kafka protocol binding: binary mode carries the
// attributes in ce_* headers, datacontenttype in content-type and the data as the
// record value; structured mode carries the whole event as the value with a
// content-type of application/cloudevents+json. The record key is the
// partitionkey extension.
package cekafka

import (
	"bytes"
	"context"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/segmentio/kafka-go"
)

const (
	prefix            = "ce_"
	contentTypeHeader = "content-type"
	partitionKey      = "partitionkey"
)

var specs = spec.WithPrefix(prefix)

// Message is a Kafka record read as a CloudEvents binding.Message. It can be read
// several times.
type Message struct {
	// Value is the record value: the data (binary) or the whole event (structured).
	Value []byte
	// Headers are the record headers by lower-cased key; for a repeated key the last wins.
	Headers map[string][]byte
	// ContentType is the content-type header, "" when absent.
	ContentType string

	format  format.Format // set in structured mode
	version spec.Version  // set in binary mode
}

var (
	_ binding.Message               = (*Message)(nil)
	_ binding.MessageMetadataReader = (*Message)(nil)
)

// NewMessage reads a kafka-go record as a CloudEvents message without copying its
// value. Its encoding is structured when content-type names a CloudEvents format
// (application/cloudevents+json), binary when a ce_specversion header names a known
// spec version, and binding.EncodingUnknown otherwise.
func NewMessage(m *kafka.Message) *Message {
	headers := make(map[string][]byte, len(m.Headers))
	var contentType string
	for _, h := range m.Headers {
		// Kafka header keys are case-sensitive, the binding's are not: match
		// kafka_sarama, which lower-cases them.
		k := strings.ToLower(h.Key)
		if k == contentTypeHeader {
			contentType = string(h.Value)
		}
		headers[k] = h.Value
	}
	msg := &Message{Value: m.Value, Headers: headers, ContentType: contentType}
	if ft := format.Lookup(contentType); ft != nil {
		msg.format = ft
	} else if v := specs.Version(string(headers[specs.PrefixedSpecVersionName()])); v != nil {
		msg.version = v
	}
	return msg
}

// ReadEncoding reports binary, structured or unknown.
func (m *Message) ReadEncoding() binding.Encoding {
	switch {
	case m.version != nil:
		return binding.EncodingBinary
	case m.format != nil:
		return binding.EncodingStructured
	}
	return binding.EncodingUnknown
}

// ReadStructured hands the value to w when the message is structured.
func (m *Message) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.Value))
}

// ReadBinary hands the ce_* headers, content-type and value to w when the message
// is binary. A ce_* header that is not a spec attribute is an extension.
func (m *Message) ReadBinary(ctx context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for k, v := range m.Headers {
		var err error
		switch {
		case strings.HasPrefix(k, prefix):
			if attr := m.version.Attribute(k); attr != nil {
				err = w.SetAttribute(attr, string(v))
			} else {
				err = w.SetExtension(strings.TrimPrefix(k, prefix), string(v))
			}
		case k == contentTypeHeader:
			err = w.SetAttribute(m.version.AttributeFromKind(spec.DataContentType), string(v))
		}
		if err != nil {
			return err
		}
	}
	// A null value is an event without data; an empty one is empty data.
	if m.Value != nil {
		return w.SetData(bytes.NewReader(m.Value))
	}
	return nil
}

// GetAttribute returns a binary message's attribute of kind k.
func (m *Message) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	if m.version == nil {
		return nil, nil
	}
	attr := m.version.AttributeFromKind(k)
	if attr == nil {
		return nil, nil
	}
	if k == spec.DataContentType {
		if m.ContentType == "" {
			return attr, nil
		}
		return attr, m.ContentType
	}
	if v, ok := m.Headers[attr.PrefixedName()]; ok {
		return attr, string(v)
	}
	return attr, nil
}

// GetExtension returns a binary message's extension, nil when absent.
func (m *Message) GetExtension(name string) any {
	if m.version == nil {
		return nil
	}
	if v, ok := m.Headers[prefix+strings.ToLower(name)]; ok {
		return string(v)
	}
	return nil
}

// Finish does nothing: committing offsets is the consumer's business.
func (m *Message) Finish(error) error { return nil }
