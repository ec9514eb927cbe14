package byai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/privacy"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/schemas"
)

// parseNow stands in for the clock in events whose time is "when we heard of it".
var parseNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func testAccount() *platform.Account {
	return &platform.Account{Name: "byai-main", Vendor: Name, AppKey: "WtSMaXXXXXXXXtvy", AppSecret: "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", Settings: Settings{CompanyID: "151"}}
}

// samplesDir prefers the vendors' documented bodies in ../shared over the repo's copy.
func samplesDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{"../../../../shared/testdata/webhooks/byai", "../../../testdata/webhooks/byai"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Fatal("no BYAI webhook samples found")
	return ""
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join(samplesDir(t), name))
}

// innerRaw is the vendor record as it stands in the body: data.data, or data for the
// legacy shape.
func innerRaw(t testing.TB, body []byte) json.RawMessage {
	t.Helper()
	var b struct {
		Data struct {
			DataType string          `json:"dataType"`
			Data     json.RawMessage `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Data.DataType == "" {
		var legacy struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &legacy); err != nil {
			t.Fatal(err)
		}
		return legacy.Data
	}
	return b.Data.Data
}

// edit decodes body, lets f change it and encodes it again.
func edit(t testing.TB, body []byte, f func(top map[string]any)) []byte {
	t.Helper()
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		t.Fatal(err)
	}
	f(top)
	b, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inner returns the vendor record of a wrapped body decoded by edit.
func inner(top map[string]any) map[string]any {
	return top["data"].(map[string]any)["data"].(map[string]any)
}

func sceneInst(top map[string]any) map[string]any {
	return inner(top)["sceneInstance"].(map[string]any)
}

func p(s string) *string { return &s }
func ms(n int64) *int64  { return &n }

func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantOut is everything an event carries but its id (checked by the id tests) and raw
// (checked against the body).
type wantOut struct {
	topic, typ, subject, key string
	time                     time.Time
	phones                   []string
	data                     any
}

func TestParseWebhookMapsEverySample(t *testing.T) {
	shanghai := (&platform.Account{}).Loc()
	cases := map[string]wantOut{
		"call_instance_result.json": {
			topic: event.TopicCallFinished, typ: event.TypeCallFinished, subject: "call/1", key: "1",
			time:   time.Date(2019, 1, 12, 16, 10, 11, 0, shanghai),
			phones: []string{"137xxxxxxxx", "15957182700"},
			data: &event.CallFinished{
				Vendor: "byai", Account: "byai-main", Direction: "outbound",
				CallID: "1", TaskID: p("1"), TaskName: p("GG0112-YX NEW1"), CompanyID: p("1"),
				Customer:     event.Customer{ID: p("1"), Name: p("2989"), Phone: p("137xxxxxxxx")},
				CallerNumber: p("测试线路"), Status: "answered", VendorStatus: "0", Answered: true,
				IntentLevel: p("C"), IntentLabel: p("C级(很少)"),
				Tags: []string{"无效用户"}, Concerns: []string{},
				DurationSeconds: 35, ChatRounds: 3,
				StartedAt: p("2019-01-12T16:09:32+08:00"), EndedAt: p("2019-01-12T16:10:11+08:00"),
				HangupBy:             p("customer"),
				RecordingURL:         p("https://byrobot-prod.oss-cn-hangzhou.aliyuncs.com/RobotPhoneCommunicate/11/xxx.wav"),
				CustomerRecordingURL: p("https://byrobot-prod.oss-cn-hangzhou.aliyuncs.com/RobotPhoneCommunicate/11.wav"),
				Transcript: []event.Utterance{
					{Speaker: "robot", Text: "喂，您好，这里是用户测试电话", StartMs: ms(0), EndMs: ms(0)},
					{Speaker: "customer", Text: "有什么游戏呀？", StartMs: ms(8350), EndMs: ms(10570)},
				},
				Attempt: 1,
			},
		},
		"inbound_call_instance_result.json": {
			topic: event.TopicCallFinished, typ: event.TypeCallFinished, subject: "call/1091", key: "98",
			time:   time.Date(2019, 1, 24, 15, 28, 9, 0, shanghai),
			phones: []string{"057126881788", "1010"},
			data: &event.CallFinished{
				Vendor: "byai", Account: "byai-main", Direction: "inbound",
				CallID: "1091", TaskID: p("98"), CompanyID: p("1"),
				Customer:     event.Customer{ID: p("22142595"), Name: p("未知呼入客户"), Phone: p("1010")},
				CallerNumber: p("057126881788"), Status: "answered", VendorStatus: "0", Answered: true,
				IntentLevel: p("B"), IntentLabel: p("B级(一般)"),
				Tags: []string{}, Concerns: []string{"位置"},
				DurationSeconds: 27, ChatRounds: 3,
				StartedAt: p("2019-01-24T15:27:39+08:00"), EndedAt: p("2019-01-24T15:28:09+08:00"),
				HangupBy:             p("customer"),
				RecordingURL:         p("https://byrobot-test.oss-cn-hangzhou.aliyuncs.com/InboundRobotCommunicate/1091/20190124-152809_1010.wav"),
				CustomerRecordingURL: p("https://byrobot-test.oss-cn-hangzhou.aliyuncs.com/InboundRobotCommunicate/1091_user.wav"),
				Transcript: []event.Utterance{
					{Speaker: "robot", Text: "哎，您好，拱墅区 中大银泰城边上有个首付50万左右的精装公寓你考虑吗？", StartMs: ms(0), EndMs: ms(0)},
					{Speaker: "customer", Text: "呃，不考虑", StartMs: ms(6830), EndMs: ms(7950)},
				},
				Attempt: 1,
			},
		},
		"intent_level_changed.json": {
			topic: event.TopicIntentChanged, typ: event.TypeIntentChanged, subject: "call/2016", key: "2016",
			time:   parseNow,
			phones: []string{},
			data: &event.IntentChanged{
				Vendor: "byai", Account: "byai-main", CallID: "2016", CompanyID: p("241"),
				IntentLevel: p("B"), IntentLabel: p("B"), ChangedBy: "manual",
			},
		},
		"job_info_result.json": {
			topic: event.TopicTaskStatus, typ: event.TypeTaskStatus, subject: "task/535", key: "535",
			time:   time.Date(2018, 4, 25, 11, 17, 19, 0, shanghai),
			phones: []string{},
			data: &event.TaskStatus{
				Vendor: "byai", Account: "byai-main", TaskID: "535", TaskName: p("测试-问题学习"),
				CompanyID: p("243"), Status: "completed", VendorStatus: "2", Finished: true,
			},
		},
	}
	entries, err := os.ReadDir(samplesDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := cases[e.Name()]; !ok && strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("sample %s has no expectation here", e.Name())
		}
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			body := sample(t, name)
			checkParse(t, body, want)
		})
	}
}

func TestParseWebhookReadsLegacyCallWithoutDataType(t *testing.T) {
	body := readFile(t, "testdata/legacy_call.json")
	shanghai := (&platform.Account{}).Loc()
	checkParse(t, body, wantOut{
		// No task: the call id keys the record.
		topic: event.TopicCallFinished, typ: event.TypeCallFinished, subject: "call/540", key: "540",
		time:   time.Date(2018, 1, 24, 20, 53, 28, 0, shanghai),
		phones: []string{"13912345678", "17751279857", "18072749353"},
		data: &event.CallFinished{
			Vendor: "byai", Account: "byai-main", Direction: "outbound",
			CallID: "540", CompanyID: p("1"), TaskName: p("buqi新的测试任务"),
			Customer:     event.Customer{ID: p("55"), Name: p("不弃"), Phone: p("17751279857")},
			CallerNumber: p("18072749353"), Status: "no_answer", VendorStatus: "8",
			IntentLevel: p("A"), IntentLabel: p("A级(较强)"),
			Tags: []string{}, Concerns: []string{"位置", "价格", "能否贷款", "户型"},
			StartedAt: p("2018-01-24T20:51:53+08:00"), EndedAt: p("2018-01-24T20:53:28+08:00"),
			HangupBy:     p("robot"),
			RecordingURL: p("https://byrobot-test.oss-cn-hangzhou.aliyuncs.com/RobotPhoneCommunicate/540/JYSYDCCHVFYYTMGJKKHJAMHARNNBWEJQ.wav"),
			Transcript: []event.Utterance{
				{Speaker: "robot", Text: "哎，您好", StartMs: ms(0), EndMs: ms(0)},
				{Speaker: "customer", Text: "喂你好", StartMs: ms(300), EndMs: ms(1145)},
			},
			Attempt: 2,
		},
	})
}

func checkParse(t *testing.T, body []byte, want wantOut) {
	t.Helper()
	outs, err := parseWebhook(testAccount(), body, parseNow)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(outs) != 1 {
		t.Fatalf("got %d events, want 1", len(outs))
	}
	o := outs[0]
	if o.Topic != want.topic || o.Type != want.typ || o.Subject != want.subject || o.Key != want.key {
		t.Errorf("topic/type/subject/key = %q %q %q %q, want %q %q %q %q",
			o.Topic, o.Type, o.Subject, o.Key, want.topic, want.typ, want.subject, want.key)
	}
	if !o.Time.Equal(want.time) {
		t.Errorf("time = %v, want %v", o.Time, want.time)
	}
	if !slices.Equal(o.Phones(), want.phones) {
		t.Errorf("phones = %q, want %q", o.Phones(), want.phones)
	}
	if o.ID == "" {
		t.Error("empty id")
	}
	// Raw is the vendor's record byte for byte; the rest is compared as JSON, which also
	// pins [] against null and ids as strings.
	var raw json.RawMessage
	switch d := o.Data.(type) {
	case *event.CallFinished:
		raw, d.Raw = d.Raw, nil
	case *event.TaskStatus:
		raw, d.Raw = d.Raw, nil
	case *event.IntentChanged:
		raw, d.Raw = d.Raw, nil
	default:
		t.Fatalf("data is %T", o.Data)
	}
	if reflect.TypeOf(o.Data) != reflect.TypeOf(want.data) {
		t.Fatalf("data is %T, want %T", o.Data, want.data)
	}
	if got, exp := asJSON(t, o.Data), asJSON(t, want.data); got != exp {
		t.Errorf("data:\n%s\nwant:\n%s", got, exp)
	}
	if !bytes.Equal(raw, innerRaw(t, body)) {
		t.Errorf("raw is not the inner vendor object verbatim:\n%s", raw)
	}
	checkSchema(t, o)
}

// checkSchema validates an event's data, raw included, against the published contract.
func checkSchema(t *testing.T, o event.Out) {
	t.Helper()
	b, err := json.Marshal(o.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(o.Topic, b); err != nil {
		t.Errorf("data breaks its schema: %v\n%s", err, b)
	}
}

func TestParseWebhookKeepsUnknownCodes(t *testing.T) {
	tests := []struct {
		name             string
		file             string
		change           func(top map[string]any)
		wantStatus       string
		wantVendorStatus string
	}{
		{"unknown finishStatus maps to unknown", "call_instance_result.json",
			func(top map[string]any) { sceneInst(top)["finishStatus"] = 42 }, "unknown", "42"},
		{"negative finishStatus maps to unknown", "call_instance_result.json",
			func(top map[string]any) { sceneInst(top)["finishStatus"] = -1 }, "unknown", "-1"},
		{"finishStatus as a string still maps", "call_instance_result.json",
			func(top map[string]any) { sceneInst(top)["finishStatus"] = "7" }, "out_of_service", "7"},
		{"non-numeric finishStatus is kept verbatim", "call_instance_result.json",
			func(top map[string]any) { sceneInst(top)["finishStatus"] = "weird" }, "unknown", "weird"},
		{"missing finishStatus maps to unknown", "call_instance_result.json",
			func(top map[string]any) { delete(sceneInst(top), "finishStatus") }, "unknown", ""},
		{"last documented finishStatus is blacklisted", "call_instance_result.json",
			func(top map[string]any) { sceneInst(top)["finishStatus"] = 11 }, "blacklisted", "11"},
		{"unknown task status maps to unknown", "job_info_result.json",
			func(top map[string]any) { inner(top)["status"] = 99 }, "unknown", "99"},
		{"terminated task status", "job_info_result.json",
			func(top map[string]any) { inner(top)["status"] = 6 }, "terminated", "6"},
		{"sms arrears task status", "job_info_result.json",
			func(top map[string]any) { inner(top)["status"] = "10" }, "sms_arrears", "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := parseWebhook(testAccount(), edit(t, sample(t, tt.file), tt.change), parseNow)
			if err != nil {
				t.Fatal(err)
			}
			checkSchema(t, outs[0])
			switch d := outs[0].Data.(type) {
			case *event.CallFinished:
				if d.Status != tt.wantStatus || d.VendorStatus != tt.wantVendorStatus || d.Answered {
					t.Errorf("status %q vendorStatus %q answered %v, want %q %q false", d.Status, d.VendorStatus, d.Answered, tt.wantStatus, tt.wantVendorStatus)
				}
			case *event.TaskStatus:
				wantFinished := tt.wantStatus == "terminated"
				if d.Status != tt.wantStatus || d.VendorStatus != tt.wantVendorStatus || d.Finished != wantFinished {
					t.Errorf("status %q vendorStatus %q finished %v, want %q %q %v", d.Status, d.VendorStatus, d.Finished, tt.wantStatus, tt.wantVendorStatus, wantFinished)
				}
			}
		})
	}
}

func TestParseWebhookToleratesIDTypes(t *testing.T) {
	tests := []struct {
		name   string
		change func(si map[string]any)
		check  func(t *testing.T, d *event.CallFinished, o event.Out)
	}{
		{"string ids read like numbers", func(si map[string]any) {
			si["callInstanceId"], si["callJobId"], si["companyId"], si["customerId"] = "1", " 1 ", "1", "1"
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.CallID != "1" || *d.TaskID != "1" || *d.CompanyID != "1" || *d.Customer.ID != "1" || o.Key != "1" {
				t.Errorf("ids %q %q %q %q key %q", d.CallID, *d.TaskID, *d.CompanyID, *d.Customer.ID, o.Key)
			}
		}},
		{"exponent ids become plain decimals", func(si map[string]any) {
			si["callInstanceId"] = json.Number("1.5404e9")
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.CallID != "1540400000" || o.Subject != "call/1540400000" {
				t.Errorf("callId %q subject %q", d.CallID, o.Subject)
			}
		}},
		{"null ids become null", func(si map[string]any) {
			si["callJobId"], si["companyId"], si["customerId"] = nil, nil, nil
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.TaskID != nil || d.CompanyID != nil || d.Customer.ID != nil || o.Key != "1" {
				t.Errorf("taskId %v companyId %v customer.id %v key %q", d.TaskID, d.CompanyID, d.Customer.ID, o.Key)
			}
		}},
		{"fields of an odd type read as absent", func(si map[string]any) {
			si["callJobId"], si["duration"], si["hangUp"], si["endTime"] = map[string]any{}, []any{1}, "x", 5
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.TaskID != nil || d.DurationSeconds != 0 || d.HangupBy != nil || o.Key != "1" {
				t.Errorf("taskId %v duration %d hangupBy %v key %q", d.TaskID, d.DurationSeconds, d.HangupBy, o.Key)
			}
			if !o.Time.Equal(time.UnixMilli(5)) {
				t.Errorf("epoch-millisecond endTime read as %v", o.Time)
			}
		}},
		{"negative quantities read as zero", func(si map[string]any) {
			si["duration"], si["chatRound"] = -5, "-1"
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.DurationSeconds != 0 || d.ChatRounds != 0 {
				t.Errorf("duration %d chatRounds %d", d.DurationSeconds, d.ChatRounds)
			}
		}},
		{"unknown hangUp is null and unparsable times are null", func(si map[string]any) {
			si["hangUp"], si["startTime"], si["endTime"] = 2, "yesterday", nil
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.HangupBy != nil || d.StartedAt != nil || d.EndedAt != nil || !o.Time.Equal(parseNow) {
				t.Errorf("hangupBy %v startedAt %v endedAt %v time %v", d.HangupBy, d.StartedAt, d.EndedAt, o.Time)
			}
		}},
		{"corpName that is not JSON means the first attempt", func(si map[string]any) {
			si["corpName"] = "测试公司"
		}, func(t *testing.T, d *event.CallFinished, o event.Out) {
			if d.Attempt != 1 {
				t.Errorf("attempt %d", d.Attempt)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(t, sample(t, "call_instance_result.json"), func(top map[string]any) { tt.change(sceneInst(top)) })
			outs, err := parseWebhook(testAccount(), body, parseNow)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, outs[0].Data.(*event.CallFinished), outs[0])
			checkSchema(t, outs[0])
		})
	}
}

// Member names are matched as the vendor documents them; a repeated name is
// ambiguous and the body unparseable (it goes to the dead-letter topic).
func TestParseWebhookMatchesNamesExactly(t *testing.T) {
	if _, err := parseWebhook(testAccount(), []byte(`{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"sceneInstance":{
		"callInstanceId":1,"callInstanceId":2}}}}`), parseNow); !errors.Is(err, platform.ErrUnparseable) {
		t.Errorf("repeated name: err = %v, want ErrUnparseable", err)
	}
	body := []byte(`{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"sceneInstance":{
		"callInstanceId":2,"CallJobId":9,"finishStatus":0,"FinishStatus":7}}}}`)
	outs, err := parseWebhook(testAccount(), body, parseNow)
	if err != nil {
		t.Fatal(err)
	}
	d := outs[0].Data.(*event.CallFinished)
	if d.CallID != "2" || d.TaskID != nil || d.Status != event.StatusAnswered {
		t.Errorf("callId %q taskId %v status %q: want 2, null (CallJobId is not callJobId), answered", d.CallID, d.TaskID, d.Status)
	}
	if _, err := parseWebhook(testAccount(), []byte(`{"Data":{"dataType":"JOB_INFO_RESULT","data":{"callJobId":1}}}`), parseNow); err == nil {
		t.Error("a body whose only member is Data was read as data")
	}
}

func TestParseWebhookIntentChangeYieldsOneEventPerCall(t *testing.T) {
	body := []byte(`{"code":200,"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"taskResult":[
		{"companyId":241,"sceneInstanceId":2016,"resultName":"客户意向等级","resultValue":"B"},
		{"companyId":241,"sceneInstanceId":"2016","resultName":"客户意向等级","resultValue":"B"},
		{"companyId":241,"sceneInstanceId":2017,"resultName":"客户关注点","resultValue":"位置"},
		{"companyId":241,"sceneInstanceId":2018,"resultName":"客户意向等级","resultValue":"E级(无意向)"}]}}}`)
	outs, err := parseWebhook(testAccount(), body, parseNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		d := o.Data.(*event.IntentChanged)
		got = append(got, o.Key+"="+deref(d.IntentLevel))
		checkSchema(t, o)
	}
	if want := []string{"2016=B", "2018=E"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if outs[0].ID == outs[1].ID {
		t.Error("two calls share an event id")
	}
}

func TestParseWebhookUsesAccountTimeZone(t *testing.T) {
	acct := testAccount()
	acct.Location = time.FixedZone("X", -3*3600)
	outs, err := parseWebhook(acct, sample(t, "call_instance_result.json"), parseNow)
	if err != nil {
		t.Fatal(err)
	}
	d := outs[0].Data.(*event.CallFinished)
	if *d.StartedAt != "2019-01-12T16:09:32-03:00" || *d.EndedAt != "2019-01-12T16:10:11-03:00" {
		t.Errorf("startedAt %s endedAt %s", *d.StartedAt, *d.EndedAt)
	}
}

func TestIntentLevel(t *testing.T) {
	tests := []struct {
		alias, value string
		want         *string
	}{
		{"C", "C级(很少)", p("C")},
		{"", "C级(很少)", p("C")},
		{"b", "", p("B")},
		{"G", "D级(较弱)", p("D")},
		{"", "  A级(较强)", p("A")},
		{"", "F", p("F")},
		{"", "Bad", nil},
		{"", "G级", nil},
		{"", "级", nil},
		{"", "", nil},
		{"AB", "有意向", nil},
	}
	for _, tt := range tests {
		level, label := intent(loose.Scalar(tt.alias), loose.Scalar(tt.value), true)
		if !reflect.DeepEqual(level, tt.want) {
			t.Errorf("alias %q value %q: level %v, want %v", tt.alias, tt.value, deref(level), deref(tt.want))
		}
		if !reflect.DeepEqual(label, event.Str(tt.value)) {
			t.Errorf("alias %q value %q: label %v", tt.alias, tt.value, deref(label))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestParseWebhookRejectsWhatCannotBeAnEvent(t *testing.T) {
	tests := []struct {
		name, body, reason string
	}{
		{"garbage", `not json at all`, "not a JSON object"},
		{"empty body", ``, "not a JSON object"},
		{"array body", `[1,2]`, "not a JSON object"},
		{"trailing garbage", `{"data":{}} x`, "not a JSON object"},
		{"no data", `{"code":200}`, "no data object"},
		{"null data", `{"code":200,"data":null}`, "no data object"},
		{"unknown dataType", `{"code":200,"data":{"dataType":"SMS_RESULT","data":{"x":1}}}`, `unknown dataType "SMS_RESULT"`},
		{"dataType not a string", `{"code":200,"data":{"dataType":7,"data":{}}}`, "dataType is not a string"},
		{"dataType without data", `{"code":200,"data":{"dataType":"JOB_INFO_RESULT"}}`, "JOB_INFO_RESULT has no data object"},
		{"dataType with array data", `{"code":200,"data":{"dataType":"JOB_INFO_RESULT","data":[]}}`, "no data object"},
		{"call result with neither record nor results", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"jobFinished":true}}}`, "without sceneInstance or taskResult"},
		{"legacy shape without a record", `{"data":{"foo":1}}`, "no dataType and no sceneInstance"},
		{"call without call id", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"sceneInstance":{"callJobId":1}}}}`, "no call id"},
		{"call record not an object", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"sceneInstance":"1"}}}`, "no call id"},
		{"inbound without record", `{"data":{"dataType":"INBOUND_CALL_INSTANCE_RESULT","data":{"taskResult":[]}}}`, "without sceneInstance"},
		{"inbound without call id", `{"data":{"dataType":"INBOUND_CALL_INSTANCE_RESULT","data":{"sceneInstance":{"inboundInstanceId":null}}}}`, "no call id"},
		{"job without task id", `{"data":{"dataType":"JOB_INFO_RESULT","data":{"status":2,"callJobId":null}}}`, "no callJobId"},
		{"intent change without intent entry", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"taskResult":[{"sceneInstanceId":1,"resultName":"客户标签"}]}}}`, "no 客户意向等级 entry"},
		{"intent change without call id", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"taskResult":[{"resultName":"客户意向等级","resultValue":"B"}]}}}`, "no sceneInstanceId"},
		{"intent change with results not a list", `{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"taskResult":"B"}}}`, "no 客户意向等级 entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := Vendor{}.ParseWebhook(testAccount(), []byte(tt.body))
			if !errors.Is(err, platform.ErrUnparseable) {
				t.Fatalf("err = %v (events %d), want ErrUnparseable", err, len(outs))
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want reason %q", err, tt.reason)
			}
		})
	}
}

