// Package jsondoc validates a JSON document and indexes its values in one pass, so
// that vendor webhook parsers read the few fields an event needs, and walk the rest
// for ids and phone numbers, without decoding the body into maps or structs.
//
// A Doc accepts the documents encoding/json's Valid accepts (RFC 8259) except those
// that can be read more than one way, which it rejects with an *AmbiguityError:
//
//   - invalid UTF-8 anywhere (encoding/json would replace it, others would not), or a
//     \u escape of half a surrogate pair;
//   - a member name repeated in one object, at any depth (which one counts differs
//     from reader to reader);
//   - a number beyond the range of a float64 (1e400: a reader would make it
//     infinity, zero or an error).
//
// Member names match exactly. String text is decoded as encoding/json decodes it.
//
// The zero Doc is ready to use; a Doc reused across documents allocates nothing once
// its index has grown to fit them.
package jsondoc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a value; Absent is the kind of a member that is not there.
type Kind uint8

// Value kinds.
const (
	Absent Kind = iota
	Null
	False
	True
	Number
	String
	Object
	Array
)

var kindNames = [...]string{"absent", "null", "false", "true", "number", "string", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MaxDepth is how deeply arrays and objects may nest, as in encoding/json.
const MaxDepth = 10000

// node is one value of the document, in document order: a container is followed by
// its contents (an object's as name, value, name, value…), and next skips them.
type node struct {
	start, end uint32 // the value's text in src; a string's includes its quotes
	next       uint32 // index of the node after this value and its contents
	kind       Kind
	// plain says a string's text is the bytes between its quotes: no escapes.
	plain bool
}

// Doc is a parsed document.
type Doc struct {
	src   []byte
	nodes []node
	// stack holds the containers open around the one being parsed; ws is the
	// whitespace after the last comma.
	stack []frame
	ws    spaces
	// names queues the names of the objects being parsed (see uniqueNames); table
	// and scratch are reused by the check.
	names   []name
	table   []uint32
	scratch []byte
	// amb is the first ambiguity found; reported only if the document is otherwise
	// valid JSON, so that a syntax error always reads as one.
	amb *AmbiguityError
}

// ambiguous records an ambiguity at offset off unless one was found before.
func (d *Doc) ambiguous(off int, msg string) {
	if d.amb == nil {
		d.amb = &AmbiguityError{off, msg}
	}
}

// SyntaxError says where and why a document is not valid JSON.
type SyntaxError struct {
	Offset int // of the byte at fault
	msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.Offset) }

// AmbiguityError says where and why a valid JSON document can be read more than one
// way (see the package documentation): such a document is rejected rather than read
// one of its ways silently.
type AmbiguityError struct {
	Offset int // of the value at fault
	msg    string
}

func (e *AmbiguityError) Error() string {
	return fmt.Sprintf("ambiguous JSON: %s at offset %d", e.msg, e.Offset)
}

// Unwrap is a *SyntaxError with the same message: a caller that rejects documents
// that are not valid JSON rejects ambiguous ones the same way, with this reason.
func (e *AmbiguityError) Unwrap() error { return &SyntaxError{e.Offset, "ambiguous JSON: " + e.msg} }

// Parse validates and indexes src, replacing what d held. d keeps src (not a copy)
// until the next Parse.
func (d *Doc) Parse(src []byte) error {
	if len(src) > 1<<31 {
		return &SyntaxError{0, "document too large"}
	}
	d.src, d.nodes, d.names, d.amb = src, d.nodes[:0], d.names[:0], nil
	i, err := d.value(skipSpace(src, 0))
	if err == nil {
		if i = skipSpace(src, i); i < len(src) {
			err = &SyntaxError{i, fmt.Sprintf("invalid character %q after top-level value", src[i])}
		}
	}
	if err == nil && d.amb != nil {
		err = d.amb
	}
	if err != nil {
		d.src, d.nodes = nil, d.nodes[:0]
		return err
	}
	return nil
}

// Reset forgets the document, keeping the index's memory for the next Parse.
func (d *Doc) Reset() { d.src, d.nodes = nil, d.nodes[:0] }

// docs recycles indexes for With: a callback's is a few hundred nodes.
var docs = sync.Pool{New: func() any { return new(Doc) }}

// With parses src with a pooled Doc and calls fn with its root. The Doc is recycled
// when fn returns, so fn must not keep Values, nor the Text they share with the
// index (text shared with src stays valid as long as src).
func With[T any](src []byte, fn func(Value) (T, error)) (T, error) {
	d := docs.Get().(*Doc)
	defer func() {
		// Pooled, the index must not keep src alive.
		d.Reset()
		docs.Put(d)
	}()
	if err := d.Parse(src); err != nil {
		var zero T
		return zero, err
	}
	return fn(d.Root())
}

