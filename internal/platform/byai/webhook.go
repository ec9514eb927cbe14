package byai

import (
	"bytes"
	"crypto/subtle"
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

// Webhook dataType values.
const (
	DataTypeCall        = "CALL_INSTANCE_RESULT"
	DataTypeInboundCall = "INBOUND_CALL_INSTANCE_RESULT"
	DataTypeJob         = "JOB_INFO_RESULT"
)

// Names of the taskResult entries the normalized call carries.
const (
	resultIntent   = "客户意向等级"
	resultTags     = "客户标签"
	resultConcerns = "客户关注点"
)

// localLayout is how the vendor writes its local times.
const localLayout = "2006-01-02 15:04:05"

// MaxCallbackSkew is how far a callback's dateTime may be from now, either way.
const MaxCallbackSkew = 15 * time.Minute

// callStatuses is indexed by finishStatus.
var callStatuses = []string{
	event.StatusAnswered, event.StatusRefused, event.StatusUnreachable, event.StatusCallerUnavailable,
	event.StatusVacantNumber, event.StatusPowerOff, event.StatusBusy, event.StatusOutOfService,
	event.StatusNoAnswer, event.StatusCallerArrears, event.StatusCallLoss, event.StatusBlacklisted,
}

// taskStatuses is indexed by the job status.
var taskStatuses = []string{
	event.TaskNotStarted, event.TaskRunning, event.TaskCompleted, event.TaskScheduling,
	event.TaskPausedByUser, event.TaskPausedBySystem, event.TaskTerminated, event.TaskQueued,
	event.TaskAIExpired, event.TaskLineArrears, event.TaskSMSArrears,
}

// CallFinishedID is the id of the call.finished event of the outbound call callID
// (callInstanceId) of account: its webhook, with or without dataType, and the call read
// back through the query APIs (queryDoneTaskPhones, phoneLogInfo) give the same id.
func CallFinishedID(account, callID string) string {
	return event.CallFinishedID(Name, account, strings.TrimSpace(callID))
}

// ParseWebhook turns one BYAI callback body into its events.
func (Vendor) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	return parseWebhook(acct, body, time.Now())
}

func parseWebhook(acct *platform.Account, body []byte, now time.Time) ([]event.Out, error) {
	outs, err := jsondoc.With(body, func(root jsondoc.Value) ([]event.Out, error) {
		dataType, rec, err := locate(root)
		if err != nil {
			return nil, err
		}
		return parseRecord(acct, dataType, rec, now)
	})
	if err != nil {
		// Declared here, not above: the pointer escapes, and would cost every parse
		// an allocation.
		var se *jsondoc.SyntaxError
		if errors.As(err, &se) {
			return nil, unparseable("body is not a JSON object: %v", err)
		}
	}
	return outs, err
}

func parseRecord(acct *platform.Account, dataType string, rec jsondoc.Value, now time.Time) ([]event.Out, error) {
	// The events share the record with the body, as ParseWebhook's contract allows.
	raw := json.RawMessage(rec.Raw())
	p := &parser{acct: acct, raw: raw, rec: rec, now: now, scene: rec.Get("sceneInstance"), results: rec.Get("taskResult")}
	p.phones = func() []string { return recordPhones(raw) }
	hasScene, hasResults := !p.scene.IsNull(), !p.results.IsNull()

	switch dataType {
	case DataTypeCall, "":
		switch {
		case hasScene:
			return p.call("outbound")
		case hasResults:
			// The intent-change callback reuses CALL_INSTANCE_RESULT with only taskResult.
			return p.intentChanged()
		}
		if dataType == "" {
			return nil, unparseable("data has no dataType and no sceneInstance or taskResult")
		}
		return nil, unparseable("%s without sceneInstance or taskResult", dataType)
	case DataTypeInboundCall:
		if !hasScene {
			return nil, unparseable("%s without sceneInstance", dataType)
		}
		return p.call("inbound")
	case DataTypeJob:
		return p.taskStatus()
	}
	return nil, unparseable("unknown dataType %q", dataType)
}

func unparseable(format string, args ...any) error {
	return fmt.Errorf("byai: %w: %s", platform.ErrUnparseable, fmt.Sprintf(format, args...))
}

