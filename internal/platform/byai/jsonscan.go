package byai

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"
	"unicode/utf8"
)

// This file reads JSON that encoding/json has already found valid (json.Valid, or a
// value taken out of such a document): it only needs to find where values end, so a
// callback is walked without decoding it into maps.

// skipSpace returns the index of the first non-space byte of b at or after i.
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

// stringEnd returns the index just past the string whose opening quote is b[i].
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		j += k
		// The quote ends the string unless an odd number of backslashes escapes it.
		n := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	// A number or a literal.
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// unquote returns the text of the JSON string s (quotes included), as encoding/json
// decodes it: the bytes between the quotes when nothing needs decoding.
func unquote(s []byte) []byte {
	if plain(s[1 : len(s)-1]) {
		return s[1 : len(s)-1]
	}
	var v string
	if json.Unmarshal(s, &v) != nil {
		return nil
	}
	return []byte(v)
}

// plain says whether the content of a JSON string decodes to itself: valid UTF-8
// without escapes (or quotes and control characters, which only an escape can write).
func plain(s []byte) bool {
	high := false
	for _, c := range s {
		switch {
		case c == '\\' || c == '"' || c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return !high || utf8.Valid(s)
}

// objectReader lists the members of a valid JSON object in document order.
type objectReader struct {
	b []byte
	i int
}

// newObjectReader reads obj, a valid JSON object starting with '{'.
func newObjectReader(obj []byte) objectReader { return objectReader{b: obj, i: 1} }

// next returns the next member's decoded name and its value's exact bytes.
func (r *objectReader) next() (key, val []byte, ok bool) {
	b := r.b
	i := skipSpace(b, r.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		r.i = len(b)
		return nil, nil, false
	}
	end := stringEnd(b, i)
	key = unquote(b[i:end])
	i = skipSpace(b, end)
	i = skipSpace(b, i+1) // past ':'
	end = valueEnd(b, i)
	r.i = end
	return key, b[i:end], true
}

// record is what one walk over a vendor record finds.
type record struct {
	// stable digests the record without its volatile sign and dateTime, in a form that
	// does not depend on member order, white space or string escapes.
	stable []byte
	// hasScene and hasResults say whether sceneInstance and taskResult are present and
	// not null.
	hasScene, hasResults bool
}

var canonPool = sync.Pool{New: func() any { return new(canon) }}

// readRecord walks the vendor record obj, a valid JSON object, once.
func readRecord(obj []byte) record {
	c := canonPool.Get().(*canon)
	c.hasScene, c.hasResults = false, false
	c.object(obj, skipSpace(obj, 0), true)
	sum := sha256.Sum256(c.out)
	rec := record{stable: sum[:], hasScene: c.hasScene, hasResults: c.hasResults}
	if cap(c.out) <= 1<<16 && cap(c.tmp) <= 1<<16 {
		c.out, c.tmp, c.mems = c.out[:0], c.tmp[:0], c.mems[:0]
		canonPool.Put(c)
	}
	return rec
}

// canon writes a canonical form of valid JSON, in which documents that decode to equal
// values read the same: objects have their members sorted by name (the last of repeated
// names kept), strings are written from their decoded text, numbers as they stand, and
// white space is gone. Members are written as name then value, without ':' or ',':
// both are self-delimiting, and the form is only ever hashed.
type canon struct {
	out, tmp []byte
	mems     []canonMember
	// hasScene and hasResults are noted at the top of the record, which also drops
	// sign and dateTime.
	hasScene, hasResults bool
}

// canonMember locates one member in out: its name at [key, val), its value at [val, end).
type canonMember struct {
	key, val, end, seq int
}

// value writes the value at b[i] and returns the index just past it.
func (c *canon) value(b []byte, i int) int {
	switch b[i] {
	case '{':
		return c.object(b, i, false)
	case '[':
		return c.array(b, i)
	case '"':
		return c.string(b, i)
	}
	end := valueEnd(b, i)
	c.out = append(c.out, b[i:end]...)
	return end
}

func (c *canon) object(b []byte, i int, top bool) int {
	start := len(c.out)
	c.out = append(c.out, '{')
	first := len(c.mems)
	sorted := true
	for i = skipSpace(b, i+1); b[i] != '}'; {
		key := len(c.out)
		i = c.string(b, i)
		val := len(c.out)
		i = skipSpace(b, i)
		i = c.value(b, skipSpace(b, i+1))
		if n := len(c.mems); n > first && sorted {
			prev := c.mems[n-1]
			sorted = bytes.Compare(c.out[prev.key:prev.val], c.out[key:val]) < 0
		}
		c.mems = append(c.mems, canonMember{key: key, val: val, end: len(c.out), seq: len(c.mems)})
		if i = skipSpace(b, i); b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if !sorted || top {
		c.reorder(start+1, c.mems[first:], top)
	}
	c.out = append(c.out, '}')
	c.mems = c.mems[:first]
	return i + 1
}

// reorder rewrites the members written from base on in name order, keeping the last
// of repeated names, and at the top of the record drops sign and dateTime.
func (c *canon) reorder(base int, mems []canonMember, top bool) {
	out := c.out
	slices.SortFunc(mems, func(x, y canonMember) int {
		if n := bytes.Compare(out[x.key:x.val], out[y.key:y.val]); n != 0 {
			return n
		}
		return cmp.Compare(x.seq, y.seq)
	})
	c.tmp = append(c.tmp[:0], out[base:]...)
	c.out = out[:base]
	for k, m := range mems {
		name := c.tmp[m.key-base : m.val-base]
		if k+1 < len(mems) {
			if next := mems[k+1]; bytes.Equal(name, c.tmp[next.key-base:next.val-base]) {
				continue
			}
		}
		val := c.tmp[m.val-base : m.end-base]
		if top {
			switch string(name) {
			case `"sign"`, `"dateTime"`:
				continue
			case `"sceneInstance"`:
				c.hasScene = string(val) != "null"
			case `"taskResult"`:
				c.hasResults = string(val) != "null"
			}
		}
		c.out = append(c.out, c.tmp[m.key-base:m.end-base]...)
	}
}

func (c *canon) array(b []byte, i int) int {
	c.out = append(c.out, '[')
	for i = skipSpace(b, i+1); b[i] != ']'; {
		i = skipSpace(b, c.value(b, i))
		if b[i] == ',' {
			c.out = append(c.out, ',')
			i = skipSpace(b, i+1)
		}
	}
	c.out = append(c.out, ']')
	return i + 1
}

// string writes the string at b[i] by its decoded text (see str) and returns the
// index just past it.
func (c *canon) string(b []byte, i int) int {
	end := stringEnd(b, i)
	s := b[i+1 : end-1]
	if !utf8.Valid(s) {
		c.str(unquote(b[i:end]))
		return end
	}
	k := bytes.IndexByte(s, '\\')
	if k < 0 {
		// Valid JSON holds no raw quotes or control characters: s is its own text.
		c.out = append(c.out, b[i:end]...)
		return end
	}
	mark := len(c.out)
	c.out = append(c.out, '"')
	c.out = append(c.out, s[:k]...)
	for ; k < len(s); k++ {
		ch := s[k]
		if ch != '\\' {
			c.out = append(c.out, ch)
			continue
		}
		k++
		switch s[k] {
		case '"', '\\':
			c.out = append(c.out, '\\', s[k])
		case '/':
			c.out = append(c.out, '/')
		case 'b':
			c.control('\b')
		case 'f':
			c.control('\f')
		case 'n':
			c.control('\n')
		case 'r':
			c.control('\r')
		case 't':
			c.control('\t')
		default:
			// \uXXXX, with its surrogate pairs: leave it to encoding/json.
			c.out = c.out[:mark]
			c.str(unquote(b[i:end]))
			return end
		}
	}
	c.out = append(c.out, '"')
	return end
}

// str writes decoded text as a JSON string, escaping only quotes, backslashes and
// control characters.
func (c *canon) str(s []byte) {
	c.out = append(c.out, '"')
	for _, ch := range s {
		switch {
		case ch == '"' || ch == '\\':
			c.out = append(c.out, '\\', ch)
		case ch < 0x20:
			c.control(ch)
		default:
			c.out = append(c.out, ch)
		}
	}
	c.out = append(c.out, '"')
}

func (c *canon) control(ch byte) {
	const hex = "0123456789abcdef"
	c.out = append(c.out, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
}