// Parse validates and indexes src in a new Doc.
func Parse(src []byte) (*Doc, error) {
	d := new(Doc)
	if err := d.Parse(src); err != nil {
		return nil, err
	}
	return d, nil
}

// Root is the document's top-level value.
func (d *Doc) Root() Value {
	if len(d.nodes) == 0 {
		return Value{}
	}
	return Value{d, 0}
}

func (d *Doc) errAt(i int, what string) error {
	if i >= len(d.src) {
		return &SyntaxError{len(d.src), "unexpected end of JSON input"}
	}
	return &SyntaxError{i, fmt.Sprintf("invalid character %q %s", d.src[i], what)}
}

// spaces is a run of whitespace of up to 16 bytes, set from src[i:j], kept to be
// compared whole with the next run.
type spaces struct {
	x, y   uint64 // its bytes, zero-padded
	mx, my uint64 // the masks of its bytes in x and y
	n      int
	ok     bool
}

func (s *spaces) set(src []byte, i, j int) {
	n := j - i
	if s.ok = n <= 16 && i+16 <= len(src); !s.ok {
		return
	}
	s.n = n
	s.mx = 1<<(8*min(n, 8)) - 1
	s.my = 1<<(8*max(n-8, 0)) - 1
	s.x = binary.LittleEndian.Uint64(src[i:]) & s.mx
	s.y = binary.LittleEndian.Uint64(src[i+8:]) & s.my
}

// frame is an open container: its node, and where its names start in Doc.names
// (inArray for an array).
type frame struct{ n, base uint32 }

const inArray = ^uint32(0)

// value indexes the value at src[i], with all it holds, and returns the index just
// past it. It is one loop over a stack of open containers rather than a call per
// value (Go keeps no register across a call), and the common cases of each step are
// taken inline: the index is a local slice (put back in d before anything reads it
// there), the container being parsed is top, and those around it wait in d.stack.
func (d *Doc) value(i int) (int, error) {
	src := d.src
	nodes := d.nodes
	d.stack, d.ws.ok = d.stack[:0], false
	const highs = 0x8080808080808080
	var (
		end   int
		err   error
		kind  Kind
		plain bool
		h     uint64
		n     int
		top   frame
	)
value:
	if i >= len(src) {
		err = d.errAt(i, "")
		goto fail
	}
	plain = false
	switch src[i] {
	case '"':
		kind = String
		// A string of up to 15 ASCII bytes without escapes here; the rest by
		// stringFrom, from where this scan stopped.
		p, high := i+1, uint64(0)
		if i+17 <= len(src) {
			w := src[i+1 : i+17 : i+17]
			a := binary.LittleEndian.Uint64(w)
			if m := specials(a); m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				if p, high = i+1+k, a&(1<<(8*k)-1); w[k] == '"' && high&highs == 0 {
					end, plain = p+1, true
					break
				}
			} else if b := binary.LittleEndian.Uint64(w[8:]); specials(b) != 0 {
				k := bits.TrailingZeros64(specials(b)) >> 3
				if p, high = i+9+k, a|b&(1<<(8*k)-1); w[8+k] == '"' && high&highs == 0 {
					end, plain = p+1, true
					break
				}
			} else if p, high = i+17, a|b; i+25 <= len(src) {
				// Up to 23 bytes, as a time of day is: a third word.
				c := binary.LittleEndian.Uint64(src[i+17:])
				if m := specials(c); m == 0 {
					p, high = i+25, high|c
				} else {
					k := bits.TrailingZeros64(m) >> 3
					if p, high = i+17+k, high|c&(1<<(8*k)-1); src[p] == '"' && high&highs == 0 {
						end, plain = p+1, true
						break
					}
				}
			}
		}
		end, plain, err = d.stringFrom(i, p, high)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		kind = Number
		// A positive integer, as most numbers are, here: its digits eight at a
		// time, and nothing of a fraction or an exponent after them.
		if c := src[i]; c != '-' && c != '0' && i+8 <= len(src) {
			j := i + leadingDigits(binary.LittleEndian.Uint64(src[i:]))
			if j == i+8 {
				j = digits(src, j)
			}
			if j-i <= 308 && (j >= len(src) || src[j] != '.' && src[j]|0x20 != 'e') {
				end = j
				break
			}
		}
		end, err = d.number(i)
	case 't':
		kind = True
		if i+4 <= len(src) && binary.LittleEndian.Uint32(src[i:]) == 't'|'r'<<8|'u'<<16|'e'<<24 {
			end = i + 4
			break
		}
		end, err = d.literal(i, "true")
	case 'f':
		kind = False
		if i+5 <= len(src) && binary.LittleEndian.Uint32(src[i+1:]) == 'a'|'l'<<8|'s'<<16|'e'<<24 {
			end = i + 5
			break
		}
		end, err = d.literal(i, "false")
	case 'n':
		kind = Null
		if i+4 <= len(src) && binary.LittleEndian.Uint32(src[i:]) == 'n'|'u'<<8|'l'<<16|'l'<<24 {
			end = i + 4
			break
		}
		end, err = d.literal(i, "null")
	case '{', '[':
		if len(d.stack) >= MaxDepth {
			err = &SyntaxError{i, "exceeded max depth"}
			goto fail
		}
		// The container's node goes before its contents; its end is set when it
		// closes.
		n = len(nodes)
		if n == cap(nodes) {
			nodes = append(nodes, node{})[:n]
		}
		nodes = nodes[:n+1]
		nodes[n] = node{}
		nodes[n].start = uint32(i)
		if src[i] == '{' {
			nodes[n].kind = Object
			d.stack = append(d.stack, top)
			top = frame{uint32(n), uint32(len(d.names))}
			if i = skipSpace(src, i+1); i < len(src) && src[i] == '}' {
				i++
				goto close
			}
			goto member
		}
		nodes[n].kind = Array
		d.stack = append(d.stack, top)
		top = frame{uint32(n), inArray}
		if i = skipSpace(src, i+1); i < len(src) && src[i] == ']' {
			i++
			goto close
		}
		goto value
	default:
		err = d.errAt(i, "looking for beginning of value")
		goto fail
	}
	if err != nil {
		goto fail
	}
	// A scalar's node, every field set in place: a node built whole and copied in
	// stalled on reading back the narrow stores it was built with.
	n = len(nodes)
	if n == cap(nodes) {
		nodes = append(nodes, node{})[:n]
	}
	nodes = nodes[:n+1]
	nodes[n].start, nodes[n].end, nodes[n].next, nodes[n].kind, nodes[n].plain = uint32(i), uint32(end), uint32(n+1), kind, plain
	i = end

