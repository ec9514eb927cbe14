// Package byai is the BYAI (百应, byrobot) platform: its webhooks become normalized
// events and commands become calls to its signed OpenAPI under /openapi/v1/.
package byai

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
)

// flex is a scalar the vendor types loosely: the same field arrives as a JSON number,
// a string or null depending on the document and the release. Numbers keep their
// decimal text; null, objects and arrays read as absent (""), so one odd field never
// fails a whole record.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*f = ""
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		// encoding/json hands over valid JSON: no raw quotes or control characters, so
		// without escapes and invalid UTF-8 the text is the bytes between the quotes.
		if inner := b[1:]; len(inner) > 0 && inner[len(inner)-1] == '"' {
			if inner = inner[:len(inner)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*f = flex(inner)
				return nil
			}
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case 'n', '{', '[':
	case 't', 'f':
		*f = flex(b)
	default:
		*f = flex(normalizeNumber(string(b)))
	}
	return nil
}

// normalizeNumber writes integral JSON numbers (1e3, 12.0) in plain decimal, since ids
// must compare equal however the vendor serialized them.
func normalizeNumber(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatInt(int64(v), 10)
	}
	return s
}

// flexOf reads a value of a parsed document as UnmarshalJSON does.
func flexOf(v jsondoc.Value) flex {
	switch v.Kind() {
	case jsondoc.String:
		t, _ := v.Text()
		return flex(t)
	case jsondoc.Number:
		return flex(normalizeNumber(string(v.Raw())))
	case jsondoc.True, jsondoc.False:
		return flex(v.Raw())
	}
	return ""
}

// id is the value as a vendor id: trimmed, "" when absent.
func (f flex) id() string { return strings.TrimSpace(string(f)) }

// ptr is the value as a nullable string.
func (f flex) ptr() *string { return event.Str(string(f)) }

// int is the value as an integer, when it is one.
func (f flex) int() (int64, bool) {
	s := normalizeNumber(strings.TrimSpace(string(f)))
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// decodeLoose fills v from raw as far as the types allow: a field of an unexpected
// JSON type stays zero instead of failing the record; callers check what they require.
func decodeLoose(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}
