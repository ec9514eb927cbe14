package event

import (
	"strconv"
	"unicode/utf8"
)

// JSONAppender is event data that appends its JSON encoding (without raw) itself.
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// The AppendJSON methods below exist for the webhook hot path, where encoding/json's
// reflection dominates the cost of building an event. Each appends exactly what
// json.Marshal produces for the value with Raw cleared (Raw is never written; the
// publisher splices it in), byte for byte, as json_test.go proves by comparison and
// fuzzing. Their output is valid UTF-8 whatever the strings hold (invalid bytes
// become \ufffd, as with json.Marshal), which the publisher relies on. A field added
// to these structs must be added here too, or the tests fail.

// AppendJSON implements JSONAppender.
func (c *CallFinished) AppendJSON(dst []byte) []byte {
	if c == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"vendor":`...)
	dst = appendString(dst, c.Vendor)
	dst = append(dst, `,"account":`...)
	dst = appendString(dst, c.Account)
	dst = append(dst, `,"direction":`...)
	dst = appendString(dst, c.Direction)
	dst = append(dst, `,"callId":`...)
	dst = appendString(dst, c.CallID)
	dst = append(dst, `,"taskId":`...)
	dst = appendStringPtr(dst, c.TaskID)
	dst = append(dst, `,"taskName":`...)
	dst = appendStringPtr(dst, c.TaskName)
	dst = append(dst, `,"companyId":`...)
	dst = appendStringPtr(dst, c.CompanyID)
	dst = append(dst, `,"customer":`...)
	dst = c.Customer.appendJSON(dst)
	dst = append(dst, `,"callerNumber":`...)
	dst = appendStringPtr(dst, c.CallerNumber)
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, c.Status)
	dst = append(dst, `,"vendorStatus":`...)
	dst = appendString(dst, c.VendorStatus)
	dst = append(dst, `,"answered":`...)
	dst = strconv.AppendBool(dst, c.Answered)
	dst = append(dst, `,"intentLevel":`...)
	dst = appendStringPtr(dst, c.IntentLevel)
	dst = append(dst, `,"intentLabel":`...)
	dst = appendStringPtr(dst, c.IntentLabel)
	dst = append(dst, `,"tags":`...)
	dst = appendStrings(dst, c.Tags)
	dst = append(dst, `,"concerns":`...)
	dst = appendStrings(dst, c.Concerns)
	dst = append(dst, `,"durationSeconds":`...)
	dst = strconv.AppendInt(dst, c.DurationSeconds, 10)
	dst = append(dst, `,"chatRounds":`...)
	dst = strconv.AppendInt(dst, c.ChatRounds, 10)
	dst = append(dst, `,"startedAt":`...)
	dst = appendStringPtr(dst, c.StartedAt)
	dst = append(dst, `,"endedAt":`...)
	dst = appendStringPtr(dst, c.EndedAt)
	dst = append(dst, `,"hangupBy":`...)
	dst = appendStringPtr(dst, c.HangupBy)
	dst = append(dst, `,"recordingUrl":`...)
	dst = appendStringPtr(dst, c.RecordingURL)
	dst = append(dst, `,"customerRecordingUrl":`...)
	dst = appendStringPtr(dst, c.CustomerRecordingURL)
	dst = append(dst, `,"transcript":`...)
	if c.Transcript == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range c.Transcript {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = c.Transcript[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"attempt":`...)
	dst = strconv.AppendInt(dst, int64(c.Attempt), 10)
	if c.Recovered {
		dst = append(dst, `,"recovered":true`...)
	}
	return append(dst, '}')
}

