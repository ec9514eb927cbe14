package yiwise

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
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
// The body is indexed once (jsondoc); the data object's members give the event id
// (see stablePayload) and each field is read from its member, leniently, without
// decoding anything the event does not carry. The event shares raw with body.
func ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	if acct == nil {
		acct = &platform.Account{}
	}
	out, err := jsondoc.With(body, func(root jsondoc.Value) (event.Out, error) {
		return parseBody(acct, root)
	})
	if err != nil {
		// Checked only on failure: se escapes, and would cost every parse an allocation.
		var se *jsondoc.SyntaxError
		if errors.As(err, &se) {
			return nil, notEnvelope(err.Error())
		}
		return nil, err
	}
	return []event.Out{out}, nil
}

func notEnvelope(why string) error {
	return fmt.Errorf("%w: yiwise: body is not a JSON object {dataType, data}: %s", platform.ErrUnparseable, why)
}

func parseBody(acct *platform.Account, root jsondoc.Value) (event.Out, error) {
	switch root.Kind() {
	case jsondoc.Object:
	case jsondoc.Null:
		// As decoding null into the envelope: nothing, so no dataType.
		return event.Out{}, fmt.Errorf("%w: yiwise: missing dataType", platform.ErrUnparseable)
	default:
		return event.Out{}, notEnvelope("it is " + kind(root))
	}
	dt := root.Get("dataType")
	switch dt.Kind() {
	case jsondoc.String:
	case jsondoc.Absent, jsondoc.Null:
		return event.Out{}, fmt.Errorf("%w: yiwise: missing dataType", platform.ErrUnparseable)
	default:
		return event.Out{}, notEnvelope("dataType is " + kind(dt))
	}
	text, _ := dt.Text()
	text = bytes.TrimSpace(text)
	var dataType string
	switch string(text) {
	case DataTypeCallRecord:
		dataType = DataTypeCallRecord
	case DataTypeCallJob:
		dataType = DataTypeCallJob
	default:
		return event.Out{}, fmt.Errorf("%w: yiwise: unknown dataType %q", platform.ErrUnparseable, truncate(string(text), 64))
	}
	data := root.Get("data")
	if data.IsNull() {
		return event.Out{}, fmt.Errorf("%w: yiwise: %s without data", platform.ErrUnparseable, dataType)
	}
	if data.Kind() != jsondoc.Object {
		return event.Out{}, fmt.Errorf("%w: yiwise: %s data is not a JSON object: it is %s", platform.ErrUnparseable, dataType, kind(data))
	}
	var buf [32]member
	members, f := readData(data, buf[:0])
	stable := stablePayload(members)
	if dataType == DataTypeCallRecord {
		return parseCallRecord(acct, &f, data.Raw(), stable)
	}
	return parseCallJob(acct, &f, data.Raw(), stable)
}

// member is one member of the data object: its name as it decodes, and its value.
type member struct {
	name []byte
	val  jsondoc.Value
}

// fields are the members of the data object the events read; of repeated names the
// last wins, as in decoding into a map.
type fields struct {
	callRecordID, robotCallJobID, tenantID, calledPhoneNumber, resultStatus, intentLevel,
	startTime, endTime, robotCallDetailList, callDetailList, attributes, customerConcern,
	chatDuration, chatRound, fullAudioURL, customerAudioURL, status jsondoc.Value
}

// readData lists the members of the data object (appended to buf) and picks out the
// fields, in one pass so that each name is decoded once.
func readData(obj jsondoc.Value, buf []member) ([]member, fields) {
	var f fields
	for name, val := range obj.Members {
		n, _ := name.Text()
		buf = append(buf, member{n, val})
		var p *jsondoc.Value
		switch string(n) {
		case "callRecordId":
			p = &f.callRecordID
		case "robotCallJobId":
			p = &f.robotCallJobID
		case "tenantId":
			p = &f.tenantID
		case "calledPhoneNumber":
			p = &f.calledPhoneNumber
		case "resultStatus":
			p = &f.resultStatus
		case "intentLevel":
			p = &f.intentLevel
		case "startTime":
			p = &f.startTime
		case "endTime":
			p = &f.endTime
		case "robotCallDetailList":
			p = &f.robotCallDetailList
		case "callDetailList":
			p = &f.callDetailList
		case "attributes":
			p = &f.attributes
		case "customerConcern":
			p = &f.customerConcern
		case "chatDuration":
			p = &f.chatDuration
		case "chatRound":
			p = &f.chatRound
		case "fullAudioUrl":
			p = &f.fullAudioURL
		case "customerAudioUrl":
			p = &f.customerAudioURL
		case "status":
			p = &f.status
		default:
			continue
		}
		*p = val
	}
	return buf, f
}

