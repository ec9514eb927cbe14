package yiwise

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time-zone tests must not depend on the machine's zoneinfo

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
)

// sample reads a vendor webhook body, preferring ../shared/testdata (the vendor's
// documented bodies) and falling back to the repository's copy.
func sample(tb testing.TB, name string) []byte {
	tb.Helper()
	for _, dir := range []string{"../../../../shared/testdata/webhooks/yiwise", "../../../testdata/webhooks/yiwise"} {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue // samples of our own are only in the repository
		}
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	tb.Fatalf("no yiwise webhook sample %s", name)
	return nil
}

// parseNow stands in for the clock in events whose time is "when we heard of it".
var parseNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func testAccount() *platform.Account {
	return &platform.Account{Name: "yiwise-east", Vendor: Name}
}

func parseOne(t *testing.T, acct *platform.Account, body []byte) event.Out {
	t.Helper()
	outs, err := parseWebhook(acct, body, parseNow)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	if len(outs) != 1 {
		t.Fatalf("ParseWebhook returned %d events, want 1", len(outs))
	}
	return outs[0]
}

func callData(t *testing.T, out event.Out) *event.CallFinished {
	t.Helper()
	d, ok := out.Data.(*event.CallFinished)
	if !ok {
		t.Fatalf("Data is %T, want *event.CallFinished", out.Data)
	}
	return d
}

func taskData(t *testing.T, out event.Out) *event.TaskStatus {
	t.Helper()
	d, ok := out.Data.(*event.TaskStatus)
	if !ok {
		t.Fatalf("Data is %T, want *event.TaskStatus", out.Data)
	}
	return d
}

// dataOf returns the "data" member of a sample body, verbatim.
func dataOf(t *testing.T, body []byte) json.RawMessage {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data
}

// record builds a ROBOT_CALL_RECORD body from the sample with some data fields
// replaced (nil deletes the field).
func record(t *testing.T, changes map[string]any) []byte {
	return withData(t, sample(t, "robot_call_record.json"), changes)
}

func job(t *testing.T, changes map[string]any) []byte {
	return withData(t, sample(t, "robot_call_job.json"), changes)
}

func withData(t *testing.T, body []byte, changes map[string]any) []byte {
	t.Helper()
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		t.Fatal(err)
	}
	data := env["data"].(map[string]any)
	for k, v := range changes {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func strp(s string) *string { return &s }

func eqStrPtr(t *testing.T, field string, got, want *string) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", field, deref(got), deref(want))
	case *got != *want:
		t.Errorf("%s = %q, want %q", field, *got, *want)
	}
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestVendorIsRegisteredAsYiwise(t *testing.T) {
	v, ok := platform.Lookup("yiwise")
	if !ok {
		t.Fatal("yiwise is not registered")
	}
	if v.Name() != "yiwise" {
		t.Errorf("Name() = %q", v.Name())
	}
	if _, ok := v.(platform.WebhookVerifier); ok {
		t.Error("yiwise verifies webhooks itself; its callbacks carry no signature (token and allow-list only)")
	}
}