// locate returns the dataType and the vendor record of a callback: data.data for the
// wrapped shape, data itself for the legacy shape without dataType.
func locate(root jsondoc.Value) (dataType string, rec jsondoc.Value, err error) {
	if root.Kind() != jsondoc.Object {
		return "", rec, unparseable("body is not a JSON object")
	}
	data := root.Get("data")
	if data.Kind() != jsondoc.Object {
		return "", rec, unparseable("body has no data object")
	}
	dt := data.Get("dataType")
	if dt.IsNull() {
		return "", data, nil
	}
	if dataType = dataTypeOf(dt); dataType == "" {
		return "", rec, unparseable("dataType is not a string")
	}
	if rec = data.Get("data"); rec.Kind() != jsondoc.Object {
		return "", rec, unparseable("%s has no data object", dataType)
	}
	return dataType, rec, nil
}

// dataTypeOf is dt.Str(), without allocating for the dataTypes parseRecord knows.
func dataTypeOf(dt jsondoc.Value) string {
	if t, ok := dt.Text(); ok {
		switch string(t) {
		case DataTypeCall:
			return DataTypeCall
		case DataTypeInboundCall:
			return DataTypeInboundCall
		case DataTypeJob:
			return DataTypeJob
		}
	}
	return dt.Str()
}

// parser holds what every event of one callback shares.
type parser struct {
	acct *platform.Account
	raw  json.RawMessage
	// rec is the record in the parsed body, valid while the parse lasts.
	rec jsondoc.Value
	// scene and results are rec's sceneInstance and taskResult.
	scene, results jsondoc.Value
	phones         func() []string
	now            time.Time
}

// out is an event of the callback; id is its event id, derived from the record's
// identity (see event.ID).
func (p *parser) out(kind, typ, id, subject, key string, at time.Time, data any) event.Out {
	return event.Out{
		Topic:   kind,
		Type:    typ,
		ID:      id,
		Subject: subject,
		Time:    at,
		Key:     key,
		Data:    data,
		Phones:  p.phones,
		// Data's raw is p.raw, part of a body jsondoc parsed: valid UTF-8, or the
		// parse would have failed.
		RawUTF8: true,
	}
}

// scene is what the call event reads of sceneInstance: the values, read as text
// only where the event needs text (which allocates), not where it needs a number.
type scene struct {
	callInstanceID, inboundInstanceID, companyID, callJobID, jobName, customerID,
	customerName, customerTelephone, finishStatus, duration, chatRound, startTime,
	endTime, callerPhone, calleePhone, luyinOssURL, userLuyinOssURL, hangUp, corpName jsondoc.Value
	// luyunOssURL is the recording as the callback document's table spells it
	// (luyunOssUrl); its example, and the vendor, write luyinOssUrl, which wins.
	luyunOssURL jsondoc.Value
}

// readScene reads sceneInstance in one pass; of repeated names the last wins.
func readScene(si jsondoc.Value) scene {
	var s scene
	// Called as a function, not ranged over: a little cheaper per member.
	si.Fields(func(n []byte, v jsondoc.Value) bool {
		var f *jsondoc.Value
		switch string(n) {
		case "callInstanceId":
			f = &s.callInstanceID
		case "inboundInstanceId":
			f = &s.inboundInstanceID
		case "companyId":
			f = &s.companyID
		case "callJobId":
			f = &s.callJobID
		case "jobName":
			f = &s.jobName
		case "customerId":
			f = &s.customerID
		case "customerName":
			f = &s.customerName
		case "customerTelephone":
			f = &s.customerTelephone
		case "finishStatus":
			f = &s.finishStatus
		case "duration":
			f = &s.duration
		case "chatRound":
			f = &s.chatRound
		case "startTime":
			f = &s.startTime
		case "endTime":
			f = &s.endTime
		case "callerPhone":
			f = &s.callerPhone
		case "calleePhone":
			f = &s.calleePhone
		case "luyinOssUrl":
			f = &s.luyinOssURL
		case "luyunOssUrl":
			f = &s.luyunOssURL
		case "userLuyinOssUrl":
			f = &s.userLuyinOssURL
		case "hangUp":
			f = &s.hangUp
		case "corpName":
			f = &s.corpName
		default:
			return true
		}
		*f = v
		return true
	})
	return s
}

// trimSpace is bytes.TrimSpace, without decoding the first and last runes of text
// that neither begins nor ends with a byte a space can begin or end with.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && !spaceStart[b[0]] && !spaceEnd[b[len(b)-1]] {
		return b
	}
	return bytes.TrimSpace(b)
}

