package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// toAny rebuilds what encoding/json would decode (with UseNumber) from the index.
func toAny(v Value) any {
	switch v.Kind() {
	case Null:
		return nil
	case True:
		return true
	case False:
		return false
	case Number:
		return json.Number(v.Raw())
	case String:
		return v.Str()
	case Array:
		out := []any{}
		v.Elems(func(e Value) bool { out = append(out, toAny(e)); return true })
		return out
	case Object:
		out := map[string]any{}
		var names []string
		v.Members(func(name, m Value) bool {
			out[name.Str()] = toAny(m)
			names = append(names, name.Str())
			return true
		})
		// Fields and Get find the same members.
		i := 0
		v.Fields(func(name []byte, m Value) bool {
			if string(name) != names[i] || v.Get(names[i]) != m {
				panic(fmt.Sprintf("member %d: Fields gives %q, Get(%q) %s", i, name, names[i], v.Get(names[i]).Raw()))
			}
			i++
			return true
		})
		if i != len(names) {
			panic(fmt.Sprintf("Fields gives %d members of %d", i, len(names)))
		}
		return out
	}
	panic("absent value")
}

func decodeStd(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// checkAgainstStd fails when Parse disagrees with encoding/json about b: whether it
// is valid, and what it holds.
func checkAgainstStd(t *testing.T, b []byte) {
	t.Helper()
	var d Doc
	err := d.Parse(b)
	if valid := json.Valid(b); !valid {
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(b) {
			t.Fatalf("%q: error %#v is not a SyntaxError within the input", b, err)
		}
		return
	}
	if why := ambiguous(b); why != "" {
		var ae *AmbiguityError
		if !errors.As(err, &ae) || ae.Offset < 0 || ae.Offset > len(b) {
			t.Fatalf("%q (%s): error %#v is not an AmbiguityError within the input", b, why, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%q: Parse error %v of a valid, unambiguous document", b, err)
	}
	want, err := decodeStd(b)
	if err != nil {
		t.Fatalf("%q: encoding/json: %v", b, err)
	}
	if got := toAny(d.Root()); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
	if !bytes.Equal(d.Root().Raw(), bytes.TrimSpace(b)) {
		t.Fatalf("%q: root raw %q", b, d.Root().Raw())
	}
}

// ambiguous says why a document encoding/json finds valid can be read more than one
// way, as a reference for Parse: "" when it cannot.
func ambiguous(b []byte) string {
	if !utf8.Valid(b) {
		return "invalid UTF-8"
	}
	if unpairedSurrogate(b) {
		return "unpaired surrogate"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type level struct {
		object bool
		key    bool // the next token is a name
		names  map[string]bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if name, ok := tok.(string); ok {
				if top.names[name] {
					return "repeated name " + name
				}
				top.names[name] = true
				top.key = false
				continue
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, &level{object: true, key: true, names: map[string]bool{}})
			case '[':
				stack = append(stack, &level{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
			continue
		case json.Number:
			if f, err := strconv.ParseFloat(string(tok), 64); err != nil && math.IsInf(f, 0) {
				return "number out of range"
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

// unpairedSurrogate says whether a string of the valid document b holds a \u escape
// of half a surrogate pair.
func unpairedSurrogate(b []byte) bool {
	in := false
	high := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !in {
			in = c == '"'
			continue
		}
		switch {
		case c == '"':
			if high {
				return true
			}
			in = false
		case c == '\\' && b[i+1] == 'u':
			r, _ := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
			i += 5
			switch {
			case r >= 0xd800 && r < 0xdc00 && !high:
				high = true
			case r >= 0xdc00 && r < 0xe000 && high:
				high = false
			case r >= 0xd800 && r < 0xe000 || high:
				return true
			}
		case c == '\\':
			if high {
				return true
			}
			i++
		default:
			if high {
				return true
			}
		}
	}
	return false
}

func TestParseAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		// valid
		`{}`, `[]`, `0`, `-0`, `1.5e+3`, `-12.0E-7`, `"x"`, `true`, `false`, `null`,
		" \t\r\n{ \"a\" : [ 1 , 2 , { } , [ ] ] , \"b\" : null } \n",
		`{"":""}`, `["\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"]`,
		`{"d\u0061ta":{"x":"\ud83d\ude00"}}`, "\"caf\xc3\xa9\"", `[[[[[]]]]]`, `1e308`, `-1e-400`, `{"a":{"a":{"b":1}},"b":[{"a":1},{"a":2}]}`,
		// ambiguous
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[{"x":{"y":1,"y":1}}]`, `{"d\u0061ta":{"x":"\ud800"}}`, `["\ud83d\u0041"]`, `["\udc00\ud800x"]`,
		`["\ud83d\ud83d\ude00"]`, `["a\ud83d"]`, `["\ud83d\n"]`, "\"\xff\xfe\"", "{\"customerName\":\"ab\xff\xfe\xc3(cd\"}", `1e400`, `{"duration":-1E+309}`,
		"[" + strings.Repeat("9", 309) + "]", `{` + strings.Repeat(`"k":1,`, 30) + `"z":1}`,
		// invalid
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `[1 2]`, `01`, `-`,
		`1.`, `1e`, `1e+`, `.5`, `+1`, `tru`, `nul`, `falsey`, `"\x"`, `"\u12g4"`, "\"a\x01\"",
		`"abc`, `{"a":1}}`, `[1]]`, `{"a":1} x`, `NaN`, `Infinity`, "\xef\xbb\xbf{}", `'a'`,
	} {
		checkAgainstStd(t, []byte(s))
	}
	// Objects past the pairwise comparison, with and without a repeated name.
	var big strings.Builder
	big.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&big, `"k%d":%d,`, i, i)
	}
	checkAgainstStd(t, []byte(big.String()+`"z":0}`))
	checkAgainstStd(t, []byte(big.String()+`"k\u0037":0}`))
}

func TestMaxDepth(t *testing.T) {
	for _, depth := range []int{MaxDepth, MaxDepth + 1} {
		b := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		var d Doc
		err := d.Parse(b)
		if (err == nil) != json.Valid(b) {
			t.Errorf("depth %d: Parse error %v, json.Valid %v", depth, err, json.Valid(b))
		}
	}
}

func TestLookups(t *testing.T) {
	d, err := Parse([]byte(`{"data":{"dataType":"X","data":{"b":"t\u00e9","a":[true,null,"s"]}},"Data":5,"e\u0073c":"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	tests := []struct {
		name string
		v    Value
		kind Kind
		raw  string
	}{
		{"nested", root.Path("data", "dataType"), String, `"X"`},
		{"member", root.Path("data", "data", "a"), Array, `[true,null,"s"]`},
		{"names match exactly", root.Get("DATA"), Absent, ``},
		{"other case is another name", root.Get("Data"), Number, `5`},
		{"escaped name", root.Get("esc"), String, `"y"`},
		{"through a scalar", root.Path("Data", "x"), Absent, ``},
		{"through absent", root.Path("nope", "x", "y"), Absent, ``},
		{"escaped text", root.Path("data", "data", "b"), String, `"t\u00e9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.v.Kind() != tt.kind || string(tt.v.Raw()) != tt.raw {
				t.Errorf("kind %v raw %s, want %v %s", tt.v.Kind(), tt.v.Raw(), tt.kind, tt.raw)
			}
		})
	}
	if s := root.Path("data", "data", "b").Str(); s != "té" {
		t.Errorf("text %q, want té", s)
	}
	if n := root.Path("data", "data").Len(); n != 2 {
		t.Errorf("object Len %d, want 2 members", n)
	}
	if n := root.Path("data", "data", "a").Len(); n != 3 {
		t.Errorf("array Len %d, want 3", n)
	}
	var zero Value
	if zero.Exists() || !zero.IsNull() || zero.Raw() != nil || zero.Str() != "" || zero.Len() != 0 {
		t.Error("the zero Value does not read as absent")
	}
}

func TestReuseAllocatesNothing(t *testing.T) {
	body := []byte(`{"data":{"dataType":"X","data":{"a":[1,2,3],"b":"text","c":{"d":null}}}}`)
	var d Doc
	if err := d.Parse(body); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := d.Parse(body); err != nil {
			t.Fatal(err)
		}
		_ = d.Root().Path("data", "data", "b").Plain()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Parse of a reused Doc, want 0", allocs)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",{"b":null}],"a":true}`, `[1e400,"\udc00"]`, `"\ud83d\ude00"`, `-1.5e10`, "[\"\xff\"]", `{"":{"":[]}}`,
		// Indented, as callbacks are (the whitespace after a comma is compared with
		// the run before), with names and strings past the inline scans, and numbers
		// past eight digits.
		"{\n  \"sceneInstanceResultId\": 1117274388,\n  \"resultName\": \"客户意向等级\",\n  \"extra\": \"{\\\"k\\\":1}\",\n  \"list\": [\n    1,\n    2.5e3,\n    true\n  ],\n  \"n\": null\n}",
		"[\r\n\t{\"a\": false},\r\n\t{\"a\": 12345678901234567890}\r\n]"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../../testdata/webhooks/byai/call_instance_result.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstStd(t, b)
	})
}

func BenchmarkParse(b *testing.B) {
	body := []byte(strings.Repeat(`{"name":"value","n":123456,"list":[1,2,3,{"k":"v\u00e9"}],"t":true},`, 60))
	body = append(append([]byte{'['}, body[:len(body)-1]...), ']')
	var d Doc
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := d.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStdValid(b *testing.B) {
	body := []byte(strings.Repeat(`{"name":"value","n":123456,"list":[1,2,3,{"k":"v\u00e9"}],"t":true},`, 60))
	body = append(append([]byte{'['}, body[:len(body)-1]...), ']')
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !json.Valid(body) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkParseCallback(b *testing.B) {
	body, err := os.ReadFile("../../testdata/webhooks/byai/call_instance_result.json")
	if err != nil {
		b.Fatal(err)
	}
	var d Doc
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := d.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHasSpecial(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' }
	check := func(x uint64) {
		want := false
		for k := range 8 {
			want = want || special(byte(x>>(8*k)))
		}
		if got := hasSpecial(x); got != want {
			t.Fatalf("hasSpecial(%#016x) = %v, want %v", x, got, want)
		}
		// The lowest mark is the first special byte, and all below it are clear.
		first := 8
		for k := 7; k >= 0; k-- {
			if special(byte(x >> (8 * k))) {
				first = k
			}
		}
		if m := specials(x); bits.TrailingZeros64(m)>>3 != first || m&^0x8080808080808080 != 0 {
			t.Fatalf("specials(%#016x) = %#016x, first special byte %d", x, m, first)
		}
	}
	// Every byte value in every position, among bytes that are and are not special.
	for _, fill := range []uint64{0x6161616161616161, 0xe4e4e4e4e4e4e4e4, 0x2121212121212121, 0xffffffffffffffff} {
		for pos := range 8 {
			for c := range 256 {
				x := fill&^(0xff<<(8*pos)) | uint64(c)<<(8*pos)
				check(x)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		check(r.Uint64())
	}
}

// Every byte of a name and its length count in its hash (a collision would only
// cost an exact comparison, but a hash that ignores bytes would make them common).
func TestHashBytesReadsEveryByte(t *testing.T) {
	seen := map[uint64]string{}
	for n := 0; n <= 40; n++ {
		base := bytes.Repeat([]byte{'a'}, n)
		variants := [][]byte{base}
		for i := range n {
			v := bytes.Clone(base)
			v[i] = 'b'
			variants = append(variants, v)
		}
		for _, v := range variants {
			h := hashBytes(v)
			if o, ok := seen[h]; ok {
				t.Fatalf("%q and %q hash alike", o, v)
			}
			seen[h] = string(v)
		}
	}
}

// Names whose hashes match are compared exactly, pairwise or through the table.
func TestUniqueNamesOnEqualHashes(t *testing.T) {
	for _, count := range []int{2, 12} {
		for _, repeat := range []bool{false, true} {
			var objs []string
			for i := range count {
				objs = append(objs, fmt.Sprintf(`{"n%d":%d}`, i, i))
			}
			if repeat {
				objs[count-1] = `{"n0":0}`
			}
			var d Doc
			if err := d.Parse([]byte("[" + strings.Join(objs, ",") + "]")); err != nil {
				t.Fatal(err)
			}
			// The objects' names as if they were one object's, all of one hash.
			var queue []name
			for k := range d.nodes {
				if k > 0 && d.nodes[k].kind == String && d.nodes[k-1].kind == Object {
					queue = append(queue, name{h: 42, k: uint32(k)})
				}
			}
			d.names = queue
			d.uniqueNames(0)
			if (d.amb != nil) != repeat {
				t.Errorf("%d names, repeated %v: ambiguity %v", count, repeat, d.amb)
			}
		}
	}
}

// validUTF8 agrees with utf8.Valid, on Chinese text and on every short sequence
// around the three-byte runes it checks itself.
func TestValidUTF8(t *testing.T) {
	check := func(b []byte) {
		if got, want := validUTF8(b), utf8.Valid(b); got != want {
			t.Fatalf("validUTF8(%q) = %v, utf8.Valid %v", b, got, want)
		}
	}
	check([]byte("喂，您好，这里是用户测试电话 C级(很少) 🔑"))
	bytesOf := []byte{0x00, 0x41, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff}
	var rec func(prefix []byte, n int)
	rec = func(prefix []byte, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, c := range bytesOf {
			rec(append(prefix, c), n-1)
		}
	}
	rec(nil, 4)
	r := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = bytesOf[r.IntN(len(bytesOf))]
		}
		check(b)
	}
}

// A name's hash is hashBytes of its decoded text however the name is scanned:
// from the words of the scan, or after it, for names with escapes or other than
// ASCII, and names near the end of the document.
func TestNameHashIsHashBytes(t *testing.T) {
	for n := 0; n <= 40; n++ {
		text := []byte(strings.Repeat("abcdefghij", 4)[:n])
		for _, raw := range []string{string(text), strings.Replace(string(text), "a", `\u0061`, 1), strings.Replace(string(text), "b", "é", 1)} {
			for pad := 0; pad <= 20; pad++ {
				src := []byte(`"` + raw + `"` + strings.Repeat(" ", pad))
				d := Doc{src: src}
				end, _, h, err := d.name(0)
				if err != nil || end != len(raw)+2 {
					t.Fatalf("%q: end %d, error %v", src, end, err)
				}
				want := hashBytes(appendUnquoted(nil, []byte(raw)))
				if h != want {
					t.Fatalf("%q: hash %#x, hashBytes %#x", src, h, want)
				}
			}
		}
	}
}

// A name scanned inline by value hashes as name hashes it: a name written plainly
// and again with an escape (which name scans), or near the end of the document
// (where value leaves it to name), is found repeated.
func TestInlineNameHash(t *testing.T) {
	for n := 1; n <= 40; n++ {
		text := strings.Repeat("abcdefghij", 4)[:n]
		escaped := strings.Replace(text, "a", `\u0061`, 1)
		for _, pair := range [][2]string{{text, escaped}, {escaped, text}, {text, text}} {
			for pad := 0; pad <= 30; pad++ {
				src := `{"` + pair[0] + `":1,"` + pair[1] + `":2}` + strings.Repeat(" ", pad)
				var d Doc
				var ae *AmbiguityError
				if err := d.Parse([]byte(src)); !errors.As(err, &ae) {
					t.Fatalf("%q: error %v, want a repeated name", src, err)
				}
			}
		}
	}
}

func TestLeadingDigits(t *testing.T) {
	check := func(x uint64) {
		want := 0
		for want < 8 && isDigit(byte(x>>(8*want))) {
			want++
		}
		if got := leadingDigits(x); got != want {
			t.Fatalf("leadingDigits(%#016x) = %d, want %d", x, got, want)
		}
	}
	// Every byte value in every position, among digits and among bytes that carry.
	for _, fill := range []uint64{0x3939393939393939, 0x3030303030303030, 0x3531373439383633, 0xffffffffffffffff, 0xfafafafafafafafa} {
		for pos := range 8 {
			for c := range 256 {
				check(fill&^(0xff<<(8*pos)) | uint64(c)<<(8*pos))
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 1_000_000 {
		x := r.Uint64()
		// Mostly digits, so that long runs are common.
		for k := range 8 {
			if r.IntN(4) != 0 {
				x = x&^(0xff<<(8*k)) | uint64('0'+r.IntN(10))<<(8*k)
			}
		}
		check(x)
	}
}