// Ids follow the record, not the body: every path that yields the same vendor record
// yields the same id (DESIGN, "Ids are deterministic and follow the record").
func TestParseWebhookIDs(t *testing.T) {
	call := sample(t, "call_instance_result.json")
	id := func(t *testing.T, acct *platform.Account, body []byte) string {
		t.Helper()
		outs, err := parseWebhook(acct, body, parseNow)
		if err != nil {
			t.Fatal(err)
		}
		return outs[0].ID
	}
	base := id(t, testAccount(), call)
	var compact bytes.Buffer
	if err := json.Compact(&compact, call); err != nil {
		t.Fatal(err)
	}
	// The older shape without dataType: data is the record itself.
	unwrapped := edit(t, call, func(top map[string]any) { top["data"] = inner(top) })
	job := sample(t, "job_info_result.json")
	jobWith := func(change func(rec map[string]any)) []byte {
		return edit(t, job, func(top map[string]any) { change(inner(top)) })
	}
	intentTo := func(value string) []byte {
		return edit(t, sample(t, "intent_level_changed.json"), func(top map[string]any) {
			inner(top)["taskResult"].([]any)[0].(map[string]any)["resultValue"] = value
		})
	}
	other := testAccount()
	other.Name = "byai-other"
	tests := []struct {
		name string
		acct *platform.Account
		a, b []byte
		same bool
	}{
		{"a redelivery keeps the id", testAccount(), call, call, true},
		{"the record without the dataType wrapper keeps the id", testAccount(), call, unwrapped, true},
		{"a reformatted body keeps the id", testAccount(), call, compact.Bytes(), true},
		{"a new dateTime and sign keep the id", testAccount(), call, edit(t, call, func(top map[string]any) {
			inner(top)["dateTime"] = "Fri, 17 Oct 2014 07:13:48 GMT"
			inner(top)["sign"] = "c2lnbg=="
		}), true},
		{"a new envelope message keeps the id", testAccount(), call, edit(t, call, func(top map[string]any) { top["resultMsg"] = "ok" }), true},
		{"other values of the same call keep the id", testAccount(), call, edit(t, call, func(top map[string]any) {
			sceneInst(top)["duration"] = 36
			delete(sceneInst(top), "endTime")
			inner(top)["phoneLog"].(map[string]any)["phoneLogs"] = []any{}
		}), true},
		{"the call id written as a string keeps the id", testAccount(), call, edit(t, call, func(top map[string]any) { sceneInst(top)["callInstanceId"] = " 1 " }), true},
		{"another call changes the id", testAccount(), call, edit(t, call, func(top map[string]any) { sceneInst(top)["callInstanceId"] = 2 }), false},
		{"another account changes the id", other, call, call, false},
		{"a redelivered status change keeps the id", testAccount(), job, job, true},
		{"two status changes of one task give two ids", testAccount(), job, jobWith(func(rec map[string]any) {
			rec["status"] = 4
			rec["gmtModified"] = "2018-04-25 11:20:00"
		}), false},
		{"the same status again later gives another id", testAccount(), job, jobWith(func(rec map[string]any) { rec["gmtModified"] = "2018-04-25 12:00:00" }), false},
		{"another value of the same change keeps the id", testAccount(), job, jobWith(func(rec map[string]any) { rec["remark"] = "x" }), true},
		{"two intent levels of one call give two ids", testAccount(), intentTo("B"), intentTo("C级(很少)"), false},
		{"the same level written two ways keeps the id", testAccount(), intentTo("B"), intentTo("B级(一般)"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := id(t, testAccount(), tt.a), id(t, tt.acct, tt.b)
			if (a == b) != tt.same {
				t.Errorf("ids %s and %s: same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
	if base != id(t, testAccount(), unwrapped) {
		t.Error("the two call shapes differ")
	}

	t.Run("events of different kinds never share an id", func(t *testing.T) {
		seen := map[string]string{}
		for _, name := range []string{"call_instance_result.json", "inbound_call_instance_result.json", "intent_level_changed.json", "job_info_result.json"} {
			got := id(t, testAccount(), sample(t, name))
			if prev, dup := seen[got]; dup {
				t.Errorf("%s and %s share id %s", prev, name, got)
			}
			seen[got] = name
		}
	})
	t.Run("an inbound call never shares an outbound call's id", func(t *testing.T) {
		in := edit(t, sample(t, "inbound_call_instance_result.json"), func(top map[string]any) { sceneInst(top)["inboundInstanceId"] = 1 })
		if id(t, testAccount(), in) == base {
			t.Error("inbound call 1 has outbound call 1's id")
		}
	})
}

// The query APIs answer the same call in their own shapes (ObtainTask.md): the list of
// finished calls (queryDoneTaskPhones) names it callInstanceId, the call detail
// (phoneLogInfo) answers the record as the older webhook carries it. Reconciliation
// derives the id with CallFinishedID; it must be the webhook's.
func TestWebhookAndQueryAPIGiveOneID(t *testing.T) {
	acct := testAccount()
	webhook, err := parseWebhook(acct, sample(t, "call_instance_result.json"), parseNow)
	if err != nil {
		t.Fatal(err)
	}
	want := webhook[0].ID
	tests := []struct {
		name, answer string
		callID       func(data jsondoc.Value) loose.Scalar
	}{
		{"finished-call list, id a number",
			`{"code":200,"data":{"pageNum":1,"list":[{"callInstanceId":1,"callJobId":1,"finishStatus":0,"duration":"27秒","startTime":"2017-10-25 11:32:54"}]}}`,
			func(d jsondoc.Value) loose.Scalar {
				for e := range d.Get("list").Elems {
					return loose.Get(e, "callInstanceId")
				}
				return ""
			}},
		{"call detail, id a string",
			`{"code":200,"data":{"phoneLog":{"phoneLogs":[]},"sceneInstance":{"callInstanceId":"1","callJobId":1,"duration":87}}}`,
			func(d jsondoc.Value) loose.Scalar { return loose.Get(d.Get("sceneInstance"), "callInstanceId") }},
		{"call detail, id in exponent form",
			`{"code":200,"data":{"sceneInstance":{"callInstanceId":1.0e0}}}`,
			func(d jsondoc.Value) loose.Scalar { return loose.Get(d.Get("sceneInstance"), "callInstanceId") }},
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
	t.Run("the call detail answer parses as the webhook does", func(t *testing.T) {
		detail := edit(t, sample(t, "call_instance_result.json"), func(top map[string]any) {
			top["data"] = inner(top)
			delete(top["data"].(map[string]any), "sign")
		})
		outs, err := parseWebhook(acct, detail, parseNow)
		if err != nil || outs[0].ID != want {
			t.Errorf("detail: %v, %v; want id %s", outs, err, want)
		}
	})
}

func TestLocate(t *testing.T) {
	tests := []struct {
		body, dataType, rec, err string
	}{
		{`{"data":{"dataType":"X","data":{"a":1}}}`, "X", `{"a":1}`, ""},
		{`{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"a":1}}}`, DataTypeCall, `{"a":1}`, ""},
		{`{"data":{"dataType":"INBOUND_CALL_INSTANCE_RESULT","data":{"a":1}}}`, DataTypeInboundCall, `{"a":1}`, ""},
		{`{"data":{"dataType":"JOB_INFO_RESULT","data":{"a":1}}}`, DataTypeJob, `{"a":1}`, ""},
		{`{"data":{"dataType":"JOB_INFO_\u0052ESULT","data":{"a":1}}}`, DataTypeJob, `{"a":1}`, ""},
		{`{"data":{"dataType":"JOB_INFO_RESULT ","data":{"a":1}}}`, "JOB_INFO_RESULT ", `{"a":1}`, ""},
		{`{"data":{"a":1}}`, "", `{"a":1}`, ""},
		{`{"data":{"dataType":null,"data":{"a":1}}}`, "", `{"dataType":null,"data":{"a":1}}`, ""},
		{`{"Data":{"dataType":"X","data":{"a":1}},"data":{"dataType":"Y","data":{"b":2}}}`, "Y", `{"b":2}`, ""},
		{`{"data":{"dataType":"X","data":{"a":1},"DATA":{"b":2}}}`, "X", `{"a":1}`, ""},
		{`{"d\u0061ta":{"dataType":"\u0058","data" : {"a":1} }}`, "X", `{"a":1}`, ""},
		{`{"Data":{"dataType":"X","data":{"a":1}}}`, "", ``, "no data object"},
		{`[{"data":{}}]`, "", ``, "not a JSON object"},
		{`{"data":{"dataType":7,"data":{}}}`, "", ``, "dataType is not a string"},
		{`{"data":{"dataType":"X","data":[]}}`, "", ``, "X has no data object"},
	}
	for _, tt := range tests {
		d, err := jsondoc.Parse([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		dataType, rec, err := locate(d.Root())
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.body, err, tt.err)
			}
			continue
		}
		if err != nil || dataType != tt.dataType || string(rec.Raw()) != tt.rec {
			t.Errorf("%s: dataType %q record %s error %v, want %q %s", tt.body, dataType, rec.Raw(), err, tt.dataType, tt.rec)
		}
	}
}

// signed returns the call sample with sign and dateTime set.
func signed(t testing.TB, acct *platform.Account, dateTime, sign string) []byte {
	t.Helper()
	if sign == "" {
		sign = Sign(acct.AppKey, acct.AppSecret, dateTime)
	}
	return edit(t, sample(t, "call_instance_result.json"), func(top map[string]any) {
		inner(top)["dateTime"] = dateTime
		inner(top)["sign"] = sign
	})
}

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2014, 10, 16, 7, 13, 48, 0, time.UTC)
	acct := testAccount()
	acct.Settings = Settings{CompanyID: "151", VerifyCallbackSign: true}
	legacy := edit(t, readFile(t, "testdata/legacy_call.json"), func(top map[string]any) {
		d := top["data"].(map[string]any)
		d["dateTime"] = "Thu, 16 Oct 2014 07:13:48 GMT"
		d["sign"] = Sign(acct.AppKey, acct.AppSecret, "Thu, 16 Oct 2014 07:13:48 GMT")
	})
	tests := []struct {
		name    string
		acct    *platform.Account
		body    []byte
		wantErr string // "" means accepted
	}{
		{"disabled accepts anything", testAccount(), []byte("garbage"), ""},
		{"RFC 1123 date with the right sign", acct, signed(t, acct, "Thu, 16 Oct 2014 07:13:48 GMT", ""), ""},
		{"Java date with the right sign", acct, signed(t, acct, "Thu Oct 16 07:13:48 GMT 2014", ""), ""},
		{"Java date in China Standard Time", acct, signed(t, acct, "Thu Oct 16 15:13:48 CST 2014", ""), ""},
		{"numeric offset", acct, signed(t, acct, "Thu, 16 Oct 2014 15:13:48 +0800", ""), ""},
		{"14 minutes old", acct, signed(t, acct, "Thu, 16 Oct 2014 06:59:48 GMT", ""), ""},
		{"legacy shape carries sign in data", acct, legacy, ""},
		{"wrong sign", acct, signed(t, acct, "Thu, 16 Oct 2014 07:13:48 GMT", "d3Jvbmc="), "sign does not match"},
		{"sign for another dateTime", acct, edit(t, signed(t, acct, "Thu, 16 Oct 2014 07:13:48 GMT", ""), func(top map[string]any) {
			inner(top)["dateTime"] = "Thu, 16 Oct 2014 07:13:49 GMT"
		}), "sign does not match"},
		{"stale", acct, signed(t, acct, "Thu, 16 Oct 2014 06:58:47 GMT", ""), "old"},
		{"too far in the future", acct, signed(t, acct, "Thu, 16 Oct 2014 07:28:49 GMT", ""), "in the future"},
		{"missing sign", acct, sample(t, "call_instance_result.json"), "no sign"},
		{"missing dateTime", acct, edit(t, signed(t, acct, "x", ""), func(top map[string]any) { delete(inner(top), "dateTime") }), "no dateTime"},
		{"unparseable dateTime", acct, signed(t, acct, "yesterday", ""), "not RFC 1123"},
		{"unsupported zone", acct, signed(t, acct, "Thu Oct 16 07:13:48 PST 2014", ""), "unsupported time zone"},
		{"garbage body", acct, []byte("garbage"), "cannot read sign"},
		{"no secret configured", &platform.Account{Name: "x", AppKey: "k", Settings: Settings{VerifyCallbackSign: true}}, signed(t, acct, "Thu, 16 Oct 2014 07:13:48 GMT", ""), "no app key or secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Vendor{}.VerifyWebhook(tt.acct, tt.body, now)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if errors.Is(err, platform.ErrUnparseable) {
				t.Errorf("err %v also reads as unparseable", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %q, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), acct.AppSecret) || strings.Contains(err.Error(), Sign(acct.AppKey, acct.AppSecret, "Thu, 16 Oct 2014 07:13:48 GMT")) {
				t.Errorf("err %q leaks a secret or the expected sign", err)
			}
		})
	}
}

func TestVendorIsRegistered(t *testing.T) {
	v, ok := platform.Lookup("byai")
	if !ok || v.Name() != "byai" {
		t.Fatalf("Lookup(byai) = %v, %v", v, ok)
	}
	if _, ok := v.NewClient(testAccount(), nil).(*client); !ok {
		t.Error("NewClient does not return the BYAI client")
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"call_instance_result.json", "inbound_call_instance_result.json", "intent_level_changed.json", "job_info_result.json"} {
		f.Add(sample(f, name))
	}
	f.Add(readFile(f, "testdata/legacy_call.json"))
	f.Add([]byte(`{"data":{"dataType":"CALL_INSTANCE_RESULT","data":{"taskResult":[{"sceneInstanceId":"1","resultName":"客户意向等级","resultValue":"A"}]}}}`))
	f.Add([]byte(`{"data":{"sceneInstance":{"callInstanceId":1e400,"properties":"{\"mobile\":\"[\"}"}}}`))
	acct := testAccount()
	verifying := testAccount()
	verifying.Settings = Settings{CompanyID: "151", VerifyCallbackSign: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = Vendor{}.VerifyWebhook(verifying, body, parseNow)
		outs, err := parseWebhook(acct, body, parseNow)
		if err != nil {
			if !errors.Is(err, platform.ErrUnparseable) {
				t.Fatalf("error %v does not wrap ErrUnparseable", err)
			}
			return
		}
		if len(outs) == 0 {
			t.Fatal("no events and no error")
		}
		for _, o := range outs {
			if o.ID == "" || o.Key == "" || o.Subject == "" || o.Topic == "" || o.Time.IsZero() {
				t.Fatalf("incomplete event %+v", o)
			}
			switch d := o.Data.(type) {
			case *event.CallFinished:
				if d.CallID == "" || d.Tags == nil || d.Concerns == nil || d.Transcript == nil {
					t.Fatalf("call without id or with null lists: %+v", d)
				}
			case *event.TaskStatus:
				if d.TaskID == "" {
					t.Fatal("task status without task id")
				}
			case *event.IntentChanged:
				if d.CallID == "" {
					t.Fatal("intent change without call id")
				}
			default:
				t.Fatalf("data is %T", o.Data)
			}
			checkSchema(t, o)
			// The publisher trusts RawUTF8 rather than check raw again.
			if rc, ok := o.Data.(event.RawCarrier); ok && o.RawUTF8 {
				if _, raw := rc.WithoutRaw(); !utf8.Valid(raw) {
					t.Fatalf("RawUTF8 set on raw %q", raw)
				}
			}
			// Every event publishes as valid UTF-8 JSON, privacy applied or not.
			for _, pub := range fuzzPublishers {
				ev, err := pub.Build(Name, "fuzz", o)
				if err != nil {
					t.Fatalf("event does not publish: %v", err)
				}
				if !utf8.Valid(ev.Data()) {
					t.Fatalf("event data %q is not UTF-8", ev.Data())
				}
			}
		}
	})
}

// fuzzPublishers build events as the bridge does (schema check on), plain and masked.
var fuzzPublishers = func() []*publish.Publisher {
	mask, _ := privacy.New(privacy.Mask, nil)
	return []*publish.Publisher{{Validate: true}, {Validate: true, Privacy: mask}}
}()
