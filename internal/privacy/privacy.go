// Package privacy applies the configured phone-number policy to event data.
//
// Vendors repeat a phone number in many places of one payload (fields, nested JSON
// strings, even recording file names), so the policy is applied to every occurrence
// of each known number in the serialized data, not to a list of fields.
package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
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

// Apply rewrites every occurrence of the given numbers in data. Longer numbers are
// replaced first so that a number containing another is rewritten whole.
func (p *Policy) Apply(data []byte, phones []string) []byte {
	if p.Mode() == Plain || len(phones) == 0 {
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
	for _, ph := range uniq {
		data = bytes.ReplaceAll(data, []byte(ph), []byte(p.Phone(ph)))
	}
	return data
}