// spaceStart and spaceEnd mark the bytes the UTF-8 of a space can begin and end with.
var spaceStart, spaceEnd = func() (start, end [256]bool) {
	for _, r := range spaces {
		b := utf8.AppendRune(nil, r)
		start[b[0]], end[b[len(b)-1]] = true, true
	}
	return start, end
}()

// spaces are the characters unicode.IsSpace reports.
const spaces = "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

// callResults are the taskResult entries the call event reads, each the first entry
// of its name; Absent when there is none.
type callResults struct {
	intent, tags, concerns jsondoc.Value
}

func readResults(list jsondoc.Value) callResults {
	var r callResults
	for tr := range list.Elems {
		var v *jsondoc.Value
		switch string(trimSpace(loose.View(tr.Get("resultName")))) {
		case resultIntent:
			v = &r.intent
		case resultTags:
			v = &r.tags
		case resultConcerns:
			v = &r.concerns
		default:
			continue
		}
		if !v.Exists() {
			*v = tr
		}
	}
	return r
}

// span is where a text lies in the buffer a call event's texts are gathered in.
type span struct{ from, to int }

// appendText appends loose.Of(v) to buf.
func appendText(buf []byte, v jsondoc.Value) ([]byte, span) {
	from := len(buf)
	buf = loose.Append(buf, v)
	return buf, span{from, len(buf)}
}

// appendID appends loose.Of(v).ID() to buf: the text, trimmed in place.
func appendID(buf []byte, v jsondoc.Value) ([]byte, span) {
	buf, sp := appendText(buf, v)
	id := trimSpace(buf[sp.from:])
	n := copy(buf[sp.from:], id)
	return buf[:sp.from+n], span{sp.from, sp.from + n}
}

// callOut is what a call event allocates at once: the returned slice, the event and
// the text of its optional fields.
type callOut struct {
	out  [1]event.Out
	cf   event.CallFinished
	strs strs
}

