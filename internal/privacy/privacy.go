// Package privacy applies the configured phone-number policy to event data.
//
// Vendors repeat a phone number in many places of one payload (fields, nested JSON
// strings, even recording file names), and people say numbers in transcripts, so the
// policy is applied to the serialized data: to every occurrence of each known number
// and to every run of digits in a string that is a phone number (see Apply), not to a
// list of fields.
package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Mode is a phone privacy policy.
type Mode string

const (
	// Plain publishes numbers as the vendor sent them.
	Plain Mode = "plain"
	// Mask keeps the first three and last two digits: 137******33.
	Mask Mode = "mask"
	// Hash replaces a number by a keyed hash, stable per key, so consumers can still
	// join on it without learning it.
	Hash Mode = "hash"
)

// Policy rewrites phone numbers. The zero value is Plain.
type Policy struct {
	mode Mode
	key  []byte
}

// New returns the policy for mode; Hash needs a key.
func New(mode Mode, key []byte) (*Policy, error) {
	switch mode {
	case "", Plain:
		return &Policy{mode: Plain}, nil
	case Mask:
		return &Policy{mode: Mask}, nil
	case Hash:
		if len(key) < 16 {
			return nil, fmt.Errorf("privacy: hash mode needs a key of at least 16 bytes")
		}
		return &Policy{mode: Hash, key: bytes.Clone(key)}, nil
	}
	return nil, fmt.Errorf("privacy: unknown mode %q", mode)
}

// Mode reports the policy's mode.
func (p *Policy) Mode() Mode {
	if p == nil || p.mode == "" {
		return Plain
	}
	return p.mode
}

// Phone returns how number is published under the policy.
func (p *Policy) Phone(number string) string {
	switch p.Mode() {
	case Mask:
		return MaskPhone(number)
	case Hash:
		m := hmac.New(sha256.New, p.key)
		m.Write([]byte(number))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))[:32]
	}
	return number
}

// MaskPhone keeps the first three and last two characters of a number and hides the
// rest; short numbers keep only their last two. It is also what logs use.
func MaskPhone(number string) string {
	r := []rune(number)
	switch {
	case len(r) <= 2:
		return string(r)
	case len(r) < 7:
		return string(bytes.Repeat([]byte("*"), len(r)-2)) + string(r[len(r)-2:])
	}
	return string(r[:3]) + string(bytes.Repeat([]byte("*"), len(r)-5)) + string(r[len(r)-2:])
}

// minPhone avoids rewriting short values (extension numbers, "1010" test lines) that
// could collide with unrelated digits in the payload.
const minPhone = 5

// Apply rewrites the phone numbers in data, serialized JSON, under the policy:
//
//   - in every string (member names aside), every digit run that is a mainland China
//     phone number as people write it: a mobile number (1[3-9] and nine more digits)
//     or a landline number with its area code (0 and nine to eleven more digits), each
//     optionally after +86, 86 or 0086 (then a landline's leading 0 may be left out),
//     with or without spaces or dashes between groups of digits; a run counts only
//     when no digit touches it, so longer digit strings (ids, timestamps) are left
//     alone, and values of members named id, *Id, *ID or *_id are not scanned;
//   - every occurrence of the given numbers (those the vendor's phone fields hold) in
//     strings, and a JSON number that is one of them or a phone number as above
//     (then written as a string).
//
// Longer given numbers are replaced first, so that a number containing another is
// rewritten whole. The result is valid JSON when data is.
func (p *Policy) Apply(data []byte, phones []string) []byte {
	if p.Mode() == Plain {
		return data
	}
	uniq := make([]string, 0, len(phones))
	seen := map[string]bool{}
	for _, ph := range phones {
		if len(ph) >= minPhone && !seen[ph] {
			seen[ph] = true
			uniq = append(uniq, ph)
		}
	}
	sort.Slice(uniq, func(i, j int) bool { return len(uniq[i]) > len(uniq[j]) })
	w := walker{p: p, known: uniq, out: make([]byte, 0, len(data)+len(data)/16)}
	return w.walk(data)
}

type walker struct {
	p     *Policy
	known []string
	out   []byte
}

// walk copies data, rewriting strings and numbers outside member names.
func (w *walker) walk(data []byte) []byte {
	var stack []bool // true: object
	expectKey := false
	name := []byte(nil)
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			end := stringEnd(data, i)
			inObject := len(stack) > 0 && stack[len(stack)-1]
			if inObject && expectKey {
				name = data[i+1 : end-1]
				w.out = append(w.out, data[i:end]...)
			} else {
				w.out = append(w.out, '"')
				w.text(data[i+1:end-1], !idName(name))
				w.out = append(w.out, '"')
			}
			i = end
			continue
		case c == '-' || c >= '0' && c <= '9':
			end := i + 1
			for end < len(data) && strings.IndexByte("0123456789+-.eE", data[end]) >= 0 {
				end++
			}
			w.number(data[i:end], !idName(name))
			i = end
			continue
		case c == '{':
			stack = append(stack, true)
			expectKey = true
		case c == '[':
			stack = append(stack, false)
		case c == '}' || c == ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1]
		case c == ':':
			expectKey = false
		}
		w.out = append(w.out, c)
		i++
	}
	return w.out
}

// stringEnd is the index just past the JSON string starting at data[i].
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// idName says a member holds an identifier, which is never a phone number.
func idName(name []byte) bool {
	n := string(name)
	return n == "id" || strings.HasSuffix(n, "Id") || strings.HasSuffix(n, "ID") || strings.HasSuffix(n, "_id")
}

