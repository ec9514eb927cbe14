package yiwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

// Callback data types (callBack.md).
const (
	DataTypeCallRecord = "ROBOT_CALL_RECORD"
	DataTypeCallJob    = "ROBOT_CALL_JOB"
)

// localLayout is how Yiwise writes times, in the account's time zone.
const localLayout = "2006-01-02 15:04:05"

var callStatus = map[string]string{
	"ANSWERED":         event.StatusAnswered,
	"NO_ANSWER":        event.StatusNoAnswer,
	"BUSY":             event.StatusBusy,
	"POWER_OFF":        event.StatusPowerOff,
	"OUT_OF_SERVICE":   event.StatusOutOfService,
	"REFUSED":          event.StatusRefused,
	"VACANT_NUMBER":    event.StatusVacantNumber,
	"CAN_NOT_CONNECT":  event.StatusUnreachable,
	"FROM_PHONE_ERROR": event.StatusCallerUnavailable,
	"SYSTEM_ERROR":     event.StatusSystemError,
}

var taskStatus = map[string]string{
	"NOT_STARTED":      event.TaskNotStarted,
	"IN_PROCESS":       event.TaskRunning,
	"COMPLETED":        event.TaskCompleted,
	"RUNNABLE":         event.TaskScheduling,
	"USER_PAUSE":       event.TaskPausedByUser,
	"SYSTEM_SUSPENDED": event.TaskPausedBySystem,
	"TERMINATE":        event.TaskTerminated,
	"IN_QUEUE":         event.TaskQueued,
}

// intentLabels are the vendor's own names of its intent levels (obtainTask.md).
var intentLabels = map[string]string{
	"A": "A级(较强)",
	"B": "B级(一般)",
	"C": "C级(无法判断)",
	"D": "D级(很少)",
	"E": "E级别(需要再次跟进)",
	"F": "F级别(无需再次跟进)",
}

// ParseWebhook turns one Yiwise callback body, {dataType, data}, into its event.
// Errors wrap platform.ErrUnparseable.
//
// The data object is split once, shallowly, into its members' JSON texts: they give
// the event id (see stablePayload) and each field is read from its member's text,
// leniently, without decoding anything the event does not carry.
func ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	if acct == nil {
		acct = &platform.Account{}
	}
	dataType, ok, data, err := unwrap(body)
	if err != nil {
		return nil, fmt.Errorf("%w: yiwise: body is not a JSON object {dataType, data}: %v", platform.ErrUnparseable, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: yiwise: missing dataType", platform.ErrUnparseable)
	}
	dataType = strings.TrimSpace(dataType)
	if dataType != DataTypeCallRecord && dataType != DataTypeCallJob {
		return nil, fmt.Errorf("%w: yiwise: unknown dataType %q", platform.ErrUnparseable, truncate(dataType, 64))
	}
	raw := bytes.TrimSpace(data)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("%w: yiwise: %s without data", platform.ErrUnparseable, dataType)
	}
	// The body is valid JSON (unwrap checked all of it), so the data object can be
	// split into its members without encoding/json.
	var buf [32]member
	fields, ok := objectMembers(raw, buf[:0])
	if !ok {
		return nil, fmt.Errorf("%w: yiwise: %s data is not a JSON object: it is %s", platform.ErrUnparseable, dataType, kind(raw))
	}
	stable := stablePayload(fields)

	var out event.Out
	if dataType == DataTypeCallRecord {
		out, err = parseCallRecord(acct, fields, raw, stable)
	} else {
		out, err = parseCallJob(acct, fields, raw, stable)
	}
	if err != nil {
		return nil, err
	}
	return []event.Out{out}, nil
}