func (p *parser) call(direction string) ([]event.Out, error) {
	si := readScene(p.scene)
	results := readResults(p.results)
	// The event's texts are gathered in one buffer made a string once, each field a
	// substring of it: one allocation rather than one a field.
	buf := make([]byte, 0, 1024)
	// The subject, "call/" and the id, is a substring too.
	buf = append(buf, "call/"...)
	first, caller := si.callInstanceID, si.callerPhone
	if direction == "inbound" {
		first, caller = si.inboundInstanceID, si.calleePhone
	}
	buf, callID := appendID(buf, first)
	if callID.from == callID.to && direction == "inbound" {
		buf, callID = appendID(buf, si.callInstanceID)
	}
	if callID.from == callID.to {
		return nil, unparseable("call record has no call id")
	}
	var taskID, taskName, companyID, customerID, customerName, customerPhone, callerNumber,
		recording, customerRecording, started, ended, alias, value, concernText span
	buf, taskID = appendID(buf, si.callJobID)
	buf, taskName = appendText(buf, si.jobName)
	buf, companyID = appendID(buf, si.companyID)
	buf, customerID = appendID(buf, si.customerID)
	buf, customerName = appendText(buf, si.customerName)
	buf, customerPhone = appendText(buf, si.customerTelephone)
	buf, callerNumber = appendText(buf, caller)
	if buf, recording = appendText(buf, si.luyinOssURL); recording.from == recording.to {
		buf, recording = appendText(buf, si.luyunOssURL)
	}
	buf, customerRecording = appendText(buf, si.userLuyinOssURL)
	loc := p.acct.Loc()
	startedAt, startOK := localTimeOf(si.startTime, loc)
	endedAt, endOK := localTimeOf(si.endTime, loc)
	if startOK {
		started.from = len(buf)
		buf = startedAt.AppendFormat(buf, time.RFC3339)
		started.to = len(buf)
	}
	if endOK {
		ended.from = len(buf)
		buf = endedAt.AppendFormat(buf, time.RFC3339)
		ended.to = len(buf)
	}
	buf, alias = appendText(buf, results.intent.Get("resultValueAlias"))
	buf, value = appendText(buf, results.intent.Get("resultValue"))
	buf, concernText = appendText(buf, results.concerns.Get("resultValue"))
	// The spans of the tags, then of the utterances' texts.
	spans := make([]span, 0, 32)
	for l := range results.tags.Get("resultLabels").Elems {
		var tag span
		if buf, tag = appendID(buf, l.Get("value")); tag.from != tag.to {
			spans = append(spans, tag)
		}
	}
	nTags := len(spans)
	utterances, buf, spans := transcript(p.rec.Path("phoneLog", "phoneLogs"), buf, spans)

	text := string(buf)
	str := func(s span) string { return text[s.from:s.to] }
	tags := make([]string, nTags)
	for i, s := range spans[:nTags] {
		tags[i] = str(s)
	}
	for i, s := range spans[nTags:] {
		utterances[i].Text = str(s)
	}
	var level, label *string
	co := new(callOut)
	ps := &co.strs
	if results.intent.Exists() {
		level, label = ps.ptr(intentLevel(str(alias), str(value))), ps.ptr(str(value))
	}
	status, vendorStatus := codeOf(si.finishStatus, callStatuses, event.StatusUnknown)
	co.cf = event.CallFinished{
		Vendor:    Name,
		Account:   p.acct.Name,
		Direction: direction,
		CallID:    str(callID),
		TaskID:    ps.ptr(str(taskID)),
		TaskName:  ps.ptr(str(taskName)),
		CompanyID: ps.ptr(str(companyID)),
		Customer: event.Customer{
			ID:    ps.ptr(str(customerID)),
			Name:  ps.ptr(str(customerName)),
			Phone: ps.ptr(str(customerPhone)),
		},
		CallerNumber:         ps.ptr(str(callerNumber)),
		Status:               status,
		VendorStatus:         vendorStatus,
		Answered:             status == event.StatusAnswered,
		IntentLevel:          level,
		IntentLabel:          label,
		Tags:                 tags,
		Concerns:             concerns(str(concernText)),
		StartedAt:            ps.ptr(str(started)),
		EndedAt:              ps.ptr(str(ended)),
		HangupBy:             ps.ptr(hangupBy(si.hangUp)),
		RecordingURL:         ps.ptr(str(recording)),
		CustomerRecordingURL: ps.ptr(str(customerRecording)),
		Transcript:           utterances,
		Attempt:              attempt(si.corpName),
		DurationSeconds:      count(si.duration),
		ChatRounds:           count(si.chatRound),
		Raw:                  p.raw,
	}
	cf := &co.cf
	key := cf.CallID
	if cf.TaskID != nil {
		key = *cf.TaskID
	}
	at := p.now
	if endOK {
		at = endedAt
	}
	id := CallFinishedID(p.acct.Name, cf.CallID)
	if direction == "inbound" {
		// Inbound calls are numbered apart from outbound ones (inboundInstanceId): the
		// direction keeps an inbound call from sharing an outbound call's id.
		id = event.ID(Name, p.acct.Name, event.TopicCallFinished, cf.CallID, direction)
	}
	subject := text[callID.from-len("call/") : callID.to]
	co.out[0] = p.out(event.TopicCallFinished, event.TypeCallFinished, id, subject, key, at, cf)
	return co.out[:], nil
}

func (p *parser) intentChanged() ([]event.Out, error) {
	var outs []event.Out
	seen := map[string]bool{}
	for tr := range p.results.Elems {
		if loose.Get(tr, "resultName").ID() != resultIntent {
			continue
		}
		callID := loose.Get(tr, "sceneInstanceId").ID()
		if callID == "" {
			return nil, unparseable("intent change has no sceneInstanceId")
		}
		if seen[callID] {
			continue
		}
		seen[callID] = true
		level, label := intent(loose.Get(tr, "resultValueAlias"), loose.Get(tr, "resultValue"), true)
		ic := &event.IntentChanged{
			Vendor:      Name,
			Account:     p.acct.Name,
			CallID:      callID,
			CompanyID:   event.Str(loose.Get(tr, "companyId").ID()),
			IntentLevel: level,
			IntentLabel: label,
			ChangedBy:   "manual",
			Raw:         p.raw,
		}
		// The change's identity is the call and its new level: the level read, else the
		// vendor's value when it names none.
		newLevel := string(loose.Get(tr, "resultValue"))
		if level != nil {
			newLevel = *level
		}
		id := event.IntentChangedID(Name, p.acct.Name, callID, newLevel)
		outs = append(outs, p.out(event.TopicIntentChanged, event.TypeIntentChanged, id, "call/"+callID, callID, p.now, ic))
	}
	if len(outs) == 0 {
		return nil, unparseable("taskResult has no %s entry", resultIntent)
	}
	return outs, nil
}