// stablePayload is the part of the data object the event id is derived from: its
// members sorted by name (the last of repeated names only, as it decodes), each the
// length-prefixed name and the value without insignificant whitespace, ended by a NUL
// (which JSON text never contains). So the id depends neither on the member order
// nor on how the vendor indented the body, while any changed value changes it. The
// format is part of every event id: changing it changes the ids of retried callbacks.
func stablePayload(ms []member) []byte {
	n := 0
	for _, m := range ms {
		n += len(m.name) + len(m.val.Raw()) + binary.MaxVarintLen64 + 1
	}
	// Stable, so that of repeated names the last stays last.
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(a.name, b.name) })
	buf := make([]byte, 0, n)
	for j, m := range ms {
		if j+1 < len(ms) && bytes.Equal(ms[j+1].name, m.name) {
			continue // a later repeat wins
		}
		buf = binary.AppendUvarint(buf, uint64(len(m.name)))
		buf = append(buf, m.name...)
		buf = appendCompact(buf, m.val)
		buf = append(buf, 0)
	}
	return buf
}

// appendCompact appends v's JSON text to dst without the whitespace outside its
// strings, as json.Compact writes it.
func appendCompact(dst []byte, v jsondoc.Value) []byte {
	switch v.Kind() {
	case jsondoc.Object:
		dst = append(dst, '{')
		sep := false
		for name, val := range v.Members {
			if sep {
				dst = append(dst, ',')
			}
			sep = true
			dst = append(dst, name.Raw()...)
			dst = append(dst, ':')
			dst = appendCompact(dst, val)
		}
		return append(dst, '}')
	case jsondoc.Array:
		dst = append(dst, '[')
		sep := false
		for e := range v.Elems {
			if sep {
				dst = append(dst, ',')
			}
			sep = true
			dst = appendCompact(dst, e)
		}
		return append(dst, ']')
	}
	return append(dst, v.Raw()...)
}

