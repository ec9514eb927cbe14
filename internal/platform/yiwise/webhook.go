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
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
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

// CallFinishedID is the id of the call.finished event of call callID (callRecordId) of
// account: its ROBOT_CALL_RECORD webhook, with robotCallDetailList or callDetailList,
// and the call read back through the query APIs (getCallRecordInfoList, phoneLogInfo)
// give the same id.
func CallFinishedID(account, callID string) string {
	return event.CallFinishedID(Name, account, strings.TrimSpace(callID))
}

// ParseWebhook turns one Yiwise callback body, {dataType, data}, into its event.
// Yiwise callbacks carry no signature, so the bridge's token and allow-list are their
// only authentication. Errors wrap platform.ErrUnparseable.
//
// The body is indexed once (jsondoc) and each field is read from its member, leniently,
// without decoding anything the event does not carry. The event id follows the record's
// identity (see event.ID). The event shares raw with body.
func (Vendor) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	return parseWebhook(acct, body, time.Now())
}

// parseWebhook is ParseWebhook at now, the time of events whose record has none.
func parseWebhook(acct *platform.Account, body []byte, now time.Time) ([]event.Out, error) {
	if acct == nil {
		acct = &platform.Account{}
	}
	out, err := jsondoc.With(body, func(root jsondoc.Value) (event.Out, error) {
		return parseBody(acct, root, now)
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

func parseBody(acct *platform.Account, root jsondoc.Value, now time.Time) (event.Out, error) {
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
	case DataTypeSMS:
		dataType = DataTypeSMS
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
	if dataType == DataTypeSMS {
		return parseSMS(acct, data, data.Raw(), now)
	}
	f := readData(data)
	if dataType == DataTypeCallRecord {
		return parseCallRecord(acct, &f, data.Raw(), now)
	}
	return parseCallJob(acct, &f, data.Raw(), now)
}

// fields are the members of the data object the events read; of repeated names the
// last wins, as in decoding into a map.
type fields struct {
	callRecordID, robotCallJobID, tenantID, calledPhoneNumber, resultStatus, intentLevel,
	startTime, endTime, robotCallDetailList, callDetailList, attributes, customerConcern,
	chatDuration, chatRound, fullAudioURL, customerAudioURL, status jsondoc.Value
}

// readData picks out the fields of the data object, in one pass so that each name is
// decoded once.
func readData(obj jsondoc.Value) fields {
	var f fields
	for n, val := range obj.Fields {
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
	return f
}

func parseCallRecord(acct *platform.Account, f *fields, raw json.RawMessage, now time.Time) (event.Out, error) {
	callID := loose.Of(f.callRecordID).ID()
	if callID == "" {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_RECORD without callRecordId", platform.ErrUnparseable)
	}
	taskID := loose.Of(f.robotCallJobID).ID()
	companyID := loose.Of(f.tenantID).ID()
	phone := loose.Of(f.calledPhoneNumber).String()
	vendorStatus := loose.Of(f.resultStatus).ID()
	status, ok := callStatus[vendorStatus]
	if !ok {
		status = event.StatusUnknown
	}

	var level, label *string
	if lv := loose.Of(f.intentLevel).ID(); lv != "" {
		lv = strings.ToUpper(lv)
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
		DurationSeconds:      count(loose.Of(f.chatDuration)),
		ChatRounds:           count(loose.Of(f.chatRound)),
		StartedAt:            formatTime(started),
		EndedAt:              formatTime(ended),
		RecordingURL:         loose.Of(f.fullAudioURL).Ptr(),
		CustomerRecordingURL: loose.Of(f.customerAudioURL).Ptr(),
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
		at = now
	}
	key := taskID
	if key == "" {
		key = callID
	}
	return event.Out{
		Topic: event.TopicCallFinished,
		Type:  event.TypeCallFinished,
		// The call id alone: robotCallDetailList and callDetailList bodies of one call,
		// and the call read back through the query APIs, share the id.
		ID:      CallFinishedID(acct.Name, callID),
		Subject: "call/" + callID,
		Time:    at,
		Key:     key,
		Data:    data,
		Phones:  func() []string { return phonesIn(raw, phone) },
	}, nil
}

func parseCallJob(acct *platform.Account, f *fields, raw json.RawMessage, now time.Time) (event.Out, error) {
	taskID := loose.Of(f.robotCallJobID).ID()
	if taskID == "" {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_JOB without robotCallJobId", platform.ErrUnparseable)
	}
	companyID := loose.Of(f.tenantID).ID()
	vendorStatus := loose.Of(f.status).ID()
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
		// The callback carries only the status: a later status of the same task is a new
		// event, while a retry of the same status is not.
		ID:      event.TaskStatusID(Name, acct.Name, taskID, vendorStatus, ""),
		Subject: "task/" + taskID,
		// The callback carries no time of its own.
		Time:   now,
		Key:    taskID,
		Data:   data,
		Phones: func() []string { return phonesIn(raw, "") },
	}, nil
}

// count reads a count written as a JSON number or numeric text; a fraction is cut to
// its whole part, anything else is 0.
func count(v loose.Scalar) int64 {
	s := v.ID()
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
			if s := loose.Of(e); s.ID() != "" {
				out = append(out, s.String())
			}
		}
		return out
	}
	if s := loose.Of(v); s.ID() != "" {
		out = append(out, s.String())
	}
	return out
}

// transcript reads robotCallDetailList; turns by an unknown speaker are left out
// (they stay in raw). Never nil.
func transcript(v jsondoc.Value) []event.Utterance {
	out := []event.Utterance{}
	for e := range v.Elems {
		var typ, text jsondoc.Value
		for n, val := range e.Fields {
			switch string(n) {
			case "type":
				typ = val
			case "text":
				text = val
			}
		}
		if speaker := speakerOf(typ); speaker != "" {
			out = append(out, event.Utterance{Speaker: speaker, Text: loose.Of(text).String()})
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

// phonesIn lists the phone numbers of the data object raw (only when the publisher
// asks), first first.
func phonesIn(raw json.RawMessage, first string) []string {
	rest, err := jsondoc.With(raw, func(d jsondoc.Value) ([]string, error) {
		if d.Kind() != jsondoc.Object {
			return nil, errors.New("not an object")
		}
		seen := map[string]bool{first: true}
		var rest []string
		walkPhones(d, seen, &rest)
		return rest, nil
	})
	if err != nil {
		if first == "" {
			return nil
		}
		return []string{first}
	}
	// Sorted, so equal inputs give equal events.
	slices.Sort(rest)
	if first == "" {
		return rest
	}
	return append([]string{first}, rest...)
}

// walkPhones collects every phone-like string under a member whose name names a phone
// (not a phone's id), wherever it stands in v, so the publisher can protect them
// wherever they appear in raw.
func walkPhones(v jsondoc.Value, seen map[string]bool, rest *[]string) {
	switch v.Kind() {
	case jsondoc.Object:
		for name, e := range v.Members {
			k := strings.ToLower(name.Str())
			if e.Kind() == jsondoc.String && strings.Contains(k, "phone") && !strings.HasSuffix(k, "id") {
				if s := e.Str(); s != "" && !seen[s] && phoneLike(s) {
					seen[s] = true
					*rest = append(*rest, s)
				}
				continue
			}
			walkPhones(e, seen, rest)
		}
	case jsondoc.Array:
		for e := range v.Elems {
			walkPhones(e, seen, rest)
		}
	}
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
