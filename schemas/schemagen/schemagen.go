// Package schemagen makes the parts of callbridge's JSON documents that come from the
// vendor registry (the command schemas' script, the chart's account values) and writes
// them into the committed files in place: the member it replaces is re-indented to
// fit, and every other byte of the file is kept, hand formatting included.
//
// Tests regenerate the files with -update and fail when a committed file differs from
// what the registered vendors declare.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callbridge/callbridge/internal/platform"
)

// Script is the JSON Schema of a command's "script": any one of the registered
// vendors' own (platform.Vendor.ScriptSchema), in vendors' order. Each vendor schema
// may refer to the command schema's "#/$defs/id".
func Script(vendors []platform.Vendor) (json.RawMessage, error) {
	if len(vendors) == 0 {
		return nil, fmt.Errorf("schemagen: no vendor is registered")
	}
	alts := make([]json.RawMessage, 0, len(vendors))
	for _, v := range vendors {
		s := v.ScriptSchema()
		var probe map[string]any
		if err := json.Unmarshal(s, &probe); err != nil {
			return nil, fmt.Errorf("schemagen: vendor %s: ScriptSchema: %w", v.Name(), err)
		}
		alts = append(alts, s)
	}
	return json.Marshal(Object{
		{Key: "title", Value: "Script"},
		{Key: "description", Value: "The dialogue to use: the ids of a dialogue at the account's vendor, as one of the vendors' schemas below describes them."},
		{Key: "anyOf", Value: alts},
	})
}

// Member is one member of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its members in order when marshalled.
type Object []Member

// MarshalJSON writes the members in order.
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.Key)
		if err != nil {
			return nil, err
		}
		v, err := marshal(m.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping, so that "<" and ">" in descriptions
// stay readable in the files.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Style is how Splice lays out the value it writes.
type Style struct {
	// Indent is one level of indentation, e.g. two spaces.
	Indent string
	// InlineScalarArrays writes arrays of strings, numbers, booleans and nulls on one
	// line (["a", "b"]), as hand-written schemas do; otherwise every element has its own
	// line, as json.MarshalIndent writes them.
	InlineScalarArrays bool
}

// Splice returns doc with the value of the object member at path (keys from the root)
// replaced by value, laid out in style and indented like the line the member starts
// on. Every byte of doc outside that value is kept.
func Splice(doc []byte, path []string, value json.RawMessage, style Style) ([]byte, error) {
	start, end, err := find(doc, path)
	if err != nil {
		return nil, err
	}
	lineStart := bytes.LastIndexByte(doc[:start], '\n') + 1
	indent := doc[lineStart:start]
	indent = indent[:len(indent)-len(bytes.TrimLeft(indent, " \t"))]
	var b bytes.Buffer
	if err := format(&b, value, string(indent), style); err != nil {
		return nil, fmt.Errorf("schemagen: %s: %w", strings.Join(path, "."), err)
	}
	out := make([]byte, 0, len(doc)+b.Len())
	out = append(out, doc[:start]...)
	out = append(out, b.Bytes()...)
	return append(out, doc[end:]...), nil
}

// Extract returns the value of the object member at path.
func Extract(doc []byte, path []string) (json.RawMessage, error) {
	start, end, err := find(doc, path)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(doc[start:end]), nil
}

// find returns the byte range of the value of the member at path.
func find(doc []byte, path []string) (start, end int, err error) {
	if len(path) == 0 {
		return 0, 0, fmt.Errorf("schemagen: empty path")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	where := func(i int) string { return strings.Join(path[:i+1], ".") }
	for i, key := range path {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, fmt.Errorf("schemagen: %s: %w", where(i), err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return 0, 0, fmt.Errorf("schemagen: %s: the parent is not an object", where(i))
		}
		found := false
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return 0, 0, fmt.Errorf("schemagen: %s: %w", where(i), err)
			}
			if tok == key {
				found = true
				break
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return 0, 0, fmt.Errorf("schemagen: %s: %w", where(i), err)
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("schemagen: %s: no such member", where(i))
		}
	}
	// The decoder stands just after the key: skip the colon and white space.
	start = int(dec.InputOffset())
	for start < len(doc) && (doc[start] == ':' || isSpace(doc[start])) {
		start++
	}
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return 0, 0, fmt.Errorf("schemagen: %s: %w", strings.Join(path, "."), err)
	}
	return start, int(dec.InputOffset()), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// format writes v laid out in style; nested lines start with prefix.
func format(b *bytes.Buffer, v json.RawMessage, prefix string, style Style) error {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	tree, err := decodeOrdered(dec)
	if err != nil {
		return err
	}
	return write(b, tree, prefix, style)
}

// decodeOrdered decodes one value, objects as Object so that their order survives.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := Object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, Member{Key: k.(string), Value: v})
		}
		_, err := dec.Token()
		return o, err
	case '[':
		a := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

func write(b *bytes.Buffer, v any, prefix string, style Style) error {
	inner := prefix + style.Indent
	switch v := v.(type) {
	case Object:
		if len(v) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i, m := range v {
			k, _ := marshal(m.Key)
			b.WriteString(inner)
			b.Write(k)
			b.WriteString(": ")
			if err := write(b, m.Value, inner, style); err != nil {
				return err
			}
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(prefix + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		if style.InlineScalarArrays && scalars(v) {
			b.WriteByte('[')
			for i, e := range v {
				if i > 0 {
					b.WriteString(", ")
				}
				if err := write(b, e, inner, style); err != nil {
					return err
				}
			}
			b.WriteByte(']')
			return nil
		}
		b.WriteString("[\n")
		for i, e := range v {
			b.WriteString(inner)
			if err := write(b, e, inner, style); err != nil {
				return err
			}
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(prefix + "]")
	default:
		s, err := marshal(v)
		if err != nil {
			return err
		}
		b.Write(s)
	}
	return nil
}

func scalars(a []any) bool {
	for _, e := range a {
		switch e.(type) {
		case Object, []any:
			return false
		}
	}
	return true
}