func TestParseWebhookCallRecordSampleMapsEveryField(t *testing.T) {
	body := sample(t, "robot_call_record.json")
	acct := testAccount()
	out := parseOne(t, acct, body)
	d := callData(t, out)

	if out.Topic != event.TopicCallFinished || out.Type != event.TypeCallFinished {
		t.Errorf("topic/type = %q/%q", out.Topic, out.Type)
	}
	if out.Subject != "call/119" {
		t.Errorf("Subject = %q, want call/119", out.Subject)
	}
	if out.Key != "43" {
		t.Errorf("Key = %q, want the task id 43", out.Key)
	}
	wantEnd := time.Date(2018, 10, 12, 18, 47, 42, 0, time.FixedZone("", 8*3600))
	if !out.Time.Equal(wantEnd) {
		t.Errorf("Time = %v, want endTime %v", out.Time, wantEnd)
	}
	if !reflect.DeepEqual(out.Phones(), []string{"17751279857"}) {
		t.Errorf("Phones = %v", out.Phones())
	}
	if out.ID != event.CallFinishedID(Name, acct.Name, "119") {
		t.Errorf("ID = %q is not derived from the call id", out.ID)
	}

	if d.Vendor != "yiwise" || d.Account != "yiwise-east" || d.Direction != "outbound" {
		t.Errorf("vendor/account/direction = %q/%q/%q", d.Vendor, d.Account, d.Direction)
	}
	if d.CallID != "119" {
		t.Errorf("CallID = %q", d.CallID)
	}
	eqStrPtr(t, "TaskID", d.TaskID, strp("43"))
	eqStrPtr(t, "TaskName", d.TaskName, nil)
	eqStrPtr(t, "CompanyID", d.CompanyID, strp("1"))
	eqStrPtr(t, "Customer.ID", d.Customer.ID, nil)
	eqStrPtr(t, "Customer.Name", d.Customer.Name, nil)
	eqStrPtr(t, "Customer.Phone", d.Customer.Phone, strp("17751279857"))
	eqStrPtr(t, "CallerNumber", d.CallerNumber, nil)
	if d.Status != "answered" || d.VendorStatus != "ANSWERED" || !d.Answered {
		t.Errorf("status/vendorStatus/answered = %q/%q/%v", d.Status, d.VendorStatus, d.Answered)
	}
	eqStrPtr(t, "IntentLevel", d.IntentLevel, strp("A"))
	eqStrPtr(t, "IntentLabel", d.IntentLabel, strp("A级(较强)"))
	if !reflect.DeepEqual(d.Tags, []string{"有钱"}) {
		t.Errorf("Tags = %q", d.Tags)
	}
	if !reflect.DeepEqual(d.Concerns, []string{"价格"}) {
		t.Errorf("Concerns = %q", d.Concerns)
	}
	if d.DurationSeconds != 37 || d.ChatRounds != 0 {
		t.Errorf("duration/rounds = %d/%d", d.DurationSeconds, d.ChatRounds)
	}
	eqStrPtr(t, "StartedAt", d.StartedAt, strp("2018-10-12T18:46:55+08:00"))
	eqStrPtr(t, "EndedAt", d.EndedAt, strp("2018-10-12T18:47:42+08:00"))
	eqStrPtr(t, "HangupBy", d.HangupBy, nil)
	eqStrPtr(t, "RecordingURL", d.RecordingURL, strp("https://ai-call-platform-daily.oss-cn-hangzhou.aliyuncs.com/DialogueRecording/TenantId1/CallJobId43/RHGKTLBG_TaskId_1305203/ai_user.wav"))
	eqStrPtr(t, "CustomerRecordingURL", d.CustomerRecordingURL, strp("https://ai-call-platform-daily.oss-cn-hangzhou.aliyuncs.com/DialogueRecording/TenantId1/CallJobId43/RHGKTLBG_TaskId_1305203/user.wav"))
	wantTranscript := []event.Utterance{
		{Speaker: "robot", Text: "喂，您好, （停顿2s），您好，想问下您位于江北纬七路隧道附近，均价17000的高端商业综合体，我可以给您介绍一下吗？"},
		{Speaker: "customer", Text: "嗯"},
	}
	if !reflect.DeepEqual(d.Transcript, wantTranscript) {
		t.Errorf("Transcript = %+v", d.Transcript)
	}
	if d.Attempt != 1 {
		t.Errorf("Attempt = %d", d.Attempt)
	}
	if !bytes.Equal(d.Raw, dataOf(t, body)) {
		t.Errorf("Raw = %s, want the data object verbatim", d.Raw)
	}

	// The wire form: ids are strings, absent values are null.
	var wire map[string]any
	b, err := json.Marshal(out.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]any{"callId": "119", "taskId": "43", "companyId": "1", "taskName": nil, "hangupBy": nil} {
		if wire[field] != want {
			t.Errorf("JSON %s = %#v, want %#v", field, wire[field], want)
		}
	}
}