next: // i is just past a value
	if len(d.stack) == 0 {
		d.nodes = nodes
		return i, nil
	}
	i = skipSpace(src, i)
	if top.base != inArray {
		if i < len(src) {
			switch src[i] {
			case ',':
				i++
				goto comma
			case '}':
				i++
				goto close
			}
		}
		err = d.errAt(i, "after object key:value pair")
		goto fail
	}
	if i < len(src) {
		switch src[i] {
		case ',':
			i++
			goto comma
		case ']':
			i++
			goto close
		}
	}
	err = d.errAt(i, "after array element")
	goto fail

comma: // i is just past a comma in the container top
	// The whitespace after a comma in an indented document is most often the
	// same as after the one before: compared whole, it is skipped without a loop
	// that stops at a different count each time.
	if i < len(src) && src[i] > ' ' {
		goto skipped // none, as in a compact document
	}
	if ws := &d.ws; i+17 <= len(src) && ws.ok {
		w := src[i : i+17 : i+17]
		if (binary.LittleEndian.Uint64(w)^ws.x)&ws.mx == 0 && (binary.LittleEndian.Uint64(w[8:])^ws.y)&ws.my == 0 && w[ws.n] > ' ' {
			i += ws.n
			goto skipped
		}
	}
	end = skipSpace(src, i)
	d.ws.set(src, i, end)
	i = end
skipped:
	if top.base != inArray {
		goto member
	}
	goto value

close: // i is just past the container on top of the stack
	nodes[top.n].end, nodes[top.n].next = uint32(i), uint32(len(nodes))
	if top.base != inArray {
		if len(d.names) > int(top.base)+1 {
			d.nodes = nodes
			d.uniqueNames(int(top.base))
		} else {
			d.names = d.names[:top.base] // one name repeats none
		}
	}
	top = d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	goto next

