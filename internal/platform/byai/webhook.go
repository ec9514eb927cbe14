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

// ParseWebhook turns one BYAI callback body into its events.
func (Vendor) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	return parseWebhook(acct, body, time.Now())
}

func parseWebhook(acct *platform.Account, body []byte, now time.Time) ([]event.Out, error) {
	// One decode reads the whole callback into the fields the events use; it also
	// validates the body, which the walks below rely on.
	var cb callback
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return nil, unparseable("body is not a JSON object")
	}
	decoded := true
	if err := json.Unmarshal(body, &cb); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			if !json.Valid(body) {
				return nil, unparseable("body is not a JSON object")
			}
			decoded = false
		}
	}
	loc, err := locate(body[i:])
	if err != nil {
		return nil, err
	}
	dataType := loc.dataType
	// Events keep the record after the body is gone; the body may be reused.
	inner := bytes.Clone(loc.inner)
	// Retries of one callback differ only in sign and dateTime; they must share an id.
	rec := readRecord(inner)
	p := &parser{acct: acct, raw: inner, stable: rec.stable, now: now}
	if decoded && loc.exact {
		if dataType == "" {
			p.fields = &cb.Data.recordFields
		} else {
			p.fields = &cb.Data.Data
		}
	}
	p.phones = func() []string { return recordPhones(inner) }

	switch dataType {
	case DataTypeCall, "":
		switch {
		case rec.hasScene:
			return p.call("outbound")
		case rec.hasResults:
			// The intent-change callback reuses CALL_INSTANCE_RESULT with only taskResult.
			return p.intentChanged()
		}
		if dataType == "" {
			return nil, unparseable("data has no dataType and no sceneInstance or taskResult")
		}
		return nil, unparseable("%s without sceneInstance or taskResult", dataType)
	case DataTypeInboundCall:
		if !rec.hasScene {
			return nil, unparseable("%s without sceneInstance", dataType)
		}
		return p.call("inbound")
	case DataTypeJob:
		return p.taskStatus()
	}
	return nil, unparseable("unknown dataType %q", dataType)
}

// callback is a whole callback body: data.data is the record of the wrapped shape, data
// itself the record of the legacy shape.
type callback struct {
	Data struct {
		Data recordFields `json:"data"`
		recordFields
	} `json:"data"`
}

// recordFields is every field the events read from a vendor record, of any kind.
type recordFields struct {
	callRecord
	jobInfo
}

func unparseable(format string, args ...any) error {
	return fmt.Errorf("byai: %w: %s", platform.ErrUnparseable, fmt.Sprintf(format, args...))
}

// unwrap returns the dataType and the vendor record of a callback: data.data for the
// wrapped shape, data itself for the legacy shape without dataType.
func unwrap(body []byte) (dataType string, inner json.RawMessage, err error) {
	i := skipSpace(body, 0)
	if i == len(body) || body[i] != '{' || !json.Valid(body) {
		return "", nil, unparseable("body is not a JSON object")
	}
	loc, err := locate(body[i:])
	return loc.dataType, loc.inner, err
}

// located is where a callback keeps its record.
type located struct {
	dataType string
	inner    []byte
	// exact says no other member name leads encoding/json, which matches names without
	// regard to case and merges repeated ones, to another record than inner.
	exact bool
}

// locate finds the record of obj, a valid JSON object, as unwrap describes. Members are
// looked up as in a decoded map: by exact name, the last of repeated names winning.
func locate(obj []byte) (located, error) {
	var data []byte
	datas, others := 0, 0
	r := newObjectReader(obj)
	for k, v, ok := r.next(); ok; k, v, ok = r.next() {
		if string(k) == "data" {
			data = v
			datas++
		} else if mayFoldTo(k, "data") {
			others++
		}
	}
	if len(data) == 0 || data[0] != '{' {
		return located{}, unparseable("body has no data object")
	}
	exact := datas == 1 && others == 0
	var dt, rec []byte
	datas, others = 0, 0
	r = newObjectReader(data)
	for k, v, ok := r.next(); ok; k, v, ok = r.next() {
		switch {
		case string(k) == "dataType":
			dt = v
		case string(k) == "data":
			rec = v
			datas++
		case mayFoldTo(k, "data"):
			others++
		}
	}
	if len(dt) == 0 || string(dt) == "null" {
		return located{inner: data, exact: exact}, nil
	}
	if dt[0] != '"' {
		return located{}, unparseable("dataType is not a string")
	}
	dataType := string(unquote(dt))
	if dataType == "" {
		return located{}, unparseable("dataType is not a string")
	}
	if len(rec) == 0 || rec[0] != '{' {
		return located{}, unparseable("%s has no data object", dataType)
	}
	return located{dataType: dataType, inner: rec, exact: exact && datas == 1 && others == 0}, nil
}