func TestParseWebhookCallJobSampleMapsEveryField(t *testing.T) {
	body := sample(t, "robot_call_job.json")
	acct := testAccount()
	out := parseOne(t, acct, body)
	d := taskData(t, out)

	if out.Topic != event.TopicTaskStatus || out.Type != event.TypeTaskStatus {
		t.Errorf("topic/type = %q/%q", out.Topic, out.Type)
	}
	if out.Subject != "task/43" || out.Key != "43" {
		t.Errorf("subject/key = %q/%q", out.Subject, out.Key)
	}
	if !out.Time.Equal(parseNow) {
		t.Errorf("Time = %v, want the time of parsing", out.Time)
	}
	if len(out.Phones()) != 0 {
		t.Errorf("Phones = %v, want none", out.Phones())
	}
	if out.ID != event.TaskStatusID(Name, acct.Name, "43", "COMPLETED", "") {
		t.Errorf("ID = %q is not derived from the task id and status", out.ID)
	}
	if d.Vendor != "yiwise" || d.Account != "yiwise-east" {
		t.Errorf("vendor/account = %q/%q", d.Vendor, d.Account)
	}
	if d.TaskID != "43" {
		t.Errorf("TaskID = %q", d.TaskID)
	}
	eqStrPtr(t, "TaskName", d.TaskName, nil)
	eqStrPtr(t, "CompanyID", d.CompanyID, strp("1"))
	if d.Status != "completed" || d.VendorStatus != "COMPLETED" || !d.Finished {
		t.Errorf("status/vendorStatus/finished = %q/%q/%v", d.Status, d.VendorStatus, d.Finished)
	}
	if !bytes.Equal(d.Raw, dataOf(t, body)) {
		t.Errorf("Raw = %s, want the data object verbatim", d.Raw)
	}
}

func TestParseWebhookMapsEveryResultStatus(t *testing.T) {
	tests := []struct {
		vendor, want string
	}{
		{"ANSWERED", "answered"},
		{"NO_ANSWER", "no_answer"},
		{"BUSY", "busy"},
		{"POWER_OFF", "power_off"},
		{"OUT_OF_SERVICE", "out_of_service"},
		{"REFUSED", "refused"},
		{"VACANT_NUMBER", "vacant_number"},
		{"CAN_NOT_CONNECT", "unreachable"},
		{"FROM_PHONE_ERROR", "caller_unavailable"},
		{"SYSTEM_ERROR", "system_error"},
		{"CALL_LOSS_NEW", "unknown"},
		{"answered", "unknown"},
		{"", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"resultStatus": tt.vendor})))
			if d.Status != tt.want {
				t.Errorf("status = %q, want %q", d.Status, tt.want)
			}
			if d.VendorStatus != tt.vendor {
				t.Errorf("vendorStatus = %q, want %q kept verbatim", d.VendorStatus, tt.vendor)
			}
			if d.Answered != (tt.want == "answered") {
				t.Errorf("answered = %v", d.Answered)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"resultStatus": nil})))
		if d.Status != "unknown" || d.VendorStatus != "" || d.Answered {
			t.Errorf("status/vendorStatus/answered = %q/%q/%v", d.Status, d.VendorStatus, d.Answered)
		}
	})
}

func TestParseWebhookMapsEveryTaskStatus(t *testing.T) {
	tests := []struct {
		vendor, want string
		finished     bool
	}{
		{"NOT_STARTED", "not_started", false},
		{"IN_PROCESS", "running", false},
		{"COMPLETED", "completed", true},
		{"RUNNABLE", "scheduling", false},
		{"USER_PAUSE", "paused_by_user", false},
		{"SYSTEM_SUSPENDED", "paused_by_system", false},
		{"TERMINATE", "terminated", true},
		{"IN_QUEUE", "queued", false},
		{"AI_EXPIRED_NEW", "unknown", false},
		{"", "unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			d := taskData(t, parseOne(t, testAccount(), job(t, map[string]any{"status": tt.vendor})))
			if d.Status != tt.want || d.VendorStatus != tt.vendor || d.Finished != tt.finished {
				t.Errorf("status/vendorStatus/finished = %q/%q/%v, want %q/%q/%v",
					d.Status, d.VendorStatus, d.Finished, tt.want, tt.vendor, tt.finished)
			}
		})
	}
}

