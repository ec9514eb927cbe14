package byai

// The mapping of a call record as it was before it was made cheaper, kept as the
// reference the faster one must agree with (FuzzCallMatchesReference).

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
)

// refReadScene reads sceneInstance in one pass; of repeated names the last wins.
func refReadScene(si jsondoc.Value) scene {
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
type refCallResults struct {
	intent, tags, concerns jsondoc.Value
}

func refReadResults(list jsondoc.Value) refCallResults {
	var r refCallResults
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

// speakerOf is strings.ToUpper(loose.Of(v).ID()), without allocating for the
// plain ASCII text a speaker is.
func refSpeakerOf(v jsondoc.Value) string {
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

func (p *parser) refCall(direction string) ([]event.Out, error) {
	si := refReadScene(p.rec.Get("sceneInstance"))
	results := refReadResults(p.rec.Get("taskResult"))
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
	started, startOK := refLocalTimeOf(si.startTime, loc)
	ended, endOK := refLocalTimeOf(si.endTime, loc)
	status, vendorStatus := codeOf(si.finishStatus, callStatuses, event.StatusUnknown)
	level, label := refIntent(loose.Get(results.intent, "resultValueAlias"), loose.Get(results.intent, "resultValue"), results.intent.Exists())
	ps := new(refStrs)
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
		Tags:                 refTags(results.tags),
		Concerns:             refConcerns(results.concerns),
		StartedAt:            ps.ptr(refRfc3339(started, startOK)),
		EndedAt:              ps.ptr(refRfc3339(ended, endOK)),
		HangupBy:             ps.ptr(hangupBy(si.hangUp)),
		RecordingURL:         ps.ptr(string(recording)),
		CustomerRecordingURL: ps.ptr(string(loose.Of(si.userLuyinOssURL))),
		Transcript:           refTranscript(p.rec.Path("phoneLog", "phoneLogs")),
		Attempt:              refAttempt(si.corpName),
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

func refIntent(alias, value loose.Scalar, present bool) (level, label *string) {
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

func refTags(tr jsondoc.Value) []string {
	out := []string{}
	for l := range tr.Get("resultLabels").Elems {
		if v := strings.TrimSpace(string(loose.Get(l, "value"))); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func refConcerns(tr jsondoc.Value) []string {
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

func refTranscript(logs jsondoc.Value) []event.Utterance {
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
		switch refSpeakerOf(speaker) {
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

func refAttempt(corpName jsondoc.Value) int {
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

func refLocalTimeOf(f jsondoc.Value, loc *time.Location) (time.Time, bool) {
	if !f.Plain() {
		return refLocalTime(loose.Of(f), loc)
	}
	t, _ := f.Text()
	return refLocalTimeText(string(bytes.TrimSpace(t)), loc)
}

func refLocalTime(f loose.Scalar, loc *time.Location) (time.Time, bool) {
	return refLocalTimeText(strings.TrimSpace(string(f)), loc)
}

func refLocalTimeText(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.ParseInLocation(localLayout, s, loc); err == nil {
		return t, true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).In(loc), true
	}
	return time.Time{}, false
}

func refRfc3339(t time.Time, ok bool) string {
	if !ok {
		return ""
	}
	return t.Format(time.RFC3339)
}

type refStrs struct {
	a [12]string
	n int
}

// ptr is event.Str(s): nil for "", else a pointer to s.
func (p *refStrs) ptr(s string) *string {
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
