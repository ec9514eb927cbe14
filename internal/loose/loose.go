// Package loose reads JSON the way calling vendors write it: loosely typed. The same
// field arrives as a JSON number, a string or null depending on the document, the API
// and the release, and one odd field must never fail a whole record.
//
// A Scalar is such a field read as text, from a parsed document (Of, Get) or through
// encoding/json (Scalar.UnmarshalJSON, Decode). Both readings agree, so a webhook and an
// API answer that carry the same value read the same.
package loose

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/jsondoc"
)

// Scalar is a loosely typed JSON scalar as text: a string's decoded text, a number's
// text (integral numbers in plain decimal, see Number), "true" or "false". Null,
// objects, arrays and absent members read as "".
type Scalar string

// Of reads v as a Scalar.
func Of(v jsondoc.Value) Scalar {
	switch v.Kind() {
	case jsondoc.String:
		t, _ := v.Text()
		return Scalar(t)
	case jsondoc.Number:
		return Scalar(Number(string(v.Raw())))
	case jsondoc.True, jsondoc.False:
		return Scalar(v.Raw())
	}
	return ""
}

// View is Of(v) as bytes, shared with the document when v is a string without
// escapes, an integer in plain decimal or a boolean: reading it allocates nothing
// then. The bytes must not be modified.
func View(v jsondoc.Value) []byte {
	switch v.Kind() {
	case jsondoc.String:
		if v.Plain() {
			t, _ := v.Text()
			return t
		}
		// Decoded text is never longer than its escaped form.
		return v.AppendText(make([]byte, 0, len(v.Raw())))
	case jsondoc.Number:
		if raw := v.Raw(); isDecimal(raw) {
			return raw
		}
		return []byte(Of(v))
	case jsondoc.True, jsondoc.False:
		return v.Raw()
	}
	return nil
}

// Append appends Of(v) to dst, allocating nothing but dst's growth for a string or an
// integer in plain decimal, so a caller gathers many values in one buffer.
func Append(dst []byte, v jsondoc.Value) []byte {
	switch v.Kind() {
	case jsondoc.String:
		return v.AppendText(dst)
	case jsondoc.Number:
		if raw := v.Raw(); isDecimal(raw) {
			return append(dst, raw...)
		}
		return append(dst, Of(v)...)
	case jsondoc.True, jsondoc.False:
		return append(dst, v.Raw()...)
	}
	return dst
}

// isDecimal says b is -?[0-9]{1,18}, which Number keeps as it is.
func isDecimal(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IntOf is Of(v).Int(), without allocating for a string without escapes or an
// integer in plain decimal.
func IntOf(v jsondoc.Value) (int64, bool) {
	switch v.Kind() {
	case jsondoc.Number:
		// The integer a JSON number in plain decimal of up to 18 digits is: exact, and
		// cheaper than ParseInt.
		if raw := v.Raw(); isDecimal(raw) {
			digits := bytes.TrimPrefix(raw, []byte("-"))
			var n int64
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			if len(digits) < len(raw) {
				n = -n
			}
			return n, true
		}
	case jsondoc.String:
	default:
		return 0, false
	}
	// A text ParseInt reads is one Number keeps as it is: the same answer as Int.
	if n, err := strconv.ParseInt(string(bytes.TrimSpace(View(v))), 10, 64); err == nil {
		return n, true
	}
	return Of(v).Int()
}

// Get reads member name of obj as a Scalar ("" when obj is not an object or has no
// such member; of repeated names the last counts).
func Get(obj jsondoc.Value, name string) Scalar { return Of(obj.Get(name)) }

// UnmarshalJSON reads b as Of reads a value; it fails only on invalid JSON.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*s = ""
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		// encoding/json hands over valid JSON: no raw quotes or control characters, so
		// without escapes and invalid UTF-8 the text is the bytes between the quotes.
		if inner := b[1:]; len(inner) > 0 && inner[len(inner)-1] == '"' {
			if inner = inner[:len(inner)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*s = Scalar(inner)
				return nil
			}
		}
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*s = Scalar(t)
	case 'n', '{', '[':
	case 't', 'f':
		*s = Scalar(b)
	default:
		*s = Scalar(Number(string(b)))
	}
	return nil
}

// String is the text.
func (s Scalar) String() string { return string(s) }

// ID is the text as a vendor id: trimmed, "" when absent.
func (s Scalar) ID() string { return strings.TrimSpace(string(s)) }

// Ptr is the text as a nullable string: nil when "".
func (s Scalar) Ptr() *string {
	if s == "" {
		return nil
	}
	t := string(s)
	return &t
}

// Int is the value as an integer, when it is one (a number or numeric text, integral).
func (s Scalar) Int() (int64, bool) {
	n, err := strconv.ParseInt(Number(strings.TrimSpace(string(s))), 10, 64)
	return n, err == nil
}

// Number writes an integral JSON number (1e3, 12.0) in plain decimal, since ids must
// compare equal however the vendor serialized them; other text is returned as it is.
func Number(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatInt(int64(v), 10)
	}
	return s
}

// Decode fills v from raw as far as the types allow: a field of an unexpected JSON type
// stays zero instead of failing the record (declare loose fields as Scalar); callers
// check what they require. It fails only on invalid JSON.
func Decode(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}