member: // i is at the name of an object's member
	// A name of up to 15 ASCII bytes without escapes, as most are, here; the rest
	// by name. Its hash is the one hashBytes gives its text.
	if i+17 <= len(src) && src[i] == '"' {
		w := src[i+1 : i+17 : i+17]
		a := binary.LittleEndian.Uint64(w)
		if m := specials(a); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			if a &= 1<<(8*k) - 1; w[k] == '"' && a&highs == 0 {
				end, plain, h = i+k+2, true, hashWords(hashSeed, a, uint64(k)<<56)
				goto named
			}
		} else {
			b := binary.LittleEndian.Uint64(w[8:])
			if m := specials(b); m != 0 {
				k := bits.TrailingZeros64(m) >> 3
				if b &= 1<<(8*k) - 1; w[8+k] == '"' && (a|b)&highs == 0 {
					end, plain, h = i+k+10, true, hashWords(hashSeed, a, b|uint64(k+8)<<56)
					goto named
				}
			} else if i+25 <= len(src) && (a|b)&highs == 0 {
				// A name of 16 to 23 bytes (many are) from a third word, hashed as
				// name hashes it: the first two words, then the rest with the length.
				c := binary.LittleEndian.Uint64(src[i+17:])
				if m := specials(c); m != 0 {
					k := bits.TrailingZeros64(m) >> 3
					if c &= 1<<(8*k) - 1; src[i+17+k] == '"' && c&highs == 0 {
						end, plain, h = i+k+18, true, hashWords(hashWords(hashSeed, a, b), c, uint64(k+16)<<56)
						goto named
					}
				}
			}
		}
	}
	if i >= len(src) || src[i] != '"' {
		err = d.errAt(i, "looking for beginning of object key string")
		goto fail
	}
	if end, plain, h, err = d.name(i); err != nil {
		goto fail
	}
named:
	n = len(nodes)
	if n == cap(nodes) {
		nodes = append(nodes, node{})[:n]
	}
	nodes = nodes[:n+1]
	nodes[n].start, nodes[n].end, nodes[n].next, nodes[n].kind, nodes[n].plain = uint32(i), uint32(end), uint32(n+1), String, plain
	d.names = append(d.names, name{h, uint32(n)})
	i = end
	// `": "` before the value, as indented documents have it, at once.
	if i+3 <= len(src) && src[i] == ':' {
		if w := src[i : i+3 : i+3]; w[1] > ' ' {
			i++
			goto value
		} else if w[1] == ' ' && w[2] > ' ' {
			i += 2
			goto value
		}
	}
	if i = skipSpace(src, i); i >= len(src) || src[i] != ':' {
		err = d.errAt(i, "after object key")
		goto fail
	}
	i = skipSpace(src, i+1)
	goto value

fail:
	d.nodes = nodes
	return i, err
}

// string checks the string at src[i] and returns the index just past it; plain is
// true when its text is the bytes between the quotes (no escapes).
func (d *Doc) string(i int) (end int, plain bool, err error) { return d.stringFrom(i, i+1, 0) }

// stringFrom is string resumed at src[p]: the bytes before it are plain, ORed in
// high.
func (d *Doc) stringFrom(i, p int, high uint64) (end int, plain bool, err error) {
	src := d.src
	plain = true
	start := i + 1
	// high gathers the bytes scanned, to tell whether any is not ASCII. Bytes
	// past the end of the string may be in it: that costs only a check of the
	// string's UTF-8.
	i = p
	for {
		// Eight bytes at a time up to the first that ends the string or needs a
		// look: the body of a string is most of a callback.
		for ; i+8 <= len(src); i += 8 {
			x := binary.LittleEndian.Uint64(src[i:])
			high |= x
			if m := specials(x); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto look
			}
		}
		for ; i < len(src); i++ {
			if c := src[i]; c < 0x20 || c == '"' || c == '\\' {
				break
			}
			high |= uint64(src[i])
		}
		if i >= len(src) {
			return i, false, d.errAt(i, "")
		}
	look:
		switch src[i] {
		case '"':
			if high&0x8080808080808080 != 0 && !validUTF8(src[start:i]) {
				d.ambiguous(start-1, "invalid UTF-8 in string")
			}
			return i + 1, plain, nil
		case '\\':
			plain = false
			// An escape of one character here (JSON text in a string has many).
			if i+1 < len(src) {
				switch src[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
					continue
				}
			}
			if i, err = d.escape(i, start); err != nil {
				return i, false, err
			}
		default:
			return i, false, d.errAt(i, "in string literal")
		}
	}
}

// validUTF8 is utf8.Valid, quicker on the text of Chinese callbacks: ASCII up to
// eight bytes at a time, and three-byte runes whose lead byte admits any
// continuation bytes (all but 0xE0 and 0xED) are checked inline, the rest from the
// first other rune on by utf8.Valid.
func validUTF8(b []byte) bool {
	i := 0
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		if x&0x80 == 0 {
			i += bits.TrailingZeros64(x&0x8080808080808080) >> 3
			continue
		}
		if c := byte(x); x&0xC0C0F0 != 0x8080E0 || c == 0xE0 || c == 0xED {
			return utf8.Valid(b[i:])
		}
		i += 3
	}
	for i+4 <= len(b) {
		w := binary.LittleEndian.Uint32(b[i:])
		if w&0x80 == 0 {
			i += bits.TrailingZeros32(w&0x80808080) >> 3
			continue
		}
		if c := byte(w); w&0xC0C0F0 != 0x8080E0 || c == 0xE0 || c == 0xED {
			return utf8.Valid(b[i:])
		}
		i += 3
	}
	return utf8.Valid(b[i:])
}