// mayFoldTo says whether encoding/json could match the member name k to a field named
// name (ASCII) other than by equality: equal but for case, or holding non-ASCII
// characters, some of which fold to ASCII letters.
func mayFoldTo(k []byte, name string) bool {
	for _, c := range k {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return string(k) != name && strings.EqualFold(string(k), name)
}

// parser holds what every event of one callback shares.
type parser struct {
	acct   *platform.Account
	raw    json.RawMessage
	stable []byte
	phones func() []string
	now    time.Time
	// fields is the record as decoded with the whole callback, or nil to decode raw.
	fields *recordFields
}

// record returns the fields of the record.
func (p *parser) record() (*recordFields, error) {
	if p.fields != nil {
		return p.fields, nil
	}
	var f recordFields
	if err := decodeLoose(p.raw, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func (p *parser) out(kind, typ, recordID, subject, key string, at time.Time, data any) event.Out {
	return event.Out{
		Topic:   kind,
		Type:    typ,
		ID:      event.ID(Name, p.acct.Name, kind, []string{recordID}, p.stable),
		Subject: subject,
		Time:    at,
		Key:     key,
		Data:    data,
		Phones:  p.phones,
	}
}

type sceneInstance struct {
	CallInstanceID    flex `json:"callInstanceId"`
	InboundInstanceID flex `json:"inboundInstanceId"`
	CompanyID         flex `json:"companyId"`
	CallJobID         flex `json:"callJobId"`
	JobName           flex `json:"jobName"`
	CustomerID        flex `json:"customerId"`
	CustomerName      flex `json:"customerName"`
	CustomerTelephone flex `json:"customerTelephone"`
	FinishStatus      flex `json:"finishStatus"`
	Duration          flex `json:"duration"`
	ChatRound         flex `json:"chatRound"`
	StartTime         flex `json:"startTime"`
	EndTime           flex `json:"endTime"`
	CallerPhone       flex `json:"callerPhone"`
	CalleePhone       flex `json:"calleePhone"`
	LuyinOssURL       flex `json:"luyinOssUrl"`
	UserLuyinOssURL   flex `json:"userLuyinOssUrl"`
	HangUp            flex `json:"hangUp"`
	CorpName          flex `json:"corpName"`
}

type taskResult struct {
	SceneInstanceID  flex `json:"sceneInstanceId"`
	CompanyID        flex `json:"companyId"`
	ResultName       flex `json:"resultName"`
	ResultValue      flex `json:"resultValue"`
	ResultValueAlias flex `json:"resultValueAlias"`
	ResultLabels     []struct {
		Value flex `json:"value"`
	} `json:"resultLabels"`
}

type phoneLog struct {
	Speaker   flex `json:"speaker"`
	Content   flex `json:"content"`
	StartTime flex `json:"startTime"`
	EndTime   flex `json:"endTime"`
}

type callRecord struct {
	SceneInstance sceneInstance `json:"sceneInstance"`
	TaskResult    []taskResult  `json:"taskResult"`
	PhoneLog      struct {
		PhoneLogs []phoneLog `json:"phoneLogs"`
	} `json:"phoneLog"`
}

func (p *parser) call(direction string) ([]event.Out, error) {
	f, err := p.record()
	if err != nil {
		return nil, unparseable("call record: %v", err)
	}
	rec := &f.callRecord
	si := &rec.SceneInstance
	callID, caller := si.CallInstanceID.id(), si.CallerPhone
	if direction == "inbound" {
		callID, caller = si.InboundInstanceID.id(), si.CalleePhone
		if callID == "" {
			callID = si.CallInstanceID.id()
		}
	}
	if callID == "" {
		return nil, unparseable("call record has no call id")
	}
	loc := p.acct.Loc()
	started, startOK := localTime(si.StartTime, loc)
	ended, endOK := localTime(si.EndTime, loc)
	status, vendorStatus := code(si.FinishStatus, callStatuses, event.StatusUnknown)
	level, label := intent(find(rec.TaskResult, resultIntent))
	cf := &event.CallFinished{
		Vendor:    Name,
		Account:   p.acct.Name,
		Direction: direction,
		CallID:    callID,
		TaskID:    event.Str(si.CallJobID.id()),
		TaskName:  si.JobName.ptr(),
		CompanyID: event.Str(si.CompanyID.id()),
		Customer: event.Customer{
			ID:    event.Str(si.CustomerID.id()),
			Name:  si.CustomerName.ptr(),
			Phone: si.CustomerTelephone.ptr(),
		},
		CallerNumber:         caller.ptr(),
		Status:               status,
		VendorStatus:         vendorStatus,
		Answered:             status == event.StatusAnswered,
		IntentLevel:          level,
		IntentLabel:          label,
		Tags:                 tags(find(rec.TaskResult, resultTags)),
		Concerns:             concerns(find(rec.TaskResult, resultConcerns)),
		StartedAt:            rfc3339(started, startOK),
		EndedAt:              rfc3339(ended, endOK),
		HangupBy:             hangupBy(si.HangUp),
		RecordingURL:         si.LuyinOssURL.ptr(),
		CustomerRecordingURL: si.UserLuyinOssURL.ptr(),
		Transcript:           transcript(rec.PhoneLog.PhoneLogs),
		Attempt:              attempt(si.CorpName),
		Raw:                  p.raw,
	}
	cf.DurationSeconds, cf.ChatRounds = count(si.Duration), count(si.ChatRound)
	key := callID
	if cf.TaskID != nil {
		key = *cf.TaskID
	}
	at := p.now
	if endOK {
		at = ended
	}
	return []event.Out{p.out(event.TopicCallFinished, event.TypeCallFinished, callID, "call/"+callID, key, at, cf)}, nil
}

func (p *parser) intentChanged() ([]event.Out, error) {
	f, err := p.record()
	if err != nil {
		return nil, unparseable("intent change: %v", err)
	}
	rec := &f.callRecord
	var outs []event.Out
	seen := map[string]bool{}
	for i := range rec.TaskResult {
		tr := &rec.TaskResult[i]
		if tr.ResultName.id() != resultIntent {
			continue
		}
		callID := tr.SceneInstanceID.id()
		if callID == "" {
			return nil, unparseable("intent change has no sceneInstanceId")
		}
		if seen[callID] {
			continue
		}
		seen[callID] = true
		level, label := intent(tr)
		ic := &event.IntentChanged{
			Vendor:      Name,
			Account:     p.acct.Name,
			CallID:      callID,
			CompanyID:   event.Str(tr.CompanyID.id()),
			IntentLevel: level,
			IntentLabel: label,
			ChangedBy:   "manual",
			Raw:         p.raw,
		}
		outs = append(outs, p.out(event.TopicIntentChanged, event.TypeIntentChanged, callID, "call/"+callID, callID, p.now, ic))
	}
	if len(outs) == 0 {
		return nil, unparseable("taskResult has no %s entry", resultIntent)
	}
	return outs, nil
}

type jobInfo struct {
	CallJobID   flex `json:"callJobId"`
	CompanyID   flex `json:"companyId"`
	JobName     flex `json:"jobName"`
	Status      flex `json:"status"`
	GmtModified flex `json:"gmtModified"`
}

func (p *parser) taskStatus() ([]event.Out, error) {
	f, err := p.record()
	if err != nil {
		return nil, unparseable("job info: %v", err)
	}
	job := &f.jobInfo
	taskID := job.CallJobID.id()
	if taskID == "" {
		return nil, unparseable("job info has no callJobId")
	}
	status, vendorStatus := code(job.Status, taskStatuses, event.TaskUnknown)
	ts := &event.TaskStatus{
		Vendor:       Name,
		Account:      p.acct.Name,
		TaskID:       taskID,
		TaskName:     job.JobName.ptr(),
		CompanyID:    event.Str(job.CompanyID.id()),
		Status:       status,
		VendorStatus: vendorStatus,
		Finished:     status == event.TaskCompleted || status == event.TaskTerminated,
		Raw:          p.raw,
	}
	at := p.now
	if t, ok := localTime(job.GmtModified, p.acct.Loc()); ok {
		at = t
	}
	return []event.Out{p.out(event.TopicTaskStatus, event.TypeTaskStatus, taskID, "task/"+taskID, taskID, at, ts)}, nil
}

// code maps an enumerated vendor code to its name; the vendor's value is kept either way.
func code(f flex, names []string, unknown string) (name, vendor string) {
	n, ok := f.int()
	if !ok {
		return unknown, f.id()
	}
	vendor = strconv.FormatInt(n, 10)
	if n < 0 || n >= int64(len(names)) {
		return unknown, vendor
	}
	return names[n], vendor
}

func find(results []taskResult, name string) *taskResult {
	for i := range results {
		if results[i].ResultName.id() == name {
			return &results[i]
		}
	}
	return nil
}

// intent reads the level from the alias (A-F), else from the label's leading letter
// ("C级(很少)").
func intent(tr *taskResult) (level, label *string) {
	if tr == nil {
		return nil, nil
	}
	label = tr.ResultValue.ptr()
	if l := strings.ToUpper(tr.ResultValueAlias.id()); isLevel(l) {
		return &l, label
	}
	v := strings.TrimSpace(string(tr.ResultValue))
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

func tags(tr *taskResult) []string {
	out := []string{}
	if tr == nil {
		return out
	}
	for _, l := range tr.ResultLabels {
		if v := strings.TrimSpace(string(l.Value)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func concerns(tr *taskResult) []string {
	out := []string{}
	if tr == nil {
		return out
	}
	for _, c := range strings.FieldsFunc(string(tr.ResultValue), func(r rune) bool {
		return r == ',' || r == '，' || r == '、'
	}) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// count reads a quantity; anything but a natural number reads as 0.
func count(f flex) int64 {
	if n, ok := f.int(); ok && n > 0 {
		return n
	}
	return 0
}

func hangupBy(f flex) *string {
	switch n, ok := f.int(); {
	case ok && n == 0:
		return event.Str("robot")
	case ok && n == 1:
		return event.Str("customer")
	}
	return nil
}

func transcript(logs []phoneLog) []event.Utterance {
	out := make([]event.Utterance, 0, len(logs))
	for _, l := range logs {
		var speaker string
		switch strings.ToUpper(l.Speaker.id()) {
		case "AI":
			speaker = "robot"
		case "ME":
			speaker = "customer"
		default:
			// The schema knows only the robot and the customer.
			continue
		}
		u := event.Utterance{Speaker: speaker, Text: string(l.Content)}
		if n, ok := l.StartTime.int(); ok && n >= 0 {
			u.StartMs = &n
		}
		if n, ok := l.EndTime.int(); ok && n >= 0 {
			u.EndMs = &n
		}
		out = append(out, u)
	}
	return out
}

// attempt reads calledTimes from corpName, which the vendor uses to carry a JSON string
// of call metadata.
func attempt(corpName flex) int {
	var meta struct {
		CalledTimes flex `json:"calledTimes"`
	}
	if json.Unmarshal([]byte(corpName), &meta) == nil {
		if n, ok := meta.CalledTimes.int(); ok && n > 0 && n < 1<<31 {
			return int(n)
		}
	}
	return 1
}

// localTime reads a vendor local time ("2019-01-12 16:09:32"), or epoch milliseconds.
func localTime(f flex, loc *time.Location) (time.Time, bool) {
	s := strings.TrimSpace(string(f))
	if t, err := time.ParseInLocation(localLayout, s, loc); err == nil {
		return t, true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).In(loc), true
	}
	return time.Time{}, false
}

func rfc3339(t time.Time, ok bool) *string {
	if !ok {
		return nil
	}
	return event.Str(t.Format(time.RFC3339))
}

// recordPhones lists the phone numbers in a vendor record (see phonesIn), leaving out
// its volatile sign and dateTime.
func recordPhones(inner []byte) []string {
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(inner))
	dec.UseNumber()
	if dec.Decode(&tree) != nil {
		return []string{}
	}
	delete(tree, "sign")
	delete(tree, "dateTime")
	return phonesIn(tree)
}

// phonesIn lists every phone number value in a decoded record, including inside the
// JSON strings the vendor nests (properties), so the publisher can mask them anywhere.
func phonesIn(tree map[string]any) []string {
	set := map[string]bool{}
	walkPhones(tree, "", 0, set)
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func walkPhones(v any, key string, nested int, set map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkPhones(e, k, nested, set)
		}
	case []any:
		for _, e := range x {
			walkPhones(e, key, nested, set)
		}
	case json.Number:
		if phoneKey(key) {
			set[x.String()] = true
		}
	case string:
		s := strings.TrimSpace(x)
		switch {
		case phoneKey(key) && strings.ContainsAny(s, "0123456789"):
			set[s] = true
		case nested < 2 && s != "" && (s[0] == '{' || s[0] == '['):
			var inner any
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if dec.Decode(&inner) == nil {
				walkPhones(inner, key, nested+1, set)
			}
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
	if !acct.VerifyCallbackSign {
		return nil
	}
	if acct.AppKey == "" || acct.AppSecret == "" {
		return unauthorized("account %s has no app key or secret to check callback signs", acct.Name)
	}
	dataType, inner, err := unwrap(body)
	if err != nil {
		// Not wrapped with %w: an unsigned body is unauthorized, not unparseable.
		return unauthorized("cannot read sign: %v", err)
	}
	var f struct {
		Sign          flex            `json:"sign"`
		DateTime      flex            `json:"dateTime"`
		SceneInstance json.RawMessage `json:"sceneInstance"`
	}
	if err := decodeLoose(inner, &f); err != nil {
		return unauthorized("cannot read sign: %v", err)
	}
	sign, dateTime := f.Sign.id(), string(f.DateTime)
	if sign == "" {
		// The vendor documents sign/dateTime on call records only: task status and
		// manual intent callbacks carry none, and rejecting them would make BYAI retry
		// them for a day. They still pass the account's token and allow-list.
		if !signedShape(dataType, f.SceneInstance) {
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
func signedShape(dataType string, sceneInstance json.RawMessage) bool {
	switch dataType {
	case DataTypeInboundCall:
		return true
	case DataTypeCall, "":
		return len(sceneInstance) > 0 && string(sceneInstance) != "null"
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