// unwrap returns the dataType (ok false when absent or null) and data members of a
// callback body, as json.Unmarshal into
//
//	struct {
//		DataType *string         `json:"dataType"`
//		Data     json.RawMessage `json:"data"`
//	}
//
// would, and its error when the body is not such an object. data is part of body.
func unwrap(body []byte) (dataType string, ok bool, data []byte, err error) {
	if json.Valid(body) {
		if dt, d, shaped := unwrapValid(body); shaped {
			if dt == nil {
				return "", false, d, nil
			}
			dataType, _ = jsonString(dt)
			return dataType, true, d, nil
		}
	}
	// Not JSON, or not an object of that shape: let encoding/json say why (or decode
	// what it makes of it, such as null).
	var env struct {
		DataType *string         `json:"dataType"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return "", false, nil, err
	}
	if env.DataType == nil {
		return "", false, env.Data, nil
	}
	return *env.DataType, true, env.Data, nil
}

// unwrapValid is unwrap's fast path for a valid JSON body: the JSON texts of its
// dataType (nil when absent or null) and data members. shaped is false when the body
// is not an object or its dataType is neither a string nor null. Member names match
// case-insensitively, and the last match wins, as in json.Unmarshal.
func unwrapValid(body []byte) (dataType, data []byte, shaped bool) {
	var buf [8]member
	top, ok := objectMembers(body[skipSpace(body, 0):], buf[:0])
	if !ok {
		return nil, nil, false
	}
	for _, m := range top {
		switch {
		case bytes.EqualFold(m.key, []byte("dataType")):
			switch {
			case isNull(m.val):
				dataType = nil
			case m.val[0] == '"':
				dataType = m.val
			default:
				return nil, nil, false
			}
		case bytes.EqualFold(m.key, []byte("data")):
			data = m.val
		}
	}
	return dataType, data, true
}

func parseCallRecord(acct *platform.Account, d members, raw json.RawMessage, stable []byte) (event.Out, error) {
	callID, ok := rawID(d.get("callRecordId"))
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_RECORD without callRecordId", platform.ErrUnparseable)
	}
	taskID, _ := rawID(d.get("robotCallJobId"))
	companyID, _ := rawID(d.get("tenantId"))
	phone, _ := rawScalar(d.get("calledPhoneNumber"))
	vendorStatus, _ := rawScalar(d.get("resultStatus"))
	vendorStatus = strings.TrimSpace(vendorStatus)
	status, ok := callStatus[vendorStatus]
	if !ok {
		status = event.StatusUnknown
	}

	var level, label *string
	if lv, _ := rawScalar(d.get("intentLevel")); lv != "" {
		lv = strings.ToUpper(strings.TrimSpace(lv))
		if l, ok := intentLabels[lv]; ok {
			level, label = event.Str(lv), event.Str(l)
		}
	}

	loc := acct.Loc()
	started, _ := localTime(d.get("startTime"), loc)
	ended, endOK := localTime(d.get("endTime"), loc)

	details, ok := d.lookup("robotCallDetailList")
	if !ok || isNull(details) {
		// The query APIs name the same list callDetailList.
		details = d.get("callDetailList")
	}

	data := &event.CallFinished{
		Vendor:               Name,
		Account:              acct.Name,
		Direction:            "outbound",
		CallID:               callID,
		TaskID:               event.Str(taskID),
		CompanyID:            event.Str(companyID),
		Customer:             event.Customer{Phone: event.Str(phone)},
		Status:               status,
		VendorStatus:         vendorStatus,
		Answered:             status == event.StatusAnswered,
		IntentLevel:          level,
		IntentLabel:          label,
		Tags:                 stringList(d.get("attributes")),
		Concerns:             stringList(d.get("customerConcern")),
		DurationSeconds:      rawInt(d.get("chatDuration")),
		ChatRounds:           rawInt(d.get("chatRound")),
		StartedAt:            formatTime(started),
		EndedAt:              formatTime(ended),
		RecordingURL:         event.Str(rawStr(d.get("fullAudioUrl"))),
		CustomerRecordingURL: event.Str(rawStr(d.get("customerAudioUrl"))),
		Transcript:           transcript(details),
		Attempt:              1,
		Raw:                  raw,
	}

	at := ended
	switch {
	case endOK:
	case !started.IsZero():
		at = started.Add(time.Duration(data.DurationSeconds) * time.Second)
	default:
		at = time.Now()
	}
	key := taskID
	if key == "" {
		key = callID
	}
	return event.Out{
		Topic:   event.TopicCallFinished,
		Type:    event.TypeCallFinished,
		ID:      event.ID(Name, acct.Name, event.TopicCallFinished, []string{callID}, stable),
		Subject: "call/" + callID,
		Time:    at,
		Key:     key,
		Data:    data,
		Phones:  func() []string { return phonesIn(raw, phone) },
	}, nil
}

func parseCallJob(acct *platform.Account, d members, raw json.RawMessage, stable []byte) (event.Out, error) {
	taskID, ok := rawID(d.get("robotCallJobId"))
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_JOB without robotCallJobId", platform.ErrUnparseable)
	}
	companyID, _ := rawID(d.get("tenantId"))
	vendorStatus := strings.TrimSpace(rawStr(d.get("status")))
	status, ok := taskStatus[vendorStatus]
	if !ok {
		status = event.TaskUnknown
	}
	data := &event.TaskStatus{
		Vendor:       Name,
		Account:      acct.Name,
		TaskID:       taskID,
		CompanyID:    event.Str(companyID),
		Status:       status,
		VendorStatus: vendorStatus,
		Finished:     status == event.TaskCompleted || status == event.TaskTerminated,
		Raw:          raw,
	}
	return event.Out{
		Topic: event.TopicTaskStatus,
		Type:  event.TypeTaskStatus,
		// The status is part of the record ids: a later status of the same task is a
		// new event, while a retry of the same status is not.
		ID:      event.ID(Name, acct.Name, event.TopicTaskStatus, []string{taskID, vendorStatus}, stable),
		Subject: "task/" + taskID,
		// The callback carries no time of its own.
		Time:   time.Now(),
		Key:    taskID,
		Data:   data,
		Phones: func() []string { return phonesIn(raw, "") },
	}, nil
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null")
	}
	return m, nil
}

// rawID reads a vendor id written as a JSON number or string; null and "" are absent.
func rawID(v []byte) (string, bool) {
	if isNumber(v) {
		return string(v), true
	}
	if x, ok := jsonString(v); ok {
		s := strings.TrimSpace(x)
		return s, s != ""
	}
	return "", false
}

// rawScalar renders a JSON string, number or bool as text.
func rawScalar(v []byte) (string, bool) {
	switch {
	case len(v) == 0:
		return "", false
	case v[0] == '"':
		return jsonString(v)
	case isNumber(v):
		return string(v), true
	case v[0] == 't':
		return "true", true
	case v[0] == 'f':
		return "false", true
	}
	return "", false
}

func rawStr(v []byte) string {
	s, _ := rawScalar(v)
	return s
}

// rawInt reads a count written as a JSON number or numeric string; anything else is 0.
func rawInt(v []byte) int64 {
	var s string
	if isNumber(v) {
		s = string(v)
	} else if x, ok := jsonString(v); ok {
		s = strings.TrimSpace(x)
	} else {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -9e18 && f < 9e18 {
		return int64(f)
	}
	return 0
}

// stringList reads a list of strings; the documents type some lists as String, so a
// lone string is a one-element list. Never nil.
func stringList(v []byte) []string {
	out := []string{}
	var buf [16][]byte
	if list, ok := arrayElements(v, buf[:0]); ok {
		for _, e := range list {
			if s, ok := rawScalar(e); ok && strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := rawScalar(v); ok && strings.TrimSpace(s) != "" {
		out = append(out, s)
	}
	return out
}

// transcript reads robotCallDetailList; turns by an unknown speaker are left out
// (they stay in raw). Never nil.
func transcript(v []byte) []event.Utterance {
	out := []event.Utterance{}
	var buf [64][]byte
	list, _ := arrayElements(v, buf[:0])
	for _, e := range list {
		var mbuf [8]member
		m, ok := objectMembers(e, mbuf[:0])
		if !ok {
			continue
		}
		speaker := speakerOf(m.get("type"))
		if speaker == "" {
			continue
		}
		out = append(out, event.Utterance{Speaker: speaker, Text: rawStr(m.get("text"))})
	}
	return out
}

// speakerOf maps the type of a transcript turn to its speaker, "" for an unknown one.
func speakerOf(v []byte) string {
	if b, ok := plainString(v); ok && isASCII(b) {
		// The common case, without decoding: for ASCII text the comparison below is
		// the same as the general one.
		b = bytes.TrimSpace(b)
		switch {
		case bytes.EqualFold(b, []byte("ROBOT")):
			return "robot"
		case bytes.EqualFold(b, []byte("PERSON")):
			return "customer"
		}
		return ""
	}
	switch strings.ToUpper(strings.TrimSpace(rawStr(v))) {
	case "ROBOT":
		return "robot"
	case "PERSON":
		return "customer"
	}
	return ""
}

// localTime reads a vendor time: "yyyy-MM-dd HH:mm:ss" in loc as documented, also the
// ISO form phoneLogInfo uses, RFC 3339, and epoch milliseconds.
func localTime(v []byte, loc *time.Location) (time.Time, bool) {
	if isNumber(v) {
		if ms, err := strconv.ParseInt(string(v), 10, 64); err == nil && ms > 0 && ms < 1e15 {
			return time.UnixMilli(ms).In(loc), true
		}
		return time.Time{}, false
	}
	x, ok := jsonString(v)
	if !ok {
		return time.Time{}, false
	}
	s := strings.TrimSpace(x)
	for _, layout := range []string{localLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), true
	}
	return time.Time{}, false
}

// kind names the type of the valid JSON value v.
func kind(v []byte) string {
	switch {
	case len(v) == 0:
		return "empty"
	case v[0] == '{':
		return "an object"
	case v[0] == '[':
		return "an array"
	case v[0] == '"':
		return "a string"
	case v[0] == 't' || v[0] == 'f':
		return "a boolean"
	case v[0] == 'n':
		return "null"
	}
	return "a number"
}

func formatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return event.Str(t.Format(time.RFC3339))
}

// phonesIn decodes the data object raw (only when the publisher asks) and lists its
// phone numbers, first first.
func phonesIn(raw json.RawMessage, first string) []string {
	d, err := decodeObject(raw)
	if err != nil {
		if first == "" {
			return nil
		}
		return []string{first}
	}
	return phones(d, first)
}

// phones lists every phone number in d: the called number first, then any other
// phone-like string under a key naming a phone (sorted, so equal inputs give equal
// events), so the publisher can protect them wherever they appear in raw.
func phones(d map[string]any, first string) []string {
	seen := map[string]bool{first: true}
	var rest []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 64 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				k = strings.ToLower(k)
				if s, ok := e.(string); ok && strings.Contains(k, "phone") && !strings.HasSuffix(k, "id") {
					if s != "" && !seen[s] && phoneLike(s) {
						seen[s] = true
						rest = append(rest, s)
					}
					continue
				}
				walk(e, depth+1)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		}
	}
	walk(d, 0)
	slices.Sort(rest)
	if first == "" {
		return rest
	}
	return append([]string{first}, rest...)
}

// phoneLike is true for text made of digits and phone punctuation with enough digits
// to be a number (not "MOBILE", not an id of two digits).
func phoneLike(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == ' ' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 5
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// The readers below take a value decoded into any (with UseNumber), as the API
// client does.

// idString reads a vendor id written as a JSON number or string; null and "" are absent.
func idString(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case string:
		s := strings.TrimSpace(x)
		return s, s != ""
	}
	return "", false
}

// scalarString renders a JSON string, number or bool as text.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func strValue(v any) string {
	s, _ := scalarString(v)
	return s
}

// intValue reads a count written as a JSON number or numeric string; anything else is 0.
func intValue(v any) int64 {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -9e18 && f < 9e18 {
		return int64(f)
	}
	return 0
}