func TestParseWebhookIntentLevelAndLabel(t *testing.T) {
	tests := []struct {
		level            any
		wantLevel, label *string
	}{
		{"A", strp("A"), strp("A级(较强)")},
		{"B", strp("B"), strp("B级(一般)")},
		{"C", strp("C"), strp("C级(无法判断)")},
		{"D", strp("D"), strp("D级(很少)")},
		{"E", strp("E"), strp("E级别(需要再次跟进)")},
		{"F", strp("F"), strp("F级别(无需再次跟进)")},
		{"b", strp("B"), strp("B级(一般)")},
		{"G", nil, nil},
		{"", nil, nil},
		{json.Number("1"), nil, nil},
		{nil, nil, nil},
	}
	for _, tt := range tests {
		name, _ := json.Marshal(tt.level)
		t.Run(string(name), func(t *testing.T) {
			d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"intentLevel": tt.level})))
			eqStrPtr(t, "IntentLevel", d.IntentLevel, tt.wantLevel)
			eqStrPtr(t, "IntentLabel", d.IntentLabel, tt.label)
		})
	}
}

func TestParseWebhookListsAreEmptyNotNull(t *testing.T) {
	body := record(t, map[string]any{"attributes": nil, "customerConcern": []any{}, "robotCallDetailList": nil})
	out := parseOne(t, testAccount(), body)
	b, err := json.Marshal(out.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tags":[]`, `"concerns":[]`, `"transcript":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

func TestParseWebhookToleratesVendorTypeVariants(t *testing.T) {
	t.Run("string ids", func(t *testing.T) {
		out := parseOne(t, testAccount(), record(t, map[string]any{"callRecordId": "119", "robotCallJobId": "43", "tenantId": "1"}))
		d := callData(t, out)
		if d.CallID != "119" || *d.TaskID != "43" || *d.CompanyID != "1" || out.Key != "43" {
			t.Errorf("ids = %q/%v/%v key %q", d.CallID, deref(d.TaskID), deref(d.CompanyID), out.Key)
		}
	})
	t.Run("large numeric id keeps every digit", func(t *testing.T) {
		d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"callRecordId": json.Number("1234567890123456789")})))
		if d.CallID != "1234567890123456789" {
			t.Errorf("CallID = %q", d.CallID)
		}
	})
	t.Run("null task and tenant", func(t *testing.T) {
		body := []byte(`{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":7,"robotCallJobId":null,"tenantId":null}}`)
		out := parseOne(t, testAccount(), body)
		d := callData(t, out)
		if d.TaskID != nil || d.CompanyID != nil {
			t.Errorf("TaskID/CompanyID = %v/%v, want null", deref(d.TaskID), deref(d.CompanyID))
		}
		if out.Key != "7" {
			t.Errorf("Key = %q, want the call id when there is no task", out.Key)
		}
		if d.StartedAt != nil || d.EndedAt != nil || d.Status != "unknown" {
			t.Errorf("startedAt/endedAt/status = %v/%v/%q", deref(d.StartedAt), deref(d.EndedAt), d.Status)
		}
	})
	t.Run("lists written as one string", func(t *testing.T) {
		d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"attributes": "有钱", "customerConcern": "价格"})))
		if !reflect.DeepEqual(d.Tags, []string{"有钱"}) || !reflect.DeepEqual(d.Concerns, []string{"价格"}) {
			t.Errorf("tags/concerns = %q/%q", d.Tags, d.Concerns)
		}
	})
	t.Run("counts written as strings", func(t *testing.T) {
		d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"chatDuration": "12", "chatRound": "3"})))
		if d.DurationSeconds != 12 || d.ChatRounds != 3 {
			t.Errorf("duration/rounds = %d/%d", d.DurationSeconds, d.ChatRounds)
		}
	})
	t.Run("transcript turns by unknown speakers are left out", func(t *testing.T) {
		d := callData(t, parseOne(t, testAccount(), record(t, map[string]any{"robotCallDetailList": []any{
			map[string]any{"type": "ROBOT", "text": "hi"},
			map[string]any{"type": "SYSTEM", "text": "beep"},
			"garbage",
			map[string]any{"type": "PERSON", "text": "yes"},
		}})))
		want := []event.Utterance{{Speaker: "robot", Text: "hi"}, {Speaker: "customer", Text: "yes"}}
		if !reflect.DeepEqual(d.Transcript, want) {
			t.Errorf("Transcript = %+v", d.Transcript)
		}
	})
	t.Run("no endTime dates the event at start plus duration", func(t *testing.T) {
		out := parseOne(t, testAccount(), record(t, map[string]any{"endTime": nil}))
		want := time.Date(2018, 10, 12, 18, 47, 32, 0, time.FixedZone("", 8*3600))
		if !out.Time.Equal(want) {
			t.Errorf("Time = %v, want %v", out.Time, want)
		}
		if callData(t, out).EndedAt != nil {
			t.Errorf("EndedAt = %v, want null", *callData(t, out).EndedAt)
		}
	})
}