// escape checks the escape at src[i] (a backslash) of the string whose text starts
// at start, and returns the index just past it: past both halves of a surrogate
// pair. Half a pair is an ambiguity.
func (d *Doc) escape(i, start int) (int, error) {
	src := d.src
	if i++; i >= len(src) {
		return i, d.errAt(i, "")
	}
	switch src[i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 1, nil
	case 'u':
	default:
		return i, d.errAt(i, "in string escape code")
	}
	r, i, err := d.hexEscape(i)
	if err != nil {
		return i, err
	}
	switch {
	case r < 0xd800 || r >= 0xe000:
		return i, nil
	case r >= 0xdc00:
		// A low surrogate with no high one before it.
		d.ambiguous(start-1, "unpaired surrogate escape in string")
		return i, nil
	}
	// A high surrogate: only the escape of a low one may follow.
	if i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
		lo, j, err := d.hexEscape(i + 1)
		if err != nil {
			return j, err
		}
		if lo >= 0xdc00 && lo < 0xe000 {
			return j, nil
		}
		// Not a pair; the escape that follows is checked on its own.
	}
	d.ambiguous(start-1, "unpaired surrogate escape in string")
	return i, nil
}

// hexEscape reads the four hex digits after the 'u' at src[i] and returns the index
// just past them.
func (d *Doc) hexEscape(i int) (rune, int, error) {
	src := d.src
	if i+5 <= len(src) {
		w := src[i+1 : i+5 : i+5]
		a, b, c, e := hexValue[w[0]], hexValue[w[1]], hexValue[w[2]], hexValue[w[3]]
		if a|b|c|e < 16 {
			return rune(a)<<12 | rune(b)<<8 | rune(c)<<4 | rune(e), i + 5, nil
		}
	}
	for k := 0; k < 4; k++ {
		if i++; i >= len(src) || !isHex(src[i]) {
			return 0, i, d.errAt(i, "in \\u hexadecimal character escape")
		}
	}
	return hex4(src[i-3:]), i + 1, nil
}

// specials marks, in the high bit of each byte of x, the control characters,
// quotes and backslashes. Borrows carry only past a marked byte, so the lowest mark
// is exact: the first byte that needs a look. Flipping bit 1 maps the quote to 0x20
// and no byte of 0x20 or more below 0x21, so the first two tests are one: byte
// ^ 2 < 0x21. And each test is "high bit of v-k and not of v", where v's high bit
// is x's: one &^ x serves both.
func specials(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return ((x ^ 2*ones - 0x21*ones) | (x ^ '\\'*ones - ones)) &^ x & highs
}

// hasSpecial says whether any byte of x is a control character, a quote or a
// backslash.
func hasSpecial(x uint64) bool { return specials(x) != 0 }

// The names of the objects being parsed, innermost last, wait in Doc.names until
// their object closes and they are checked for repeats. An object's names are
// compared pairwise by hash up to smallObject of them, and through a table beyond.
const smallObject = 8

// name is a member name awaiting the check: its node and a hash of its text.
type name struct {
	h uint64
	k uint32
}

// name checks the member name at src[i] as string does, and returns also the hash
// of its text (hashBytes). A plain ASCII name is hashed from the words its scan
// loads, so its bytes are read once.
func (d *Doc) name(i int) (end int, plain bool, h uint64, err error) {
	const highs = 0x8080808080808080
	src := d.src
	h = hashSeed
	for p := i + 1; p+16 <= len(src); p += 16 {
		a := binary.LittleEndian.Uint64(src[p:])
		if m := specials(a); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if a &= 1<<(8*n) - 1; src[p+n] != '"' || a&highs != 0 {
				break
			}
			return p + n + 1, true, hashWords(h, a, uint64(p+n-i-1)<<56), nil
		}
		b := binary.LittleEndian.Uint64(src[p+8:])
		if m := specials(b); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if b &= 1<<(8*n) - 1; src[p+8+n] != '"' || (a|b)&highs != 0 {
				break
			}
			return p + 9 + n, true, hashWords(h, a, b|uint64(p+8+n-i-1)<<56), nil
		}
		if (a|b)&highs != 0 {
			break
		}
		h = hashWords(h, a, b)
	}
	// Escapes, other than ASCII, or near the end of the document.
	if end, plain, err = d.string(i); err != nil {
		return end, false, 0, err
	}
	b := src[i+1 : end-1]
	if !plain {
		d.scratch = appendUnquoted(d.scratch[:0], b)
		b = d.scratch
	}
	return end, plain, hashBytes(b), nil
}