// number writes a JSON number, as a rewritten string when it is a phone number.
func (w *walker) number(num []byte, scan bool) {
	if len(num) < minPhone {
		w.out = append(w.out, num...)
		return
	}
	s := string(num)
	for _, ph := range w.known {
		if s == ph {
			w.out = append(w.out, '"')
			w.out = append(w.out, w.p.Phone(ph)...)
			w.out = append(w.out, '"')
			return
		}
	}
	if scan {
		if prefix, national, ok := phoneDigits(s, false); ok && prefix == "" {
			w.out = append(w.out, '"')
			w.out = append(w.out, w.p.Phone(national)...)
			w.out = append(w.out, '"')
			return
		}
	}
	w.out = append(w.out, num...)
}

// text writes the content of a JSON string with its phone numbers rewritten.
func (w *walker) text(s []byte, scan bool) {
	start := len(w.out)
	if scan {
		w.scan(s)
	} else {
		w.out = append(w.out, s...)
	}
	if len(w.known) == 0 {
		return
	}
	seg := w.out[start:]
	changed := false
	for _, ph := range w.known {
		if bytes.Contains(seg, []byte(ph)) {
			seg = replaceText(seg, []byte(ph), []byte(w.p.Phone(ph)))
			changed = true
		}
	}
	if changed {
		w.out = append(w.out[:start], seg...)
	}
}

// escapeLen is the length of the escape at s[0] (a backslash) of a string's raw
// text: its digits (\u0031) are not the text's, and rewriting them would break it.
func escapeLen(s []byte) int {
	if len(s) > 1 && s[1] == 'u' {
		return min(6, len(s))
	}
	return min(2, len(s))
}

// replaceText returns s, the raw text of a string, with old replaced by new
// outside escapes.
func replaceText(s, old, new []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\':
			n := escapeLen(s[i:])
			out = append(out, s[i:i+n]...)
			i += n
		case bytes.HasPrefix(s[i:], old):
			out = append(out, new...)
			i += len(old)
		default:
			out = append(out, s[i])
			i++
		}
	}
	return out
}

// scan appends s (the raw text of a string) with every phone-number run rewritten.
func (w *walker) scan(s []byte) {
	for i := 0; i < len(s); {
		// Up to the next digit or '+' at once: most of a string is neither. Escapes
		// are passed whole.
		j := i
		for j < len(s) && !isDigit(s[j]) && s[j] != '+' {
			if s[j] == '\\' {
				j += escapeLen(s[j:])
			} else {
				j++
			}
		}
		w.out = append(w.out, s[i:j]...)
		// A run starts after what was passed (an escape's last digit included), or
		// where the previous one ended, but not inside a run of digits.
		boundary := j > i || i == 0 || !isDigit(s[i-1])
		if i = j; i >= len(s) {
			break
		}
		c := s[i]
		if !(isDigit(c) || c == '+' && i+1 < len(s) && isDigit(s[i+1])) || !boundary {
			w.out = append(w.out, c)
			i++
			continue
		}
		// The run of digit groups from i: digits, single spaces or dashes between them.
		var room [8][2]int
		groups := groupsAt(s, i, room[:0])
		if end := groups[len(groups)-1][1]; len(groups) == 1 && end-groups[0][0] < 9 {
			// Too short to be a phone number: the common case (counts, times).
			w.out = append(w.out, s[i:end]...)
			i = end
			continue
		}
		next := i
		for a := 0; a < len(groups); a++ {
			matched := false
			for b := len(groups) - 1; b >= a; b-- {
				from, to := groups[a][0], groups[b][1]
				if a == 0 && s[i] == '+' {
					from = i
				}
				var buf [32]byte
				digits := buf[:0]
				for g := a; g <= b; g++ {
					digits = append(digits, s[groups[g][0]:groups[g][1]]...)
				}
				plus := a == 0 && s[i] == '+'
				prefix, national, ok := phoneDigits(string(digits), plus)
				if !ok {
					continue
				}
				w.out = append(w.out, s[next:from]...)
				if prefix != "" {
					w.out = append(w.out, prefix...)
				}
				w.out = append(w.out, w.p.Phone(national)...)
				next, a, matched = to, b, true
				break
			}
			_ = matched
		}
		end := groups[len(groups)-1][1]
		w.out = append(w.out, s[next:end]...)
		i = end
	}
}

// groupsAt returns the [start, end) of each digit group of the run at s[i] (a leading
// '+' excluded): groups joined by one space or dash.
func groupsAt(s []byte, i int, groups [][2]int) [][2]int {
	if s[i] == '+' {
		i++
	}
	for {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		groups = append(groups, [2]int{i, j})
		if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
			i = j + 1
			continue
		}
		return groups
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// phoneDigits says whether digits (with plus: written after a '+') are a mainland
// phone number, and splits off the country code as written ("+86", "86", "0086").
func phoneDigits(digits string, plus bool) (prefix, national string, ok bool) {
	national = digits
	intl := false
	switch {
	case plus && strings.HasPrefix(digits, "86"):
		prefix, national, intl = "+86", digits[2:], true
	case plus:
		return "", "", false
	case strings.HasPrefix(digits, "0086"):
		prefix, national, intl = "0086", digits[4:], true
	case strings.HasPrefix(digits, "86") && len(digits) == 13 && digits[2] == '1':
		prefix, national, intl = "86", digits[2:], true
	}
	n := len(national)
	switch {
	case n == 11 && national[0] == '1' && national[1] >= '3':
		return prefix, national, true
	case n >= 10 && n <= 12 && national[0] == '0' && national[1] != '0':
		return prefix, national, true
	case intl && n >= 9 && n <= 11 && national[0] >= '2':
		return prefix, national, true
	case intl && n >= 10 && n <= 11 && strings.HasPrefix(national, "10"):
		return prefix, national, true
	}
	return "", "", false
}
