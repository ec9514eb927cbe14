package yiwise

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// This file reads JSON that encoding/json has already validated (ParseWebhook's
// json.Unmarshal of the whole body checks every byte of it, data included) one level
// at a time, without re-validating it and without building a tree: the parser only
// needs a dozen members of the data object, each read in place.
//
// Every function here assumes valid JSON; on anything else it returns garbage, never
// panics.

// member is one member of a JSON object: the key as it decodes (in place when it has
// no escapes) and the value's JSON text, without surrounding whitespace.
type member struct {
	key, val []byte
}

// members are the members of one object in document order, duplicates included.
type members []member

// get returns the value of key, nil when absent. Like json.Unmarshal into a map, the
// last of duplicate keys wins.
func (d members) get(key string) []byte {
	v, _ := d.lookup(key)
	return v
}

func (d members) lookup(key string) ([]byte, bool) {
	for i := len(d) - 1; i >= 0; i-- {
		if string(d[i].key) == key {
			return d[i].val, true
		}
	}
	return nil, false
}

// objectMembers appends the members of the valid JSON object obj to buf; ok is false
// when obj is not an object.
func objectMembers(obj []byte, buf members) (_ members, ok bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return buf, false
	}
	i := 1
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return buf, true
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		if i >= len(obj) || obj[i] != '"' {
			return buf, true // unreachable for valid JSON
		}
		end := skipString(obj, i)
		key := decodeKey(obj[i:end])
		i = skipSpace(obj, end)
		if i < len(obj) && obj[i] == ':' {
			i = skipSpace(obj, i+1)
		}
		if i >= len(obj) {
			return buf, true
		}
		end = skipValue(obj, i)
		buf = append(buf, member{key: key, val: obj[i:end]})
		i = end
	}
}

// arrayElements appends the elements of the valid JSON array arr to buf; ok is false
// when arr is not an array.
func arrayElements(arr []byte, buf [][]byte) (_ [][]byte, ok bool) {
	if len(arr) == 0 || arr[0] != '[' {
		return buf, false
	}
	i := 1
	for {
		i = skipSpace(arr, i)
		if i >= len(arr) || arr[i] == ']' {
			return buf, true
		}
		if arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
		if i >= len(arr) {
			return buf, true
		}
		end := skipValue(arr, i)
		buf = append(buf, arr[i:end])
		i = end
	}
}

// decodeKey returns the string a quoted key decodes to: the bytes between the quotes
// when there is nothing to decode, else what encoding/json makes of it.
func decodeKey(q []byte) []byte {
	if len(q) >= 2 {
		inner := q[1 : len(q)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return inner
		}
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return q
	}
	return []byte(s)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	// A number, true, false or null. Its first byte is never a delimiter; stepping
	// over it unseen keeps the callers' loops moving on invalid input too.
	for i++; i < len(b); {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// stablePayload is the part of the data object the event id is derived from: its
// members sorted by key (the last of duplicate keys only, as it decodes), each the
// length-prefixed key and the value without insignificant whitespace, ended by a NUL
// (which JSON text never contains). So the id depends neither on the member order
// nor on how the vendor indented the body, while any changed value changes it.
func stablePayload(d members) []byte {
	// Sorting indices rather than members moves no pointers.
	var ibuf [32]int
	order := ibuf[:0]
	n := 0
	for i, m := range d {
		order = append(order, i)
		n += len(m.key) + len(m.val) + binary.MaxVarintLen64 + 1
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := bytes.Compare(d[a].key, d[b].key); c != 0 {
			return c
		}
		return a - b
	})
	buf := make([]byte, 0, n)
	for j, i := range order {
		m := d[i]
		if j+1 < len(order) && bytes.Equal(d[order[j+1]].key, m.key) {
			continue // a later duplicate wins
		}
		buf = binary.AppendUvarint(buf, uint64(len(m.key)))
		buf = append(buf, m.key...)
		buf = appendCompact(buf, m.val)
		buf = append(buf, 0)
	}
	return buf
}

// appendCompact appends the valid JSON value v to dst without the whitespace outside
// its strings.
func appendCompact(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end := skipString(v, i)
			dst = append(dst, v[i:end]...)
			i = end
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// The readers below take one JSON value as objectMembers or arrayElements left it;
// nil (an absent member) reads as null.

func isNull(v []byte) bool {
	return len(v) == 0 || v[0] == 'n'
}

// plainString returns the text of the JSON string v in place when it needs no
// decoding (no escapes, valid UTF-8); ok is false for any other value.
func plainString(v []byte) (text []byte, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return nil, false
	}
	return inner, true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// jsonString reads a JSON string; anything else is not one.
func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if inner, ok := plainString(v); ok {
		switch string(inner) {
		// The callback types, without allocating them.
		case DataTypeCallRecord:
			return DataTypeCallRecord, true
		case DataTypeCallJob:
			return DataTypeCallJob, true
		}
		return string(inner), true
	}
	// Escapes, or invalid UTF-8 that decoding replaces with U+FFFD.
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// isNumber is true for a JSON number, whose text is then what json.Number holds.
func isNumber(v []byte) bool {
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}