func (p *parser) taskStatus() ([]event.Out, error) {
	job := p.rec
	taskID := loose.Get(job, "callJobId").ID()
	if taskID == "" {
		return nil, unparseable("job info has no callJobId")
	}
	status, vendorStatus := codeOf(job.Get("status"), taskStatuses, event.TaskUnknown)
	ts := &event.TaskStatus{
		Vendor:       Name,
		Account:      p.acct.Name,
		TaskID:       taskID,
		TaskName:     loose.Get(job, "jobName").Ptr(),
		CompanyID:    event.Str(loose.Get(job, "companyId").ID()),
		Status:       status,
		VendorStatus: vendorStatus,
		Finished:     status == event.TaskCompleted || status == event.TaskTerminated,
		Raw:          p.raw,
	}
	modified := loose.Get(job, "gmtModified")
	at := p.now
	if t, ok := localTime(modified, p.acct.Loc()); ok {
		at = t
	}
	// The change is the status and the job's modification time: a task that runs,
	// pauses and runs again makes two "running" changes, told apart by gmtModified.
	id := event.TaskStatusID(Name, p.acct.Name, taskID, vendorStatus, modified.ID())
	return []event.Out{p.out(event.TopicTaskStatus, event.TypeTaskStatus, id, "task/"+taskID, taskID, at, ts)}, nil
}

// code maps an enumerated vendor code to its name; the vendor's value is kept either way.
func code(f loose.Scalar, names []string, unknown string) (name, vendor string) {
	n, ok := f.Int()
	if !ok {
		return unknown, f.ID()
	}
	return codeName(n, names, unknown)
}

// codeOf is code(loose.Of(f), names, unknown), reading a number without allocating.
func codeOf(f jsondoc.Value, names []string, unknown string) (name, vendor string) {
	n, ok := loose.IntOf(f)
	if !ok {
		return unknown, loose.Of(f).ID()
	}
	return codeName(n, names, unknown)
}

func codeName(n int64, names []string, unknown string) (name, vendor string) {
	vendor = strconv.FormatInt(n, 10)
	if n < 0 || n >= int64(len(names)) {
		return unknown, vendor
	}
	return names[n], vendor
}

// intent reads the level from the alias (A-F), else from the label's leading letter
// ("C级(很少)"); both are nil when the callback has no intent entry.
func intent(alias, value loose.Scalar, present bool) (level, label *string) {
	if !present {
		return nil, nil
	}
	return event.Str(intentLevel(string(alias), string(value))), value.Ptr()
}

// levels are the intent levels, A to F.
var levels = [...]string{"A", "B", "C", "D", "E", "F"}

// intentLevel is the level intent reads, "" for none.
func intentLevel(alias, value string) string {
	a := strings.TrimSpace(alias)
	switch {
	case len(a) == 1:
		if c := upper(a[0]); c >= 'A' && c <= 'F' {
			return levels[c-'A']
		}
	case len(a) <= utf8.UTFMax:
		// One rune that upper-cases to a level letter, as strings.ToUpper reads it.
		if l := strings.ToUpper(a); isLevel(l) {
			return levels[l[0]-'A']
		}
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return ""
	}
	// A leading byte beyond ASCII upper-cases to no letter.
	first := upper(v[0])
	// "Bad" must not read as level B: the letter stands alone or before a non-Latin letter.
	if rest := v[1:]; first >= 'A' && first <= 'F' && (rest == "" || !isASCIILetter(rest[0])) {
		return levels[first-'A']
	}
	return ""
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	return c
}