// AppendJSON implements JSONAppender.
func (s *TaskStatus) AppendJSON(dst []byte) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"vendor":`...)
	dst = appendString(dst, s.Vendor)
	dst = append(dst, `,"account":`...)
	dst = appendString(dst, s.Account)
	dst = append(dst, `,"taskId":`...)
	dst = appendString(dst, s.TaskID)
	dst = append(dst, `,"taskName":`...)
	dst = appendStringPtr(dst, s.TaskName)
	dst = append(dst, `,"companyId":`...)
	dst = appendStringPtr(dst, s.CompanyID)
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, s.Status)
	dst = append(dst, `,"vendorStatus":`...)
	dst = appendString(dst, s.VendorStatus)
	dst = append(dst, `,"finished":`...)
	dst = strconv.AppendBool(dst, s.Finished)
	return append(dst, '}')
}

// AppendJSON implements JSONAppender.
func (i *IntentChanged) AppendJSON(dst []byte) []byte {
	if i == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"vendor":`...)
	dst = appendString(dst, i.Vendor)
	dst = append(dst, `,"account":`...)
	dst = appendString(dst, i.Account)
	dst = append(dst, `,"callId":`...)
	dst = appendString(dst, i.CallID)
	dst = append(dst, `,"companyId":`...)
	dst = appendStringPtr(dst, i.CompanyID)
	dst = append(dst, `,"intentLevel":`...)
	dst = appendStringPtr(dst, i.IntentLevel)
	dst = append(dst, `,"intentLabel":`...)
	dst = appendStringPtr(dst, i.IntentLabel)
	dst = append(dst, `,"changedBy":`...)
	dst = appendString(dst, i.ChangedBy)
	return append(dst, '}')
}

// AppendJSON implements JSONAppender.
func (m *SMSSent) AppendJSON(dst []byte) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"vendor":`...)
	dst = appendString(dst, m.Vendor)
	dst = append(dst, `,"account":`...)
	dst = appendString(dst, m.Account)
	dst = append(dst, `,"callId":`...)
	dst = appendString(dst, m.CallID)
	dst = append(dst, `,"taskId":`...)
	dst = appendStringPtr(dst, m.TaskID)
	dst = append(dst, `,"taskName":`...)
	dst = appendStringPtr(dst, m.TaskName)
	dst = append(dst, `,"companyId":`...)
	dst = appendStringPtr(dst, m.CompanyID)
	dst = append(dst, `,"customer":`...)
	dst = m.Customer.appendJSON(dst)
	dst = append(dst, `,"messages":`...)
	if m.Messages == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range m.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = m.Messages[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func (s *SMS) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"templateId":`...)
	dst = appendStringPtr(dst, s.TemplateID)
	dst = append(dst, `,"templateName":`...)
	dst = appendStringPtr(dst, s.TemplateName)
	dst = append(dst, `,"signature":`...)
	dst = appendStringPtr(dst, s.Signature)
	dst = append(dst, `,"type":`...)
	dst = appendStringPtr(dst, s.Type)
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, s.Text)
	return append(dst, '}')
}

func (c *Customer) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendStringPtr(dst, c.ID)
	dst = append(dst, `,"name":`...)
	dst = appendStringPtr(dst, c.Name)
	dst = append(dst, `,"phone":`...)
	dst = appendStringPtr(dst, c.Phone)
	return append(dst, '}')
}

func (u *Utterance) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"speaker":`...)
	dst = appendString(dst, u.Speaker)
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, u.Text)
	dst = append(dst, `,"startMs":`...)
	dst = appendInt64Ptr(dst, u.StartMs)
	dst = append(dst, `,"endMs":`...)
	dst = appendInt64Ptr(dst, u.EndMs)
	return append(dst, '}')
}

func appendStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendString(dst, *s)
}

func appendInt64Ptr(dst []byte, n *int64) []byte {
	if n == nil {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, *n, 10)
}

// appendStrings keeps encoding/json's distinction: a nil slice is null, an empty one [].
func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// htmlSafe mirrors encoding/json's htmlSafeSet: printable ASCII (and DEL) except
// '"', '\\', '<', '>' and '&' go through unescaped.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()

// appendString quotes s exactly as json.Marshal does with its default HTML escaping
// (encoding/json's appendString with escapeHTML set).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, b)
			i++
			start = i
			continue
		}
		// Most non-ASCII text (Chinese included) is 3-byte runes whose lead byte
		// admits any continuation bytes (not 0xE0 or 0xED): check them inline rather
		// than decode. Of these only U+2028 and U+2029 need escaping.
		if i+2 < len(s) && b >= 0xE1 && b <= 0xEF && b != 0xED && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			if b == 0xE2 && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[s[i+2]&0xF])
				start = i + 3
			}
			i += 3
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// Valid JSON, but not valid JavaScript (JSONP): encoding/json always escapes them.
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscapedASCII escapes an ASCII byte that htmlSafe rejects.
func appendEscapedASCII(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	// Other control characters and < > &.
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
