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
	p := &parser{acct: acct, raw: raw, rec: rec, now: now}
	p.phones = func() []string { return recordPhones(raw) }
	hasScene, hasResults := !rec.Get("sceneInstance").IsNull(), !rec.Get("taskResult").IsNull()

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
	if dataType = dt.Str(); dataType == "" {
		return "", rec, unparseable("dataType is not a string")
	}
	if rec = data.Get("data"); rec.Kind() != jsondoc.Object {
		return "", rec, unparseable("%s has no data object", dataType)
	}
	return dataType, rec, nil
}

// parser holds what every event of one callback shares.
type parser struct {
	acct *platform.Account
	raw  json.RawMessage
	// rec is the record in the parsed body, valid while the parse lasts.
	rec    jsondoc.Value
	phones func() []string
	now    time.Time
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
	for name, v := range si.Members {
		n, _ := name.Text()
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
			continue
		}
		*f = v
	}
	return s
}

// callResults are the taskResult entries the call event reads, each the first entry
// of its name; Absent when there is none.
type callResults struct {
	intent, tags, concerns jsondoc.Value
}

func readResults(list jsondoc.Value) callResults {
	var r callResults
	for tr := range list.Elems {
		var v *jsondoc.Value
		switch string(bytes.TrimSpace(loose.View(tr.Get("resultName")))) {
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

func (p *parser) call(direction string) ([]event.Out, error) {
	si := readScene(p.rec.Get("sceneInstance"))
	results := readResults(p.rec.Get("taskResult"))
	callID, caller := loose.Of(si.callInstanceID).ID(), si.callerPhone
	if direction == "inbound" {
		callID, caller = loose.Of(si.inboundInstanceID).ID(), si.calleePhone
		if callID == "" {
			callID = loose.Of(si.callInstanceID).ID()
		}
	}
	recording := loose.Of(si.luyinOssURL)
	if recording == "" {
		recording = loose.Of(si.luyunOssURL)
	}
	if callID == "" {
		return nil, unparseable("call record has no call id")
	}
	loc := p.acct.Loc()
	started, startOK := localTimeOf(si.startTime, loc)
	ended, endOK := localTimeOf(si.endTime, loc)
	status, vendorStatus := codeOf(si.finishStatus, callStatuses, event.StatusUnknown)
	level, label := intent(loose.Get(results.intent, "resultValueAlias"), loose.Get(results.intent, "resultValue"), results.intent.Exists())
	ps := new(strs)
	cf := &event.CallFinished{
		Vendor:    Name,
		Account:   p.acct.Name,
		Direction: direction,
		CallID:    callID,
		TaskID:    ps.ptr(loose.Of(si.callJobID).ID()),
		TaskName:  ps.ptr(string(loose.Of(si.jobName))),
		CompanyID: ps.ptr(loose.Of(si.companyID).ID()),
		Customer: event.Customer{
			ID:    ps.ptr(loose.Of(si.customerID).ID()),
			Name:  ps.ptr(string(loose.Of(si.customerName))),
			Phone: ps.ptr(string(loose.Of(si.customerTelephone))),
		},
		CallerNumber:         ps.ptr(string(loose.Of(caller))),
		Status:               status,
		VendorStatus:         vendorStatus,
		Answered:             status == event.StatusAnswered,
		IntentLevel:          level,
		IntentLabel:          label,
		Tags:                 tags(results.tags),
		Concerns:             concerns(results.concerns),
		StartedAt:            ps.ptr(rfc3339(started, startOK)),
		EndedAt:              ps.ptr(rfc3339(ended, endOK)),
		HangupBy:             ps.ptr(hangupBy(si.hangUp)),
		RecordingURL:         ps.ptr(string(recording)),
		CustomerRecordingURL: ps.ptr(string(loose.Of(si.userLuyinOssURL))),
		Transcript:           transcript(p.rec.Path("phoneLog", "phoneLogs")),
		Attempt:              attempt(si.corpName),
		DurationSeconds:      count(si.duration),
		ChatRounds:           count(si.chatRound),
		Raw:                  p.raw,
	}
	key := callID
	if cf.TaskID != nil {
		key = *cf.TaskID
	}
	at := p.now
	if endOK {
		at = ended
	}
	id := CallFinishedID(p.acct.Name, callID)
	if direction == "inbound" {
		// Inbound calls are numbered apart from outbound ones (inboundInstanceId): the
		// direction keeps an inbound call from sharing an outbound call's id.
		id = event.ID(Name, p.acct.Name, event.TopicCallFinished, callID, direction)
	}
	return []event.Out{p.out(event.TopicCallFinished, event.TypeCallFinished, id, "call/"+callID, key, at, cf)}, nil
}

func (p *parser) intentChanged() ([]event.Out, error) {
	var outs []event.Out
	seen := map[string]bool{}
	for tr := range p.rec.Get("taskResult").Elems {
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
	label = value.Ptr()
	if l := strings.ToUpper(alias.ID()); isLevel(l) {
		return &l, label
	}
	v := strings.TrimSpace(string(value))
	if v == "" {
		return nil, label
	}
	first := strings.ToUpper(v[:1])
	// "Bad" must not read as level B: the letter stands alone or before a non-Latin letter.
	if rest := v[1:]; isLevel(first) && (rest == "" || !isASCIILetter(rest[0])) {
		return &first, label
	}
	return nil, label
}

func isLevel(s string) bool { return len(s) == 1 && s[0] >= 'A' && s[0] <= 'F' }

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func tags(tr jsondoc.Value) []string {
	out := []string{}
	for l := range tr.Get("resultLabels").Elems {
		if v := strings.TrimSpace(string(loose.Get(l, "value"))); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func concerns(tr jsondoc.Value) []string {
	out := []string{}
	for _, c := range strings.FieldsFunc(string(loose.Get(tr, "resultValue")), func(r rune) bool {
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

func transcript(logs jsondoc.Value) []event.Utterance {
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
		for name, v := range l.Members {
			switch n, _ := name.Text(); string(n) {
			case "speaker":
				speaker = v
			case "content":
				content = v
			case "startTime":
				start = v
			case "endTime":
				end = v
			}
		}
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
		u.Text = string(loose.Of(content))
		if n, ok := loose.IntOf(start); ok && n >= 0 {
			u.StartMs = at(n)
		}
		if n, ok := loose.IntOf(end); ok && n >= 0 {
			u.EndMs = at(n)
		}
		out = append(out, u)
	}
	return out
}

// speakerOf is strings.ToUpper(loose.Of(v).ID()), without allocating for the
// plain ASCII text a speaker is.
func speakerOf(v jsondoc.Value) string {
	b := bytes.TrimSpace(loose.View(v))
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
	n, _ := jsondoc.With(loose.View(corpName), func(meta jsondoc.Value) (int64, error) {
		n, ok := loose.IntOf(meta.Get("calledTimes"))
		if !ok {
			return 0, nil
		}
		return n, nil
	})
	if n > 0 && n < 1<<31 {
		return int(n)
	}
	return 1
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
	if t, err := time.ParseInLocation(localLayout, s, loc); err == nil {
		return t, true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).In(loc), true
	}
	return time.Time{}, false
}

func rfc3339(t time.Time, ok bool) string {
	if !ok {
		return ""
	}
	return t.Format(time.RFC3339)
}

// strs holds the text of a call event's optional fields: their pointers point into
// it, one allocation for them all rather than one each.
type strs struct {
	a [12]string
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