func isLevel(s string) bool { return len(s) == 1 && s[0] >= 'A' && s[0] <= 'F' }

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// concerns splits the concerns entry's value.
func concerns(value string) []string {
	out := []string{}
	for _, c := range strings.FieldsFunc(value, func(r rune) bool {
		return r == ',' || r == '，' || r == '、'
	}) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// count reads a quantity; anything but a natural number reads as 0.
func count(f jsondoc.Value) int64 {
	if n, ok := loose.IntOf(f); ok && n > 0 {
		return n
	}
	return 0
}

// hangupBy is who hung up, "" when the vendor does not say.
func hangupBy(f jsondoc.Value) string {
	switch n, ok := loose.IntOf(f); {
	case ok && n == 0:
		return "robot"
	case ok && n == 1:
		return "customer"
	}
	return ""
}

// transcript reads the utterances, appending their texts to buf and their spans to
// spans, in order, for the caller to set once buf is a string.
func transcript(logs jsondoc.Value, buf []byte, spans []span) ([]event.Utterance, []byte, []span) {
	n := logs.Len()
	out := make([]event.Utterance, 0, n)
	// The utterances' times point into one array rather than one allocation each.
	ms := make([]int64, 0, 2*n)
	at := func(v int64) *int64 {
		ms = append(ms, v)
		return &ms[len(ms)-1]
	}
	for l := range logs.Elems {
		var speaker, content, start, end jsondoc.Value
		// Called as a function, not ranged over: a little cheaper per member.
		l.Fields(func(n []byte, v jsondoc.Value) bool {
			switch string(n) {
			case "speaker":
				speaker = v
			case "content":
				content = v
			case "startTime":
				start = v
			case "endTime":
				end = v
			}
			return true
		})
		var u event.Utterance
		switch speakerOf(speaker) {
		case "AI":
			u.Speaker = "robot"
		case "ME":
			u.Speaker = "customer"
		default:
			// The schema knows only the robot and the customer.
			continue
		}
		var text span
		buf, text = appendText(buf, content)
		spans = append(spans, text)
		if n, ok := loose.IntOf(start); ok && n >= 0 {
			u.StartMs = at(n)
		}
		if n, ok := loose.IntOf(end); ok && n >= 0 {
			u.EndMs = at(n)
		}
		out = append(out, u)
	}
	return out, buf, spans
}

// speakerOf is strings.ToUpper(loose.Of(v).ID()), without allocating for the
// plain ASCII text a speaker is.
func speakerOf(v jsondoc.Value) string {
	b := trimSpace(loose.View(v))
	if len(b) != 2 || b[0] >= utf8.RuneSelf || b[1] >= utf8.RuneSelf {
		return strings.ToUpper(loose.Of(v).ID())
	}
	var up [2]byte
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	switch string(up[:]) {
	case "AI":
		return "AI"
	case "ME":
		return "ME"
	}
	return ""
}

// attempt reads calledTimes from corpName, which the vendor uses to carry a JSON string
// of call metadata.
func attempt(corpName jsondoc.Value) int {
	n, ok := scanCalledTimes(corpName)
	if !ok {
		n, _ = jsondoc.With(loose.View(corpName), func(meta jsondoc.Value) (int64, error) {
			n, ok := loose.IntOf(meta.Get("calledTimes"))
			if !ok {
				return 0, nil
			}
			return n, nil
		})
	}
	if n > 0 && n < 1<<31 {
		return int(n)
	}
	return 1
}

// scanCalledTimes reads calledTimes as attempt's parse does (0 when it has none that
// is an integer), but only from the form the vendor writes: a flat object of distinct
// names, plain strings, integers and literals, without spaces or escapes but the
// quotes'. It reads that from the string's escaped text, neither unquoting nor
// indexing it; ok is false for anything else, which attempt then parses in full.
func scanCalledTimes(corpName jsondoc.Value) (n int64, ok bool) {
	if corpName.Kind() != jsondoc.String {
		return 0, false
	}
	raw := corpName.Raw()
	s := raw[1 : len(raw)-1]
	// quoted reads \"text\" at s[i:]: the text and the index after it.
	quoted := func(i int) ([]byte, int, bool) {
		if i+1 >= len(s) || s[i] != '\\' || s[i+1] != '"' {
			return nil, 0, false
		}
		i += 2
		end := bytes.IndexByte(s[i:], '\\')
		if end < 0 || i+end+1 >= len(s) || s[i+end+1] != '"' {
			return nil, 0, false
		}
		return s[i : i+end], i + end + 2, true
	}
	if len(s) < 2 || s[0] != '{' {
		return 0, false
	}
	if string(s) == "{}" {
		return 0, true
	}
	var names [16][]byte
	for i, k := 1, 0; ; k++ {
		name, j, ok := quoted(i)
		if !ok || k == len(names) || j >= len(s) || s[j] != ':' {
			return 0, false
		}
		// A repeated name makes the document ambiguous, which the parse rejects.
		for _, m := range names[:k] {
			if bytes.Equal(m, name) {
				return 0, false
			}
		}
		names[k] = name
		i = j + 1
		if i >= len(s) {
			return 0, false
		}
		var v int64
		switch c := s[i]; {
		case c == '\\':
			if _, i, ok = quoted(i); !ok || string(name) == "calledTimes" {
				// A number in a string reads loosely: left to the parse.
				return 0, false
			}
		case c == '-' || c >= '0' && c <= '9':
			j := i
			if c == '-' {
				j++
			}
			d := j
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			// An integer as JSON writes one, short enough that its digits are exact.
			if j == d || j-d > 18 || s[d] == '0' && j-d > 1 {
				return 0, false
			}
			if string(name) == "calledTimes" {
				v, _ = strconv.ParseInt(string(s[i:j]), 10, 64)
			}
			i = j
		default:
			lit := 0
			for _, l := range [...]string{"true", "false", "null"} {
				if bytes.HasPrefix(s[i:], []byte(l)) {
					lit = len(l)
				}
			}
			if lit == 0 {
				return 0, false
			}
			i += lit
		}
		if string(name) == "calledTimes" {
			n = v
		}
		switch {
		case i < len(s) && s[i] == ',':
			i++
		case i == len(s)-1 && s[i] == '}':
			return n, true
		default:
			return 0, false
		}
	}
}

// localTimeOf is localTime(loose.Of(f), loc), without allocating for a string
// without escapes.
func localTimeOf(f jsondoc.Value, loc *time.Location) (time.Time, bool) {
	if !f.Plain() {
		return localTime(loose.Of(f), loc)
	}
	t, _ := f.Text()
	return localTimeText(string(bytes.TrimSpace(t)), loc)
}

// localTime reads a vendor local time ("2019-01-12 16:09:32"), or epoch milliseconds.
func localTime(f loose.Scalar, loc *time.Location) (time.Time, bool) {
	return localTimeText(strings.TrimSpace(string(f)), loc)
}

func localTimeText(s string, loc *time.Location) (time.Time, bool) {
	if t, ok := parseLocal(s, loc); ok {
		return t, true
	}
	// The layout begins with a four-digit year and a dash: without that dash
	// ParseInLocation fails, and would allocate its error.
	if len(s) > 4 && s[4] == '-' {
		if t, err := time.ParseInLocation(localLayout, s, loc); err == nil {
			return t, true
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).In(loc), true
	}
	return time.Time{}, false
}

// parseLocal is time.ParseInLocation(localLayout, s, loc) for the form the vendor
// writes, all fields two digits (four the year) and one space; false leaves what else
// ParseInLocation accepts (a one-digit hour, more spaces, fractional seconds) to it.
func parseLocal(s string, loc *time.Location) (time.Time, bool) {
	if len(s) != len(localLayout) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok := true
	num := func(i, j int) int {
		n := 0
		for _, c := range []byte(s[i:j]) {
			if c < '0' || c > '9' {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if !ok || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// strs holds the text of a call event's optional fields: their pointers point into
// it, one allocation for them all rather than one each.
type strs struct {
	a [14]string
	n int
}

// ptr is event.Str(s): nil for "", else a pointer to s.
func (p *strs) ptr(s string) *string {
	if s == "" {
		return nil
	}
	if p.n == len(p.a) {
		return event.Str(s)
	}
	p.a[p.n] = s
	p.n++
	return &p.a[p.n-1]
}

// recordPhones lists the phone numbers in a vendor record, leaving out its volatile
// sign and dateTime, so the publisher can mask them anywhere: every value of a phone
// field (see phoneKey), also inside the JSON strings the vendor nests (properties).
func recordPhones(rec []byte) []string {
	set := map[string]bool{}
	_, _ = jsondoc.With(rec, func(v jsondoc.Value) (struct{}, error) {
		for name, m := range v.Members {
			if n := name.Str(); n != "sign" && n != "dateTime" {
				walkPhones(m, n, 0, set)
			}
		}
		return struct{}{}, nil
	})
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func walkPhones(v jsondoc.Value, key string, nested int, set map[string]bool) {
	switch v.Kind() {
	case jsondoc.Object:
		for name, m := range v.Members {
			walkPhones(m, name.Str(), nested, set)
		}
	case jsondoc.Array:
		for e := range v.Elems {
			walkPhones(e, key, nested, set)
		}
	case jsondoc.Number:
		if phoneKey(key) {
			set[string(v.Raw())] = true
		}
	case jsondoc.String:
		s := strings.TrimSpace(v.Str())
		switch {
		case phoneKey(key) && strings.ContainsAny(s, "0123456789"):
			set[s] = true
		case nested < 2 && s != "" && (s[0] == '{' || s[0] == '['):
			_, _ = jsondoc.With([]byte(s), func(inner jsondoc.Value) (struct{}, error) {
				walkPhones(inner, key, nested+1, set)
				return struct{}{}, nil
			})
		}
	}
}

// phoneKey says whether a field named k holds a phone number (customerTelephone,
// callerPhone, csStaffMobile, 联系方式), not an id or attribute of one (userPhoneId,
// phoneType).
func phoneKey(k string) bool {
	l := strings.ToLower(k)
	for _, s := range []string{"id", "ids", "type", "status", "name", "count", "quota"} {
		if strings.HasSuffix(l, s) {
			return false
		}
	}
	return strings.Contains(l, "phone") || strings.Contains(l, "mobile") || strings.HasSuffix(l, "tel") ||
		strings.Contains(k, "电话") || strings.Contains(k, "手机") || strings.Contains(k, "联系方式")
}

// VerifyWebhook checks the callback's sign and dateTime when the account enables it.
func (Vendor) VerifyWebhook(acct *platform.Account, body []byte, now time.Time) error {
	if !settingsOf(acct).VerifyCallbackSign {
		return nil
	}
	if acct.AppKey == "" || acct.AppSecret == "" {
		return unauthorized("account %s has no app key or secret to check callback signs", acct.Name)
	}
	type signed struct {
		sign, dateTime string
		signedShape    bool
	}
	got, err := jsondoc.With(body, func(root jsondoc.Value) (signed, error) {
		dataType, rec, err := locate(root)
		if err != nil {
			return signed{}, err
		}
		return signed{loose.Get(rec, "sign").ID(), string(loose.Get(rec, "dateTime")), signedShape(dataType, rec.Get("sceneInstance"))}, nil
	})
	if err != nil {
		// Not wrapped with %w: an unsigned body is unauthorized, not unparseable.
		return unauthorized("cannot read sign: %v", err)
	}
	sign, dateTime := got.sign, got.dateTime
	if sign == "" {
		// The vendor documents sign/dateTime on call records only: task status and
		// manual intent callbacks carry none, and rejecting them would make BYAI retry
		// them for a day. They still pass the account's token and allow-list.
		if !got.signedShape {
			return nil
		}
		return unauthorized("callback has no sign")
	}
	if strings.TrimSpace(dateTime) == "" {
		return unauthorized("callback has no dateTime")
	}
	at, err := parseCallbackTime(dateTime)
	if err != nil {
		return unauthorized("dateTime %q: %v", dateTime, err)
	}
	if age := now.Sub(at); age > MaxCallbackSkew {
		return unauthorized("dateTime %q is %s old", dateTime, age.Round(time.Second))
	} else if -age > MaxCallbackSkew {
		return unauthorized("dateTime %q is %s in the future", dateTime, (-age).Round(time.Second))
	}
	want := Sign(acct.AppKey, acct.AppSecret, dateTime)
	if subtle.ConstantTimeCompare([]byte(sign), []byte(want)) != 1 {
		return unauthorized("sign does not match")
	}
	return nil
}

// signedShape reports whether BYAI signs callbacks of this shape: outbound and
// inbound call records (and the legacy record without dataType).
func signedShape(dataType string, sceneInstance jsondoc.Value) bool {
	switch dataType {
	case DataTypeInboundCall:
		return true
	case DataTypeCall, "":
		return !sceneInstance.IsNull()
	}
	return false
}

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("byai: %w: %s", platform.ErrUnauthorized, fmt.Sprintf(format, args...))
}

// callbackLayouts are the dateTime forms the documents show: RFC 1123 and Java's
// Date.toString.
var callbackLayouts = []string{time.RFC1123, time.RFC1123Z, "Mon Jan 02 15:04:05 MST 2006", time.UnixDate}

var chinaStandardTime = time.FixedZone("CST", 8*3600)

func parseCallbackTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return time.Time{}, errors.New("not text")
	}
	for _, layout := range callbackLayouts {
		// Parsing in UTC keeps the machine's own zone out of reading abbreviations.
		t, err := time.ParseInLocation(layout, s, time.UTC)
		if err != nil {
			continue
		}
		if layout == time.RFC1123Z {
			return t, nil
		}
		switch zone, _ := t.Zone(); zone {
		case "GMT", "UTC":
			return t, nil
		case "CST":
			// A Java server in China prints its default zone, China Standard Time.
			y, mo, d := t.Date()
			h, mi, sec := t.Clock()
			return time.Date(y, mo, d, h, mi, sec, 0, chinaStandardTime), nil
		default:
			return time.Time{}, fmt.Errorf("unsupported time zone %q", zone)
		}
	}
	return time.Time{}, errors.New("not RFC 1123 or Java date form")
}