func TestParseWebhookPhonesListsEveryNumberInData(t *testing.T) {
	body := record(t, map[string]any{"customerPerson": map[string]any{
		"phoneNumber": "13800000001", "userPhoneId": "276", "phoneType": "MOBILE",
	}})
	out := parseOne(t, testAccount(), body)
	want := []string{"17751279857", "13800000001"}
	if !reflect.DeepEqual(out.Phones(), want) {
		t.Errorf("Phones = %v, want %v", out.Phones(), want)
	}
}

func TestParseWebhookRejectsWhatCanNeverParse(t *testing.T) {
	tests := []struct {
		name, body, reason string
	}{
		{"garbage", `not json at all`, "not a JSON object"},
		{"empty", ``, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"trailing garbage", `{"dataType":"ROBOT_CALL_JOB","data":{"robotCallJobId":1}} x`, "not a JSON object"},
		{"null", `null`, "missing dataType"},
		{"missing dataType", `{"data":{"robotCallJobId":1}}`, "missing dataType"},
		{"numeric dataType", `{"dataType":1,"data":{}}`, "not a JSON object"},
		{"unknown dataType", `{"dataType":"ROBOT_SMS_RECORD","data":{"id":1}}`, `unknown dataType "ROBOT_SMS_RECORD"`},
		{"missing data", `{"dataType":"ROBOT_CALL_JOB"}`, "without data"},
		{"null data", `{"dataType":"ROBOT_CALL_RECORD","data":null}`, "without data"},
		{"array data", `{"dataType":"ROBOT_CALL_RECORD","data":[1]}`, "data is not a JSON object"},
		{"string data", `{"dataType":"ROBOT_CALL_JOB","data":"x"}`, "data is not a JSON object"},
		{"record without callRecordId", `{"dataType":"ROBOT_CALL_RECORD","data":{"robotCallJobId":43}}`, "without callRecordId"},
		{"record with null callRecordId", `{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":null}}`, "without callRecordId"},
		{"record with empty callRecordId", `{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":" "}}`, "without callRecordId"},
		{"record with object callRecordId", `{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":{}}}`, "without callRecordId"},
		{"job without robotCallJobId", `{"dataType":"ROBOT_CALL_JOB","data":{"status":"COMPLETED"}}`, "without robotCallJobId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := Vendor{}.ParseWebhook(testAccount(), []byte(tt.body))
			if !errors.Is(err, platform.ErrUnparseable) {
				t.Fatalf("err = %v, want ErrUnparseable", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want the reason %q", err, tt.reason)
			}
			if outs != nil {
				t.Errorf("events = %v, want none", outs)
			}
		})
	}
}

