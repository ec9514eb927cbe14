package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Params reads a request's parameters — a GET query or a POST JSON object — with the
// strictness of the vendors' Java servers: numbers must be JSON numbers, strings JSON
// strings, required values present and not null. The first problem is kept in Err and
// answers 412.
type Params struct {
	obj   map[string]json.RawMessage
	query url.Values
	err   error
}

// ErrBadParam marks a parameter problem (answered with code 412).
var ErrBadParam = errors.New("bad parameter")

// ParseJSON reads a JSON object body.
func ParseJSON(body []byte) (*Params, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrBadParam)
	}
	return &Params{obj: obj}, nil
}

// ParseObject reads one JSON object value, e.g. an element of a list.
func ParseObject(raw json.RawMessage) (*Params, error) { return ParseJSON(raw) }

// ParseQuery reads a query string.
func ParseQuery(q url.Values) *Params { return &Params{query: q} }

// Err returns the first problem met, wrapping ErrBadParam.
func (p *Params) Err() error { return p.err }

func (p *Params) fail(name, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s %s", ErrBadParam, name, why)
	}
}

// raw returns the JSON value of name, or false when it is absent or null.
func (p *Params) raw(name string) (json.RawMessage, bool) {
	v, ok := p.obj[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

// Int returns the required integer name.
func (p *Params) Int(name string) int64 {
	v, ok := p.int(name)
	if !ok && p.err == nil {
		p.fail(name, "is required")
	}
	return v
}

// OptInt returns the integer name, or def when it is absent.
func (p *Params) OptInt(name string, def int64) int64 {
	if v, ok := p.int(name); ok {
		return v
	}
	return def
}

func (p *Params) int(name string) (int64, bool) {
	if p.query != nil {
		s := p.query.Get(name)
		if s == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.fail(name, "is not an integer")
			return 0, false
		}
		return n, true
	}
	v, ok := p.raw(name)
	if !ok {
		return 0, false
	}
	n, err := jsonInt(v)
	if err != nil {
		p.fail(name, err.Error())
		return 0, true
	}
	return n, true
}

// jsonInt parses a JSON number that is an integer; strings and fractions are refused.
func jsonInt(v json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(v))
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, errors.New("is not a JSON number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("is not an integer")
	}
	return n, nil
}

// Str returns the required, non-empty string name.
func (p *Params) Str(name string) string {
	v, ok := p.str(name)
	if (!ok || strings.TrimSpace(v) == "") && p.err == nil {
		p.fail(name, "is required")
	}
	return v
}

// OptStr returns the string name, or def when it is absent.
func (p *Params) OptStr(name, def string) string {
	if v, ok := p.str(name); ok {
		return v
	}
	return def
}

func (p *Params) str(name string) (string, bool) {
	if p.query != nil {
		s := p.query.Get(name)
		return s, s != ""
	}
	v, ok := p.raw(name)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		p.fail(name, "is not a JSON string")
		return "", true
	}
	return s, true
}

// IntOrStr returns the required id name given either as a JSON number or a string of
// digits (for parameters whose documents show both).
func (p *Params) IntOrStr(name string) int64 {
	v, ok := p.raw(name)
	if !ok {
		if p.query != nil {
			return p.Int(name)
		}
		p.fail(name, "is required")
		return 0
	}
	if len(v) > 0 && v[0] == '"' {
		s := p.Str(name)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.fail(name, "is not a number")
		}
		return n
	}
	return p.Int(name)
}

// Bool returns the boolean name, or def when it is absent.
func (p *Params) Bool(name string, def bool) bool {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		p.fail(name, "is not a JSON boolean")
	}
	return b
}

// Obj returns the required JSON object name.
func (p *Params) Obj(name string) *Params {
	v, ok := p.raw(name)
	if !ok {
		p.fail(name, "is required")
		return &Params{obj: map[string]json.RawMessage{}}
	}
	o, err := ParseObject(v)
	if err != nil {
		p.fail(name, "is not a JSON object")
		return &Params{obj: map[string]json.RawMessage{}}
	}
	return o
}

// List returns the required JSON array name (possibly empty).
func (p *Params) List(name string) []json.RawMessage {
	l, ok := p.list(name)
	if !ok {
		p.fail(name, "is required")
	}
	return l
}

// OptList returns the JSON array name, or nil when it is absent.
func (p *Params) OptList(name string) []json.RawMessage {
	l, _ := p.list(name)
	return l
}

func (p *Params) list(name string) ([]json.RawMessage, bool) {
	v, ok := p.raw(name)
	if !ok {
		return nil, false
	}
	var l []json.RawMessage
	if err := json.Unmarshal(v, &l); err != nil {
		p.fail(name, "is not a JSON array")
		return nil, true
	}
	return l, true
}

// Ints returns the required array of integers name.
func (p *Params) Ints(name string) []int64 {
	var out []int64
	for _, v := range p.List(name) {
		n, err := jsonInt(v)
		if err != nil {
			p.fail(name, "element "+err.Error())
			return nil
		}
		out = append(out, n)
	}
	return out
}

// Strs returns the optional array of strings name.
func (p *Params) Strs(name string) []string {
	var out []string
	for _, v := range p.OptList(name) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			p.fail(name, "element is not a JSON string")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// StrMap returns the optional object of name to scalar values as strings (customer
// properties, call variables); the vendors accept numbers there too.
func (p *Params) StrMap(name string) map[string]string {
	v, ok := p.raw(name)
	if !ok {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		p.fail(name, "is not a JSON object")
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		switch x := x.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		case map[string]any, []any:
			p.fail(name, "value of "+k+" is not a scalar")
			return nil
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// Fail records a parameter problem found by the caller.
func (p *Params) Fail(name, why string) { p.fail(name, why) }

// Has reports whether the request has a non-null name.
func (p *Params) Has(name string) bool {
	_, ok := p.raw(name)
	return ok
}