func parseCallRecord(acct *platform.Account, f *fields, raw json.RawMessage, stable []byte) (event.Out, error) {
	callID, ok := idOf(f.callRecordID)
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_RECORD without callRecordId", platform.ErrUnparseable)
	}
	taskID, _ := idOf(f.robotCallJobID)
	companyID, _ := idOf(f.tenantID)
	phone, _ := scalar(f.calledPhoneNumber)
	vendorStatus, _ := scalar(f.resultStatus)
	vendorStatus = strings.TrimSpace(vendorStatus)
	status, ok := callStatus[vendorStatus]
	if !ok {
		status = event.StatusUnknown
	}

	var level, label *string
	if lv, _ := scalar(f.intentLevel); lv != "" {
		lv = strings.ToUpper(strings.TrimSpace(lv))
		if l, ok := intentLabels[lv]; ok {
			level, label = event.Str(lv), event.Str(l)
		}
	}

	loc := acct.Loc()
	started, _ := localTime(f.startTime, loc)
	ended, endOK := localTime(f.endTime, loc)

	details := f.robotCallDetailList
	if details.IsNull() {
		// The query APIs name the same list callDetailList.
		details = f.callDetailList
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
		Tags:                 stringList(f.attributes),
		Concerns:             stringList(f.customerConcern),
		DurationSeconds:      count(f.chatDuration),
		ChatRounds:           count(f.chatRound),
		StartedAt:            formatTime(started),
		EndedAt:              formatTime(ended),
		RecordingURL:         event.Str(str(f.fullAudioURL)),
		CustomerRecordingURL: event.Str(str(f.customerAudioURL)),
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

func parseCallJob(acct *platform.Account, f *fields, raw json.RawMessage, stable []byte) (event.Out, error) {
	taskID, ok := idOf(f.robotCallJobID)
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_JOB without robotCallJobId", platform.ErrUnparseable)
	}
	companyID, _ := idOf(f.tenantID)
	vendorStatus := strings.TrimSpace(str(f.status))
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

// The readers below take one value of the body (Absent for a missing member) and copy
// what they return out of it: the index goes back to its pool after the parse.

// idOf reads a vendor id written as a JSON number or string; null and "" are absent.
func idOf(v jsondoc.Value) (string, bool) {
	switch v.Kind() {
	case jsondoc.Number:
		return string(v.Raw()), true
	case jsondoc.String:
		t, _ := v.Text()
		s := string(bytes.TrimSpace(t))
		return s, s != ""
	}
	return "", false
}

// scalar renders a JSON string, number or bool as text.
func scalar(v jsondoc.Value) (string, bool) {
	switch v.Kind() {
	case jsondoc.String:
		return v.Str(), true
	case jsondoc.Number:
		return string(v.Raw()), true
	case jsondoc.True:
		return "true", true
	case jsondoc.False:
		return "false", true
	}
	return "", false
}

func str(v jsondoc.Value) string {
	s, _ := scalar(v)
	return s
}

// count reads a count written as a JSON number or numeric string; anything else is 0.
func count(v jsondoc.Value) int64 {
	// Read as ids are: a number's text, or a string's trimmed.
	s, ok := idOf(v)
	if !ok {
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
func stringList(v jsondoc.Value) []string {
	out := []string{}
	if v.Kind() == jsondoc.Array {
		for e := range v.Elems {
			if s, ok := scalar(e); ok && strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalar(v); ok && strings.TrimSpace(s) != "" {
		out = append(out, s)
	}
	return out
}

// transcript reads robotCallDetailList; turns by an unknown speaker are left out
// (they stay in raw). Never nil.
func transcript(v jsondoc.Value) []event.Utterance {
	out := []event.Utterance{}
	for e := range v.Elems {
		var typ, text jsondoc.Value
		for name, val := range e.Members {
			switch n, _ := name.Text(); string(n) {
			case "type":
				typ = val
			case "text":
				text = val
			}
		}
		if speaker := speakerOf(typ); speaker != "" {
			out = append(out, event.Utterance{Speaker: speaker, Text: str(text)})
		}
	}
	return out
}

// speakerOf maps the type of a transcript turn to its speaker, "" for an unknown one.
func speakerOf(v jsondoc.Value) string {
	t, ok := v.Text()
	if !ok {
		// Numbers and bools never name a speaker.
		return ""
	}
	if isASCII(t) {
		// The common case, without copying: for ASCII text the comparison below is
		// the same as the general one.
		t = bytes.TrimSpace(t)
		switch {
		case bytes.EqualFold(t, []byte("ROBOT")):
			return "robot"
		case bytes.EqualFold(t, []byte("PERSON")):
			return "customer"
		}
		return ""
	}
	// Upper-casing maps some other letters to ASCII (ſ to S).
	switch strings.ToUpper(strings.TrimSpace(string(t))) {
	case "ROBOT":
		return "robot"
	case "PERSON":
		return "customer"
	}
	return ""
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// localTime reads a vendor time: "yyyy-MM-dd HH:mm:ss" in loc as documented, also the
// ISO form phoneLogInfo uses, RFC 3339, and epoch milliseconds.
func localTime(v jsondoc.Value, loc *time.Location) (time.Time, bool) {
	switch v.Kind() {
	case jsondoc.Number:
		if ms, err := strconv.ParseInt(string(v.Raw()), 10, 64); err == nil && ms > 0 && ms < 1e15 {
			return time.UnixMilli(ms).In(loc), true
		}
		return time.Time{}, false
	case jsondoc.String:
	default:
		return time.Time{}, false
	}
	t, _ := v.Text()
	s := string(bytes.TrimSpace(t))
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

// kind names the type of v.
func kind(v jsondoc.Value) string {
	switch v.Kind() {
	case jsondoc.Object:
		return "an object"
	case jsondoc.Array:
		return "an array"
	case jsondoc.String:
		return "a string"
	case jsondoc.True, jsondoc.False:
		return "a boolean"
	case jsondoc.Number:
		return "a number"
	}
	return v.Kind().String()
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