// Member names are matched as the vendor documents them, the envelope's included.
func TestParseWebhookMatchesNamesExactly(t *testing.T) {
	for _, tt := range []struct{ name, body, reason string }{
		{"DataType", `{"DataType":"ROBOT_CALL_JOB","data":{"robotCallJobId":1}}`, "missing dataType"},
		{"Data", `{"dataType":"ROBOT_CALL_JOB","Data":{"robotCallJobId":1}}`, "without data"},
		{"RobotCallJobId", `{"dataType":"ROBOT_CALL_JOB","data":{"RobotCallJobId":1}}`, "without robotCallJobId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Vendor{}.ParseWebhook(testAccount(), []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v, want the reason %q", err, tt.reason)
			}
		})
	}
	// A repeated name is ambiguous: the body is unparseable (dead-lettered).
	if _, err := (Vendor{}).ParseWebhook(testAccount(), []byte(`{"dataType":"ROBOT_CALL_JOB","data":{"status":"x"},
		"data":{"robotCallJobId":2,"status":"COMPLETED"}}`)); !errors.Is(err, platform.ErrUnparseable) {
		t.Errorf("repeated data: err = %v, want ErrUnparseable", err)
	}
	out := parseOne(t, testAccount(), []byte(`{"dataType":"ROBOT_CALL_JOB",
		"data":{"robotCallJobId":2,"status":"COMPLETED","Status":"TERMINATE"}}`))
	if d := taskData(t, out); d.TaskID != "2" || d.VendorStatus != "COMPLETED" {
		t.Errorf("taskId/vendorStatus = %q/%q, want robotCallJobId and status", d.TaskID, d.VendorStatus)
	}
}

