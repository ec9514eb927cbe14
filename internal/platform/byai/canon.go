package byai

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/jsondoc"
)

var canonPool = sync.Pool{New: func() any { return new(canon) }}

// stableDigest digests the vendor record rec, an object, without its volatile sign and
// dateTime, in a form that does not depend on member order, white space or string
// escapes: retries of one callback differ only in sign and dateTime, and must share
// an event id.
func stableDigest(rec jsondoc.Value) []byte {
	c := canonPool.Get().(*canon)
	c.object(rec, true)
	sum := sha256.Sum256(c.out)
	if cap(c.out) <= 1<<16 && cap(c.text) <= 1<<16 {
		c.out, c.text, c.mems, c.keys = c.out[:0], c.text[:0], c.mems[:0], c.keys[:0]
		canonPool.Put(c)
	}
	return sum[:]
}

// canon writes a canonical form of a JSON value, in which documents that decode to
// equal values read the same: objects have their members sorted by name (the last of
// repeated names kept), strings are written from their decoded text, numbers as they
// stand, and white space is gone. Members are written as name then value, without
// ':' or ',': both are self-delimiting, and the form is only ever hashed.
type canon struct {
	out, text []byte
	// mems and keys are stacks of the members of the objects being written.
	mems []canonMember
	keys []sortKey
}

// canonMember is one member of an object: its name as written, and its value.
type canonMember struct {
	name []byte
	val  jsondoc.Value
}

// sortKey orders one member: prefix is the first 8 bytes of its name, big-endian,
// zero-padded, which orders most names without comparing them in full.
type sortKey struct {
	prefix uint64
	mem    int32 // index in canon.mems, which is also the document order
}

func namePrefix(name []byte) uint64 {
	var b [8]byte
	copy(b[:], name)
	return binary.BigEndian.Uint64(b[:])
}

func (c *canon) value(v jsondoc.Value) {
	switch v.Kind() {
	case jsondoc.Object:
		c.object(v, false)
	case jsondoc.Array:
		c.out = append(c.out, '[')
		first := true
		for e := range v.Elems {
			if !first {
				c.out = append(c.out, ',')
			}
			first = false
			c.value(e)
		}
		c.out = append(c.out, ']')
	case jsondoc.String:
		if raw := v.Raw(); v.Plain() || ownForm(raw[1:len(raw)-1]) {
			c.out = append(c.out, raw...)
			return
		}
		c.text = v.AppendText(c.text[:0])
		c.out = appendCanonString(c.out, c.text)
	default:
		c.out = append(c.out, v.Raw()...)
	}
}

// object writes obj in name order, keeping the last of repeated names; at the top of
// the record it drops sign and dateTime.
func (c *canon) object(obj jsondoc.Value, top bool) {
	first, firstKey := len(c.mems), len(c.keys)
	sorted := true
	for name, v := range obj.Members {
		written := name.Raw()
		if !name.Plain() {
			// Rare: a name with escapes gets a buffer of its own, since the members
			// below may reuse c.text.
			t, _ := name.Text()
			written = appendCanonString(nil, t)
		}
		if n := len(c.mems); n > first && sorted {
			sorted = bytes.Compare(c.mems[n-1].name, written) < 0
		}
		// Names start with the same quote: the prefix is taken after it.
		c.keys = append(c.keys, sortKey{namePrefix(written[1:]), int32(len(c.mems))})
		c.mems = append(c.mems, canonMember{name: written, val: v})
	}
	keys := c.keys[firstKey:]
	if !sorted {
		// Sorting small keys moves less than sorting the members.
		mems := c.mems
		slices.SortFunc(keys, func(x, y sortKey) int {
			// Written names hold no NUL, so zero padding orders as the end of a name.
			if x.prefix != y.prefix {
				return cmp.Compare(x.prefix, y.prefix)
			}
			if n := bytes.Compare(mems[x.mem].name, mems[y.mem].name); n != 0 {
				return n
			}
			return cmp.Compare(x.mem, y.mem)
		})
	}
	c.out = append(c.out, '{')
	for k := range keys {
		// value below may grow c.mems and c.keys: index them afresh.
		m := c.mems[c.keys[firstKey+k].mem]
		if k+1 < len(keys) && bytes.Equal(m.name, c.mems[c.keys[firstKey+k+1].mem].name) {
			continue
		}
		if top && (string(m.name) == `"sign"` || string(m.name) == `"dateTime"`) {
			continue
		}
		c.out = append(c.out, m.name...)
		c.value(m.val)
	}
	c.out = append(c.out, '}')
	c.mems, c.keys = c.mems[:first], c.keys[:firstKey]
}

// ownForm says whether the content of a valid JSON string is already in canonical
// form: valid UTF-8 whose only escapes are \" and \\, as in the JSON texts BYAI nests
// in strings. (Valid JSON holds no raw quotes or control characters.)
func ownForm(s []byte) bool {
	high := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i++; s[i] != '"' && s[i] != '\\' {
				return false
			}
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	return !high || utf8.Valid(s)
}

// appendCanonString writes decoded text as a JSON string, escaping only quotes,
// backslashes and control characters.
func appendCanonString(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' {
			j++
		}
		out = append(out, s[i:j]...)
		if j == len(s) {
			break
		}
		switch ch := s[j]; {
		case ch == '"' || ch == '\\':
			out = append(out, '\\', ch)
		default:
			out = append(out, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
		}
		i = j + 1
	}
	return append(out, '"')
}