// uniqueNames records an ambiguity when an object, whose names are d.names[base:],
// repeats a name, and drops them from the queue. Only a name's hash and, when hashes
// match, its text are compared, so a typical object costs a few integer operations
// per member and no allocation.
func (d *Doc) uniqueNames(base int) {
	names := d.names[base:]
	d.names = d.names[:base]
	if d.amb != nil {
		return // only the first ambiguity is reported
	}
	if len(names) <= smallObject {
		for j := 1; j < len(names); j++ {
			for _, o := range names[:j] {
				if o.h == names[j].h {
					if d.sameName(o.k, names[j].k) {
						d.repeated(names[j].k)
						return
					}
					d.uniqueNamesExact(names)
					return
				}
			}
		}
		return
	}
	size := 16
	for size < 2*len(names) {
		size <<= 1
	}
	if cap(d.table) < size {
		d.table = make([]uint32, size)
	}
	table := d.table[:size]
	defer clear(table)
	mask := uint64(size - 1)
	for j, n := range names {
		for slot := n.h & mask; ; slot = (slot + 1) & mask {
			o := table[slot]
			if o == 0 {
				table[slot] = uint32(j + 1)
				break
			}
			if names[o-1].h != n.h {
				continue
			}
			if d.sameName(names[o-1].k, n.k) {
				d.repeated(n.k)
				return
			}
			// Two names with one hash: compare this object's names exactly.
			d.uniqueNamesExact(names)
			return
		}
	}
}

func (d *Doc) uniqueNamesExact(names []name) {
	seen := map[string]bool{}
	for _, n := range names {
		name := string(d.text(n.k))
		if seen[name] {
			d.repeated(n.k)
			return
		}
		seen[name] = true
	}
}

// hashSeed keys the name hash, so that no one can write a document of names that
// crowd one part of the table (which would make checking them quadratic).
var hashSeed = rand.Uint64()

// hashBytes is a keyed hash of b (multiply and fold, after wyhash, as the runtime's
// own fallback): its bytes as little-endian words, the last zero-padded, taken
// two at a time, with the length in the top byte of the last pair, which holds at
// most 15 bytes (lengths 256 apart differ in their count of pairs): every byte
// counts, and the length too, and a name of up to 15 bytes costs one multiply.
// name computes the same from the words of its scan.
func hashBytes(b []byte) uint64 {
	h := hashSeed
	p := 0
	for ; p+16 <= len(b); p += 16 {
		h = hashWords(h, binary.LittleEndian.Uint64(b[p:]), binary.LittleEndian.Uint64(b[p+8:]))
	}
	// The last 0 to 15 bytes, zero-padded, in overlapping loads.
	r := b[p:]
	var x, y uint64
	switch n := len(r); {
	case n > 8:
		x, y = binary.LittleEndian.Uint64(r), binary.LittleEndian.Uint64(r[n-8:])>>(8*(16-n))
	case n == 8:
		x = binary.LittleEndian.Uint64(r)
	case n >= 4:
		x = uint64(binary.LittleEndian.Uint32(r)) | uint64(binary.LittleEndian.Uint32(r[n-4:]))<<(8*(n-4))
	default:
		for i, c := range r {
			x |= uint64(c) << (8 * i)
		}
	}
	return hashWords(h, x, y|uint64(len(b))<<56)
}

const hashK0, hashK1 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db

// hashWords folds two words of a name into its hash h.
func hashWords(h, x, y uint64) uint64 {
	hi, lo := bits.Mul64(x^hashK0^h, y^hashK1)
	return hi ^ lo
}

func (d *Doc) repeated(k uint32) {
	if d.amb == nil {
		d.ambiguous(int(d.nodes[k].start), fmt.Sprintf("member name %q repeated", d.text(k)))
	}
}

// sameName says whether the names at nodes a and b decode to the same text.
func (d *Doc) sameName(a, b uint32) bool {
	na, nb := &d.nodes[a], &d.nodes[b]
	ra, rb := d.src[na.start+1:na.end-1], d.src[nb.start+1:nb.end-1]
	if na.plain && nb.plain {
		return string(ra) == string(rb)
	}
	return string(d.text(a)) == string(d.text(b))
}