// Ids follow the record, not the body: every path that yields the same vendor record
// yields the same id (DESIGN, "Ids are deterministic and follow the record").
func TestParseWebhookIDsFollowTheRecord(t *testing.T) {
	acct := testAccount()
	id := func(body []byte) string { return parseOne(t, acct, body).ID }
	rec := sample(t, "robot_call_record.json")
	jb := sample(t, "robot_call_job.json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, rec); err != nil {
		t.Fatal(err)
	}
	// The current protocol's body of the same call (yiwise-current/callBack.md): the
	// transcript is callDetailList with a callDetailId per turn, and the record gains
	// dialogFlowId and properties.
	current := withData(t, rec, map[string]any{
		"robotCallDetailList": nil,
		"callDetailList": []any{
			map[string]any{"callDetailId": 1, "type": "ROBOT", "text": "喂，您好"},
			map[string]any{"callDetailId": 2, "type": "PERSON", "text": "嗯"},
		},
		"dialogFlowId": 7,
		"properties":   map[string]any{"城市": "杭州"},
	})
	without := func(name string) []byte {
		var top map[string]any
		if err := json.Unmarshal(current, &top); err != nil {
			t.Fatal(err)
		}
		delete(top["data"].(map[string]any), name)
		b, err := json.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"a redelivered call keeps the id", rec, rec, true},
		{"robotCallDetailList and callDetailList bodies of one call share the id", rec, current, true},
		{"callDetailList alone (no robotCallDetailList member) keeps the id", rec, without("robotCallDetailList"), true},
		{"a compacted body keeps the id", rec, compact.Bytes(), true},
		{"other values of the same call keep the id", rec, record(t, map[string]any{"chatDuration": json.Number("38"), "endTime": nil, "hangupBy": "ROBOT"}), true},
		{"the call id written as a string keeps the id", rec, record(t, map[string]any{"callRecordId": " 119 "}), true},
		{"another call gets another id", rec, record(t, map[string]any{"callRecordId": json.Number("120")}), false},
		{"a redelivered status change keeps the id", jb, jb, true},
		{"a re-spaced, reordered status change keeps the id", jb, []byte("{\"data\":{ \"status\" :\t\"COMPLETED\",\r\n\"tenantId\": 1 , \"robotCallJobId\": \"43\" },\"dataType\":\"ROBOT_CALL_JOB\"}"), true},
		{"two status changes of one task get two ids", jb, job(t, map[string]any{"status": "TERMINATE"}), false},
		{"the same status of another task gets another id", jb, job(t, map[string]any{"robotCallJobId": json.Number("44")}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, b := id(tt.a), id(tt.b); (a == b) != tt.same {
				t.Errorf("ids %s and %s: same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
	t.Run("another account gets another id", func(t *testing.T) {
		other := &platform.Account{Name: "yiwise-west"}
		if parseOne(t, other, rec).ID == id(rec) {
			t.Error("ids are equal")
		}
	})
	t.Run("a call and a task with one number get two ids", func(t *testing.T) {
		if id(record(t, map[string]any{"callRecordId": json.Number("43")})) == id(jb) {
			t.Error("ids are equal")
		}
	})
}

// The query APIs answer the same call in their own shapes (obtainTask.md): the call
// record list (getCallRecordInfoList) and the call detail (phoneLogInfo), neither with
// an endTime. Reconciliation derives the id with CallFinishedID; it must be the
// webhook's.
func TestWebhookAndQueryAPIGiveOneID(t *testing.T) {
	acct := testAccount()
	want := parseOne(t, acct, sample(t, "robot_call_record.json")).ID
	tests := []struct {
		name, answer string
		callID       func(data jsondoc.Value) loose.Scalar
	}{
		{"call record list", `{"code":200,"data":{"number":1,"content":[{"callRecordId":119,"tenantId":1,"robotCallJobId":43,"resultStatus":"ANSWERED","startTime":"2018-10-12 18:46:55","chatDuration":37,"callDetailList":null}]},"requestId":"YXDXFDSC"}`,
			func(d jsondoc.Value) loose.Scalar {
				for e := range d.Get("content").Elems {
					return loose.Get(e, "callRecordId")
				}
				return ""
			}},
		{"call detail", `{"code":200,"data":{"callRecordId":119,"startTime":"2018-10-12T18:46:55","chatDuration":37,"callDetailList":[],"robotCallJobId":43},"requestId":"PSVILAEB"}`,
			func(d jsondoc.Value) loose.Scalar { return loose.Get(d, "callRecordId") }},
		{"call detail with the id as a string", `{"code":200,"data":{"callRecordId":"119"}}`,
			func(d jsondoc.Value) loose.Scalar { return loose.Get(d, "callRecordId") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := jsondoc.Parse([]byte(tt.answer))
			if err != nil {
				t.Fatal(err)
			}
			if got := CallFinishedID(acct.Name, tt.callID(d.Root().Get("data")).String()); got != want {
				t.Errorf("query id %s, webhook id %s", got, want)
			}
		})
	}
}

func TestParseWebhookUsesTheAccountTimeZone(t *testing.T) {
	tests := []struct {
		zone               string
		wantStart, wantEnd string
	}{
		{"", "2018-10-12T18:46:55+08:00", "2018-10-12T18:47:42+08:00"},
		{"Asia/Shanghai", "2018-10-12T18:46:55+08:00", "2018-10-12T18:47:42+08:00"},
		{"Asia/Tokyo", "2018-10-12T18:46:55+09:00", "2018-10-12T18:47:42+09:00"},
		{"America/New_York", "2018-10-12T18:46:55-04:00", "2018-10-12T18:47:42-04:00"},
		{"UTC", "2018-10-12T18:46:55Z", "2018-10-12T18:47:42Z"},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			acct := testAccount()
			if tt.zone != "" {
				loc, err := time.LoadLocation(tt.zone)
				if err != nil {
					t.Fatal(err)
				}
				acct.Location = loc
			}
			out := parseOne(t, acct, sample(t, "robot_call_record.json"))
			d := callData(t, out)
			eqStrPtr(t, "StartedAt", d.StartedAt, &tt.wantStart)
			eqStrPtr(t, "EndedAt", d.EndedAt, &tt.wantEnd)
			want, _ := time.Parse(time.RFC3339, tt.wantEnd)
			if !out.Time.Equal(want) {
				t.Errorf("Time = %v, want %v", out.Time, want)
			}
		})
	}
}

func TestParseWebhookNilAccountDoesNotPanic(t *testing.T) {
	outs, err := Vendor{}.ParseWebhook(nil, sample(t, "robot_call_record.json"))
	if err != nil || len(outs) != 1 {
		t.Fatalf("ParseWebhook(nil) = %v, %v", outs, err)
	}
	if got := *callData(t, outs[0]).StartedAt; got != "2018-10-12T18:46:55+08:00" {
		t.Errorf("StartedAt = %q, want Shanghai time", got)
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(sample(f, "robot_call_record.json"))
	f.Add(sample(f, "robot_call_job.json"))
	f.Add(sample(f, "robot_call_sms.json"))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_SMS","data":{"callRecordId":" 9 ","robotCallJobId":3,"robotCallJobName":"t","msgList":[null,1,{"msg":null,"text":"${x}","smsTemplateId":1.0}],"phoneNumber":"138 0000 0001"}}`))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_SMS","data":{"callRecordId":1,"msgList":{"a":1}}}`))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_SMS","data":{}}`))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":"1","startTime":1539341215000,"attributes":"x","robotCallDetailList":[{"type":"PERSON"}]}}`))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_JOB","data":{"robotCallJobId":1e400}}`))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":1,"x":{"phone":"123456","y":[[[{"mobilePhone":"+86 138"}]]]}}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(` {"dataType" : " ROBOT_CALL_JOB ", "data" : { "robotCallJobId" : " 7 " , "a" : { "b" : [ 1 , {"c":"]}\"{ "} ] }, "\u0061":null, "a":true, "k\u00e9":"` + "\xff" + `" } } `))
	f.Add([]byte(`{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":1,"calledPhoneNumber":"138 0000 0001","robotCallDetailList":null,"callDetailList":[{"type":"per\u017fon","text":"x"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		outs, err := Vendor{}.ParseWebhook(testAccount(), body)
		if err != nil {
			if !errors.Is(err, platform.ErrUnparseable) {
				t.Fatalf("error %v does not wrap ErrUnparseable", err)
			}
			return
		}
		acct := testAccount()
		for _, o := range outs {
			if o.ID == "" || o.Key == "" || o.Subject == "" {
				t.Fatalf("incomplete event %+v", o)
			}
			if _, err := json.Marshal(o.Data); err != nil {
				t.Fatalf("event data does not marshal: %v", err)
			}
			// Every event publishes as valid UTF-8 JSON, privacy applied or not.
			for _, pub := range fuzzPublishers {
				if _, err := pub.Build(Name, "fuzz", o); err != nil {
					t.Fatalf("event does not publish: %v", err)
				}
			}
			// The id follows the record's identity; raw and the phones against the body.
			var raw json.RawMessage
			var want string
			phone := ""
			switch d := o.Data.(type) {
			case *event.CallFinished:
				raw, want = d.Raw, CallFinishedID(acct.Name, d.CallID)
				if d.Customer.Phone != nil {
					phone = *d.Customer.Phone
				}
			case *event.TaskStatus:
				raw, want = d.Raw, event.TaskStatusID(Name, acct.Name, d.TaskID, d.VendorStatus, "")
			case *event.SMSSent:
				raw, want = d.Raw, SMSSentID(acct.Name, d.CallID)
				if d.Customer.Phone != nil {
					phone = *d.Customer.Phone
				}
				if d.Messages == nil {
					t.Fatal("messages is null")
				}
			default:
				t.Fatalf("Data is %T", o.Data)
			}
			if !bytes.Contains(body, raw) {
				t.Fatalf("raw %q is not part of the body", raw)
			}
			if o.ID != want {
				t.Fatalf("ID = %s, want %s from the record's identity", o.ID, want)
			}
			if p := o.Phones(); phone != "" && (len(p) == 0 || p[0] != phone) {
				t.Fatalf("Phones = %q, want the called number %q first", p, phone)
			}
		}
	})
}

// fuzzPublishers build events as the bridge does (schema check on), plain and masked.
var fuzzPublishers = func() []*publish.Publisher {
	mask, _ := privacy.New(privacy.Mask, nil)
	return []*publish.Publisher{{Validate: true}, {Validate: true, Privacy: mask}}
}()
