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
func ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	if acct == nil {
		acct = &platform.Account{}
	}
	var env struct {
		DataType *string         `json:"dataType"`
		Data     json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: yiwise: body is not a JSON object {dataType, data}: %v", platform.ErrUnparseable, err)
	}
	if env.DataType == nil {
		return nil, fmt.Errorf("%w: yiwise: missing dataType", platform.ErrUnparseable)
	}
	dataType := strings.TrimSpace(*env.DataType)
	if dataType != DataTypeCallRecord && dataType != DataTypeCallJob {
		return nil, fmt.Errorf("%w: yiwise: unknown dataType %q", platform.ErrUnparseable, truncate(dataType, 64))
	}
	raw := bytes.TrimSpace(env.Data)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, fmt.Errorf("%w: yiwise: %s without data", platform.ErrUnparseable, dataType)
	}
	data, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: yiwise: %s data is not a JSON object: %v", platform.ErrUnparseable, dataType, err)
	}
	// Re-marshalling the decoded map sorts keys and drops insignificant whitespace,
	// so the id does not depend on how the vendor formatted the same payload.
	stable, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: yiwise: %s data: %v", platform.ErrUnparseable, dataType, err)
	}
	rawCopy := json.RawMessage(bytes.Clone(raw))

	var out event.Out
	if dataType == DataTypeCallRecord {
		out, err = parseCallRecord(acct, data, rawCopy, stable)
	} else {
		out, err = parseCallJob(acct, data, rawCopy, stable)
	}
	if err != nil {
		return nil, err
	}
	return []event.Out{out}, nil
}

func parseCallRecord(acct *platform.Account, d map[string]any, raw json.RawMessage, stable []byte) (event.Out, error) {
	callID, ok := idString(d["callRecordId"])
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_RECORD without callRecordId", platform.ErrUnparseable)
	}
	taskID, _ := idString(d["robotCallJobId"])
	companyID, _ := idString(d["tenantId"])
	phone, _ := scalarString(d["calledPhoneNumber"])
	vendorStatus, _ := scalarString(d["resultStatus"])
	vendorStatus = strings.TrimSpace(vendorStatus)
	status, ok := callStatus[vendorStatus]
	if !ok {
		status = event.StatusUnknown
	}

	var level, label *string
	if lv, _ := scalarString(d["intentLevel"]); lv != "" {
		lv = strings.ToUpper(strings.TrimSpace(lv))
		if l, ok := intentLabels[lv]; ok {
			level, label = event.Str(lv), event.Str(l)
		}
	}

	loc := acct.Loc()
	started, _ := localTime(d["startTime"], loc)
	ended, endOK := localTime(d["endTime"], loc)

	details, ok := d["robotCallDetailList"]
	if !ok || details == nil {
		// The query APIs name the same list callDetailList.
		details = d["callDetailList"]
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
		Tags:                 stringList(d["attributes"]),
		Concerns:             stringList(d["customerConcern"]),
		DurationSeconds:      intValue(d["chatDuration"]),
		ChatRounds:           intValue(d["chatRound"]),
		StartedAt:            formatTime(started),
		EndedAt:              formatTime(ended),
		RecordingURL:         event.Str(strValue(d["fullAudioUrl"])),
		CustomerRecordingURL: event.Str(strValue(d["customerAudioUrl"])),
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
		Phones:  func() []string { return phones(d, phone) },
	}, nil
}

func parseCallJob(acct *platform.Account, d map[string]any, raw json.RawMessage, stable []byte) (event.Out, error) {
	taskID, ok := idString(d["robotCallJobId"])
	if !ok {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_JOB without robotCallJobId", platform.ErrUnparseable)
	}
	companyID, _ := idString(d["tenantId"])
	vendorStatus := strings.TrimSpace(strValue(d["status"]))
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
		Phones: func() []string { return phones(d, "") },
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

// stringList reads a list of strings; the documents type some lists as String, so a
// lone string is a one-element list. Never nil.
func stringList(v any) []string {
	out := []string{}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s, ok := scalarString(e); ok && strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
	default:
		if s, ok := scalarString(x); ok && strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// transcript reads robotCallDetailList; turns by an unknown speaker are left out
// (they stay in raw). Never nil.
func transcript(v any) []event.Utterance {
	out := []event.Utterance{}
	list, _ := v.([]any)
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		var speaker string
		switch strings.ToUpper(strings.TrimSpace(strValue(m["type"]))) {
		case "ROBOT":
			speaker = "robot"
		case "PERSON":
			speaker = "customer"
		default:
			continue
		}
		out = append(out, event.Utterance{Speaker: speaker, Text: strValue(m["text"])})
	}
	return out
}

// localTime reads a vendor time: "yyyy-MM-dd HH:mm:ss" in loc as documented, also the
// ISO form phoneLogInfo uses, RFC 3339, and epoch milliseconds.
func localTime(v any, loc *time.Location) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		for _, layout := range []string{localLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, true
			}
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.In(loc), true
		}
	case json.Number:
		if ms, err := x.Int64(); err == nil && ms > 0 && ms < 1e15 {
			return time.UnixMilli(ms).In(loc), true
		}
	}
	return time.Time{}, false
}

func formatTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return event.Str(t.Format(time.RFC3339))
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