// hexValue is the value of each hex digit, and 0xff for other bytes.
var hexValue = func() (t [256]byte) {
	for c := range t {
		t[c] = 0xff
		if isHex(byte(c)) {
			t[c] = byte(hex4([]byte{'0', '0', '0', byte(c)}))
		}
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at src[i], within
// the range of a float64.
func (d *Doc) number(i int) (int, error) {
	src := d.src
	start := i
	if src[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && src[i] >= '1' && src[i] <= '9':
		i = digits(src, i+1)
	default:
		return i, d.errAt(i, "in numeric literal")
	}
	intDigits := i - intStart
	if i < len(src) && src[i] == '.' {
		if i++; i >= len(src) || !isDigit(src[i]) {
			return i, d.errAt(i, "after decimal point in numeric literal")
		}
		i = digits(src, i+1)
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		if i++; i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if i >= len(src) || !isDigit(src[i]) {
			return i, d.errAt(i, "in exponent of numeric literal")
		}
		i = digits(src, i+1)
		d.inRange(start, i)
		return i, nil
	}
	// Without an exponent only a number of more than 308 integer digits overflows.
	if intDigits > 308 {
		d.inRange(start, i)
	}
	return i, nil
}

// inRange rejects a number beyond ±math.MaxFloat64 (underflow to zero is kept).
func (d *Doc) inRange(start, end int) {
	if d.amb != nil {
		return
	}
	if f, err := strconv.ParseFloat(string(d.src[start:end]), 64); err != nil && math.IsInf(f, 0) {
		d.ambiguous(start, fmt.Sprintf("number %.40s out of range", d.src[start:end]))
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// leadingDigits is how many of the bytes of x, from the lowest, are digits before
// the first that is not.
func leadingDigits(x uint64) int {
	const nibbles, threes, sixes, lows = 0xf0f0f0f0f0f0f0f0, 0x3030303030303030, 0x0606060606060606, 0x7f7f7f7f7f7f7f7f
	// Zero in the bytes 0x30 to 0x3f, and in the bytes 0x2a to 0x39 after adding
	// six: both, the digits. A carry out of a byte of 0xfa or more only reaches
	// bytes past one that is not a digit.
	v := (x&nibbles ^ threes) | ((x+sixes)&nibbles ^ threes)
	return bits.TrailingZeros64(((v&lows)+lows|v)&^lows) >> 3
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func (d *Doc) literal(i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(d.src) || d.src[i+k] != lit[k] {
			return i + k, d.errAt(i+k, "in literal "+lit+" (expecting "+fmt.Sprintf("%q", lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// skipSpace returns the index of the first byte at or after i that is not
// whitespace: at once when there is none, as in a compact document.
func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipSpaces(b, i)
}

func skipSpaces(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			// Indentation eight spaces at a time, and the rest of it at once.
			for i+8 <= len(b) {
				x := binary.LittleEndian.Uint64(b[i:]) ^ 0x2020202020202020
				if x != 0 {
					i += bits.TrailingZeros64(x) >> 3
					break
				}
				i += 8
			}
		default:
			return i
		}
	}
	return i
}

// Value is one value of a Doc. The zero Value is Absent: every method on it answers
// as for a missing member, so lookups chain without checks.
type Value struct {
	d *Doc
	i uint32
}

func (v Value) node() *node { return &v.d.nodes[v.i] }

// Kind is the value's JSON type.
func (v Value) Kind() Kind {
	if v.d == nil {
		return Absent
	}
	return v.node().kind
}

// Exists says the value is present (null included).
func (v Value) Exists() bool { return v.d != nil }

// IsNull says the value is absent or null.
func (v Value) IsNull() bool { k := v.Kind(); return k == Absent || k == Null }

// Raw is the value's JSON text, part of the parsed document; nil when absent.
func (v Value) Raw() []byte {
	if v.d == nil {
		return nil
	}
	n := v.node()
	return v.d.src[n.start:n.end:n.end]
}

// Get is the member of an object named name; Absent when v is not an object or has
// no such member. (A parsed document repeats no name.)
func (v Value) Get(name string) Value {
	if v.Kind() != Object {
		return Value{}
	}
	d := v.d
	nodes, src := d.nodes, d.src
	for k, end := v.i+1, nodes[v.i].next; k < end; k = nodes[k+1].next {
		// A plain name is compared where it lies, its length first: most names
		// differ in length, and no call is made for them.
		if n := &nodes[k]; !n.plain {
			if d.nameIs(k, name) {
				return Value{d, k + 1}
			}
		} else if int(n.end-n.start) == len(name)+2 && string(src[n.start+1:n.end-1]) == name {
			return Value{d, k + 1}
		}
	}
	return Value{}
}

// Path is Get applied name by name.
func (v Value) Path(names ...string) Value {
	for _, n := range names {
		v = v.Get(n)
	}
	return v
}

// nameIs says whether the name at node k reads name.
func (d *Doc) nameIs(k uint32, name string) bool {
	n := &d.nodes[k]
	if n.plain {
		return string(d.src[n.start+1:n.end-1]) == name
	}
	return string(appendUnquoted(nil, d.src[n.start+1:n.end-1])) == name
}

// Members calls yield with each member of an object in document order: name is the member's name, a String (its Text is the name as it decodes).
// Nothing, when v is not an object.
func (v Value) Members(yield func(name, val Value) bool) {
	if v.Kind() != Object {
		return
	}
	nodes := v.d.nodes
	for k := v.i + 1; k < nodes[v.i].next; k = nodes[k+1].next {
		if !yield(Value{v.d, k}, Value{v.d, k + 1}) {
			return
		}
	}
}

// Fields is Members with each name as its text: the bytes between its quotes when it
// has no escapes (shared with the document), else its decoded text (a new copy).
// Called as a function rather than ranged over, it spares a caller that dispatches
// members by name a look at each name's node.
func (v Value) Fields(yield func(name []byte, val Value) bool) {
	if v.Kind() != Object {
		return
	}
	d := v.d
	nodes, src := d.nodes, d.src
	for k, end := v.i+1, nodes[v.i].next; k < end; k = nodes[k+1].next {
		n := &nodes[k]
		name := src[n.start+1 : n.end-1 : n.end-1]
		if !n.plain {
			name = d.text(k)
		}
		if !yield(name, Value{d, k + 1}) {
			return
		}
	}
}

// Elems calls yield with each element of an array in order; nothing, when v is not an
// array.
func (v Value) Elems(yield func(Value) bool) {
	if v.Kind() != Array {
		return
	}
	nodes := v.d.nodes
	for k := v.i + 1; k < nodes[v.i].next; k = nodes[k].next {
		if !yield(Value{v.d, k}) {
			return
		}
	}
}

// Len is the number of elements of an array or members of an object, else 0.
func (v Value) Len() int {
	k := v.Kind()
	if k != Array && k != Object {
		return 0
	}
	nodes := v.d.nodes
	n := 0
	for j := v.i + 1; j < nodes[v.i].next; j = nodes[j].next {
		n++
	}
	if k == Object {
		n /= 2
	}
	return n
}

// Text is a string's decoded text, shared with the document when nothing needed
// decoding; ok is false for any other kind.
func (v Value) Text() (text []byte, ok bool) {
	if v.Kind() != String {
		return nil, false
	}
	return v.d.text(v.i), true
}

// Str is Text as a string, "" for other kinds.
func (v Value) Str() string {
	t, _ := v.Text()
	return string(t)
}

// Plain says a string's text is its raw bytes between the quotes, with no escapes.
func (v Value) Plain() bool { return v.Kind() == String && v.node().plain }

// AppendText appends a string's decoded text to dst (nothing for other kinds), so a
// caller with a buffer of its own decodes escapes without allocating.
func (v Value) AppendText(dst []byte) []byte {
	if v.Kind() != String {
		return dst
	}
	n := v.node()
	inner := v.d.src[n.start+1 : n.end-1]
	if n.plain {
		return append(dst, inner...)
	}
	return appendUnquoted(dst, inner)
}

func (d *Doc) text(k uint32) []byte {
	n := &d.nodes[k]
	inner := d.src[n.start+1 : n.end-1 : n.end-1]
	if n.plain {
		return inner
	}
	return appendUnquoted(make([]byte, 0, len(inner)), inner)
}

// appendUnquoted appends the text of the content s of a valid JSON string, decoded
// as encoding/json decodes it: invalid UTF-8 and unpaired surrogates become U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			switch c := s[r]; c {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != utf8.RuneError {
							dst = utf8.AppendRune(dst, dec)
							r += 6
							continue
						}
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, c)
			}
			r++
		case c < utf8.RuneSelf:
			// A run of plain ASCII at once.
			k := r + 1
			for k < len(s) && s[k] < utf8.RuneSelf && s[k] != '\\' {
				k++
			}
			dst = append(dst, s[r:k]...)
			r = k
		default:
			rr, size := utf8.DecodeRune(s[r:])
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// hex4 reads the four hex digits that a valid \u escape holds.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
