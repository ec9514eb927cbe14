package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

func TestEveryEmbeddedSchemaCompilesAndItsIDIsURI(t *testing.T) {
	files, err := fs.Glob(FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range names {
		want = append(want, fileName(n))
	}
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Fatalf("embedded files %v, want exactly %v", files, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			doc := readSchema(t, name)
			if doc["$id"] != URI(name) {
				t.Errorf("$id = %v, want %s", doc["$id"], URI(name))
			}
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
			}
			if _, err := compile(name); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestURIIsTheAbsoluteSchemaID(t *testing.T) {
	if got, want := URI("call.finished"), "https://callbridge.dev/schemas/call.finished.v1.json"; got != want {
		t.Fatalf("URI = %q, want %q", got, want)
	}
}

func TestEveryPropertyHasTitleAndDescription(t *testing.T) {
	for _, name := range names {
		var walk func(path string, s map[string]any)
		walk = func(path string, s map[string]any) {
			props, _ := s["properties"].(map[string]any)
			for p, sub := range props {
				sub, _ := sub.(map[string]any)
				if sub["title"] == nil || sub["description"] == nil {
					t.Errorf("%s: %s/properties/%s has no title or description", name, path, p)
				}
				walk(path+"/properties/"+p, sub)
			}
			defs, _ := s["$defs"].(map[string]any)
			for d, sub := range defs {
				sub, _ := sub.(map[string]any)
				walk(path+"/$defs/"+d, sub)
			}
			for _, kw := range []string{"items", "additionalProperties"} {
				if sub, ok := s[kw].(map[string]any); ok {
					walk(path+"/"+kw, sub)
				}
			}
		}
		walk("", readSchema(t, name))
	}
}

func TestValidateRejectsUnknownSchemaName(t *testing.T) {
	err := Validate("call.started", []byte(`{}`))
	if err == nil {
		t.Fatal("want an error for an unknown schema")
	}
	var verr *Error
	if errors.As(err, &verr) {
		t.Fatalf("unknown schema reported as a validation error: %v", err)
	}
}

// commandCase is one command example; want lists the JSON pointers of the
// violations (nil: valid), msg a text the error message must contain.
type commandCase struct {
	name   string
	schema string
	data   string
	want   []string
	msg    string
}

var commandCases = []commandCase{
	// task.create
	{name: "full yiwise task is valid", schema: "task.create", data: `{
		"account": "yiwise-east", "name": "回访", "mode": "scheduled", "startAt": "2019-01-12T09:00:00+08:00",
		"dailyWindow": {"start": "09:00", "end": "20:00"}, "breakWindow": {"start": "12:00", "end": "13:30"},
		"callerIds": [348, "349"], "lineType": "landline", "concurrency": 10, "script": {"dialogFlowId": 2},
		"redial": {"enabled": true, "rules": [{"status": "no_answer", "times": 2, "intervalMinutes": 5}]},
		"remark": "api", "customers": [{"name": "张三", "phone": "13800000000", "properties": {"real_name": "张三"}}],
		"start": true, "vendorOptions": {"smsTemplateId": 1}}`},
	{name: "minimal byai task is valid", schema: "task.create", data: `{"account": "byai-main", "name": "t", "mode": "manual",
		"callerIds": ["1"], "lineType": "unfixed", "script": {"robotDefId": "1", "sceneDefId": 2, "sceneRecordId": "7"}}`},
	{name: "task without script and callerIds is rejected", schema: "task.create", data: `{"account": "a", "name": "t", "mode": "manual", "lineType": "mobile"}`,
		want: []string{""}, msg: "missing properties 'callerIds', 'script'"},
	{name: "task with an unknown mode is rejected", schema: "task.create", data: taskWith(`"mode": "auto"`), want: []string{"/mode"}, msg: "'manual', 'scheduled'"},
	{name: "task with an unknown line type is rejected", schema: "task.create", data: taskWith(`"lineType": "sim"`), want: []string{"/lineType"}},
	{name: "task with a typo in a property name is rejected", schema: "task.create", data: taskWith(`"nmae": "x"`), want: []string{""}, msg: "'nmae' not allowed"},
	{name: "task with a one-digit hour in its window is rejected", schema: "task.create", data: taskWith(`"dailyWindow": {"start": "9:00", "end": "20:00"}`), want: []string{"/dailyWindow/start"}},
	{name: "task with hour 24 in its window is rejected", schema: "task.create", data: taskWith(`"breakWindow": {"start": "12:00", "end": "24:00"}`), want: []string{"/breakWindow/end"}},
	{name: "task starting at a time without offset is rejected", schema: "task.create", data: taskWith(`"startAt": "2019-01-12T09:00:00"`), want: []string{"/startAt"}},
	{name: "task starting at a vendor-style time is rejected", schema: "task.create", data: taskWith(`"startAt": "2019-01-12 09:00:00"`), want: []string{"/startAt"}},
	{name: "task with concurrency 0 is rejected", schema: "task.create", data: taskWith(`"concurrency": 0`), want: []string{"/concurrency"}},
	{name: "task with concurrency 1001 is rejected", schema: "task.create", data: taskWith(`"concurrency": 1001`), want: []string{"/concurrency"}},
	{name: "task with no caller ids is rejected", schema: "task.create", data: taskWith(`"callerIds": []`), want: []string{"/callerIds"}},
	{name: "task with a non-digit caller id is rejected", schema: "task.create", data: taskWith(`"callerIds": ["line-1"]`), want: []string{"/callerIds/0"}},
	{name: "task with an incomplete byai script is rejected", schema: "task.create", data: taskWith(`"script": {"sceneDefId": 1}`), want: []string{"/script"}, msg: "missing property 'robotDefId', or missing property 'dialogFlowId'"},
	{name: "task with a bad customer phone is rejected", schema: "task.create", data: taskWith(`"customers": [{"name": "a", "phone": "138 0000 0000"}]`), want: []string{"/customers/0/phone"}},
	{name: "task with a numeric customer property is rejected", schema: "task.create", data: taskWith(`"customers": [{"name": "a", "phone": "13800000000", "properties": {"age": 15}}]`), want: []string{"/customers/0/properties/age"}},
	{name: "task with a redial rule on an unknown status is rejected", schema: "task.create", data: taskWith(`"redial": {"enabled": true, "rules": [{"status": "hangup", "times": 1, "intervalMinutes": 5}]}`), want: []string{"/redial/rules/0/status"}},
	{name: "task whose data is not an object is rejected", schema: "task.create", data: `"create"`, want: []string{""}},
	{name: "task that is not JSON is rejected", schema: "task.create", data: `{"account":`, want: []string{""}, msg: "not valid JSON"},

	// customer.import
	{name: "import with a numeric task id is valid", schema: "customer.import", data: `{"account": "a", "taskId": 10000, "customers": [{"name": "测试0", "phone": "18311110000"}]}`},
	{name: "import with a digit-string task id and + phone is valid", schema: "customer.import", data: `{"account": "a", "taskId": "10000", "customers": [{"name": "n", "phone": "+8618311110000", "properties": {"k": "v"}}]}`},
	{name: "import with a non-digit task id is rejected", schema: "customer.import", data: importWith(`"taskId": "12a"`), want: []string{"/taskId"}},
	{name: "import with a negative task id is rejected", schema: "customer.import", data: importWith(`"taskId": -1`), want: []string{"/taskId"}},
	{name: "import with a fractional task id is rejected", schema: "customer.import", data: importWith(`"taskId": 1.5`), want: []string{"/taskId"}},
	{name: "import with a boolean task id is rejected", schema: "customer.import", data: importWith(`"taskId": true`), want: []string{"/taskId"}},
	{name: "import without customers is rejected", schema: "customer.import", data: `{"account": "a", "taskId": 1}`, want: []string{""}, msg: "missing property 'customers'"},
	{name: "import of zero customers is rejected", schema: "customer.import", data: importWith(`"customers": []`), want: []string{"/customers"}},
	{name: "import of a 4-digit phone is rejected", schema: "customer.import", data: importWith(`"customers": [{"name": "n", "phone": "1234"}]`), want: []string{"/customers/0/phone"}},
	{name: "import of a 21-digit phone is rejected", schema: "customer.import", data: importWith(`"customers": [{"name": "n", "phone": "123456789012345678901"}]`), want: []string{"/customers/0/phone"}},
	{name: "import of a numeric phone is rejected", schema: "customer.import", data: importWith(`"customers": [{"name": "n", "phone": 13800000000}]`), want: []string{"/customers/0/phone"}},
	{name: "import of a customer without name is rejected", schema: "customer.import", data: importWith(`"customers": [{"phone": "13800000000"}]`), want: []string{"/customers/0"}},
	{name: "import of a customer with a typo is rejected", schema: "customer.import", data: importWith(`"customers": [{"name": "n", "mobile": "13800000000"}]`), want: []string{"/customers/0"}, msg: "'mobile' not allowed"},

	// call.single
	{name: "byai single call is valid", schema: "call.single", data: `{"account": "byai-main", "phone": "13886871111", "name": "张三",
		"variables": {"userName": "张三"}, "script": {"robotDefId": 230, "sceneDefId": 255, "sceneRecordId": 256}, "vendorOptions": {}}`},
	{name: "single call without script is rejected", schema: "call.single", data: `{"account": "a", "phone": "13886871111"}`, want: []string{""}, msg: "missing property 'script'"},
	{name: "single call without phone is rejected", schema: "call.single", data: `{"account": "a", "script": {"dialogFlowId": 1}}`, want: []string{""}, msg: "missing property 'phone'"},
	{name: "single call to a dashed phone is rejected", schema: "call.single", data: callWith(`"phone": "138-8687-1111"`), want: []string{"/phone"}},
	{name: "single call with a numeric variable is rejected", schema: "call.single", data: callWith(`"variables": {"age": 15}`), want: []string{"/variables/age"}},
	{name: "single call with an unknown script id is rejected", schema: "call.single", data: callWith(`"script": {"dialogFlowId": 1, "flowId": 2}`), want: []string{"/script"}},
	{name: "yiwise single call from a chosen line is valid", schema: "call.single", data: callWith(`"callerId": 348`)},
	{name: "single call from a line given as digits is valid", schema: "call.single", data: callWith(`"callerId": "349"`)},
	{name: "single call from a named line is rejected", schema: "call.single", data: callWith(`"callerId": "line-1"`), want: []string{"/callerId"}},
	{name: "single call from a negative line is rejected", schema: "call.single", data: callWith(`"callerId": -1`), want: []string{"/callerId"}},
	{name: "single call from several lines is rejected", schema: "call.single", data: callWith(`"callerId": [348]`), want: []string{"/callerId"}},
	{name: "single call with an empty account is rejected", schema: "call.single", data: callWith(`"account": ""`), want: []string{"/account"}, msg: "must not be empty"},

	// task.control
	{name: "start is valid", schema: "task.control", data: `{"account": "a", "taskId": "43", "action": "start"}`},
	{name: "pause with a numeric task id is valid", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "pause"}`},
	{name: "stop is valid", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "stop"}`},
	{name: "delete is valid", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "delete"}`},
	{name: "set_concurrency with concurrency is valid", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "set_concurrency", "concurrency": 5}`},
	{name: "set_concurrency without concurrency is rejected", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "set_concurrency"}`, want: []string{""}, msg: "missing property 'concurrency'"},
	{name: "set_concurrency to 0 is rejected", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "set_concurrency", "concurrency": 0}`, want: []string{"/concurrency"}},
	{name: "set_concurrency with a misspelt concurrency is rejected", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "set_concurrency", "concurency": 5}`, want: []string{""}, msg: "'concurency' not allowed"},
	{name: "an unknown action is rejected", schema: "task.control", data: `{"account": "a", "taskId": 43, "action": "resume"}`, want: []string{"/action"}},
	{name: "a non-digit task id is rejected", schema: "task.control", data: `{"account": "a", "taskId": "task-43", "action": "start"}`, want: []string{"/taskId"}},
	{name: "control without account is rejected", schema: "task.control", data: `{"taskId": 43, "action": "start"}`, want: []string{""}, msg: "missing property 'account'"},
}

func taskWith(field string) string {
	return `{"account": "a", "name": "t", "mode": "manual", "callerIds": [1], "lineType": "mobile", "script": {"dialogFlowId": 1}, ` + field + `}`
}

func importWith(field string) string {
	return `{"account": "a", "taskId": 1, "customers": [{"name": "n", "phone": "13800000000"}], ` + field + `}`
}

func callWith(field string) string {
	return `{"account": "a", "phone": "13800000000", "script": {"dialogFlowId": 1}, ` + field + `}`
}

func TestCommandValidation(t *testing.T) {
	for _, c := range commandCases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.schema, []byte(c.data))
			if c.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := pointers(t, err); !slices.Equal(got, c.want) {
				t.Fatalf("violations at %q, want %q (%v)", got, c.want, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("message %q does not contain %q", err, c.msg)
			}
		})
	}
}

// A command the schema accepts must decode into its Go type: the schema and the
// structs agree on names and types.
func TestValidCommandsDecodeIntoTheirGoTypes(t *testing.T) {
	types := map[string]func() any{
		"task.create":     func() any { return new(command.TaskCreate) },
		"customer.import": func() any { return new(command.CustomerImport) },
		"call.single":     func() any { return new(command.CallSingle) },
		"task.control":    func() any { return new(command.TaskControl) },
	}
	for _, c := range commandCases {
		if c.want != nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(c.data), types[c.schema]()); err != nil {
				t.Fatalf("valid %s does not decode: %v", c.schema, err)
			}
		})
	}
}

func TestGoCommandStructsValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema string
		v      any
	}{
		{"populated task.create", "task.create", command.TaskCreate{
			Account: "yiwise-east", Name: "t", Mode: "scheduled", StartAt: "2019-01-12T09:00:00+08:00",
			DailyWindow: &command.Window{Start: "09:00", End: "20:00"}, BreakWindow: &command.Window{Start: "12:00", End: "13:00"},
			CallerIDs: []command.ID{"348"}, LineType: "mobile", Concurrency: 3, Script: command.Script(`{"dialogFlowId":"2"}`),
			Redial: &command.Redial{Enabled: true, Rules: []command.RedialRule{{Status: event.StatusBusy, Times: 1, IntervalMinutes: 5}}},
			Remark: "r", Customers: []command.Customer{{Name: "n", Phone: "13800000000", Properties: map[string]string{"k": "v"}}}, Start: true,
		}},
		{"populated customer.import", "customer.import", command.CustomerImport{Account: "a", TaskID: "1", Customers: []command.Customer{{Name: "n", Phone: "+8613800000000"}}}},
		{"populated call.single", "call.single", command.CallSingle{Account: "a", Phone: "13800000000", Name: "n", Variables: map[string]string{"k": "v"},
			Script: command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"3"}`)}},
		{"call.single from a chosen line", "call.single", command.CallSingle{Account: "a", Phone: "13800000000", CallerID: "348",
			Script: command.Script(`{"dialogFlowId":"2"}`)}},
		{"set_concurrency task.control", "task.control", command.TaskControl{Account: "a", TaskID: "1", Action: command.ActionSetConcurrency, Concurrency: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Validate(c.schema, marshal(t, c.v)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func fullCallFinished() event.CallFinished {
	start, end := int64(0), int64(1800)
	return event.CallFinished{
		Vendor: "byai", Account: "byai-main", Direction: "outbound", CallID: "1", TaskID: event.Str("43"),
		TaskName: event.Str("回访"), CompanyID: event.Str("2000"),
		Customer:     event.Customer{ID: event.Str("7"), Name: event.Str("张三"), Phone: event.Str("13800000000")},
		CallerNumber: event.Str("02160000000"), Status: event.StatusAnswered, VendorStatus: "0", Answered: true,
		IntentLevel: event.Str("A"), IntentLabel: event.Str("A级(较强)"), Tags: []string{"高意向"}, Concerns: []string{"价格"},
		DurationSeconds: 42, ChatRounds: 5, StartedAt: event.Str("2019-01-12T16:09:32+08:00"),
		EndedAt: event.Str("2019-01-12T16:10:14.5+08:00"), HangupBy: event.Str("customer"),
		RecordingURL: event.Str("https://rec.example/1.wav"), CustomerRecordingURL: event.Str("https://rec.example/1-c.wav"),
		Transcript: []event.Utterance{{Speaker: "robot", Text: "您好", StartMs: &start, EndMs: &end}, {Speaker: "customer", Text: "你好"}},
		Attempt:    2, Raw: json.RawMessage(`{"sceneInstance": {"id": 1}}`),
	}
}

func fullTaskStatus() event.TaskStatus {
	return event.TaskStatus{Vendor: "yiwise", Account: "yiwise-east", TaskID: "139", TaskName: event.Str("t"),
		CompanyID: event.Str("1"), Status: event.TaskCompleted, VendorStatus: "COMPLETED", Finished: true, Raw: json.RawMessage(`{}`)}
}

func fullIntentChanged() event.IntentChanged {
	return event.IntentChanged{Vendor: "byai", Account: "byai-main", CallID: "1", CompanyID: event.Str("2000"),
		IntentLevel: event.Str("B"), IntentLabel: event.Str("B级"), ChangedBy: "manual", Raw: json.RawMessage(`{"taskResult": []}`)}
}

func fullSMSSent() event.SMSSent {
	return event.SMSSent{Vendor: "yiwise", Account: "yiwise-east", CallID: "53780", TaskID: event.Str("2454"),
		TaskName: event.Str("wokrtest04240009"), CompanyID: event.Str("916"),
		Customer: event.Customer{ID: event.Str("7180758"), Name: event.Str("漂亮小姐姐"), Phone: event.Str("18326042077")},
		Messages: []event.SMS{{TemplateID: event.Str("152"), TemplateName: event.Str("lalala"), Signature: event.Str("一知智能T1"),
			Type: event.Str("NOTICE"), Text: "【一知智能T1】漂亮小姐姐 你好，很高兴认识你"}},
		Raw: json.RawMessage(`{"msgList": []}`)}
}

func failedResult() command.Result {
	code := 412
	return command.Result{CommandID: "c1", CommandType: "task.create", Account: "byai-main", Vendor: "byai", Outcome: command.Failed,
		TaskID: "67", Imported: &command.Imported{Accepted: 2, Rejected: 1},
		Error: &command.Error{Code: command.ErrVendorRejected, Message: "任务不存在", VendorCode: &code}, Attempts: 1, VendorRequestIDs: []string{"RKXNIQAF"}}
}

func TestGoEventStructsValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema string
		v      any
	}{
		{"fully populated call.finished", "call.finished", fullCallFinished()},
		{"minimal call.finished", "call.finished", event.CallFinished{Vendor: "yiwise", Account: "y", Direction: "inbound", CallID: "1", Status: event.StatusUnknown}},
		{"call.finished in UTC", "call.finished", event.CallFinished{Vendor: "yiwise", Account: "y", Direction: "outbound", CallID: "1", Status: event.StatusBusy, StartedAt: event.Str("2019-01-12T08:09:32Z")}},
		{"fully populated task.status", "task.status", fullTaskStatus()},
		{"minimal task.status", "task.status", event.TaskStatus{Vendor: "byai", Account: "b", TaskID: "1", Status: event.TaskUnknown}},
		{"fully populated intent.changed", "intent.changed", fullIntentChanged()},
		{"minimal intent.changed", "intent.changed", event.IntentChanged{Vendor: "byai", Account: "b", CallID: "1", ChangedBy: "manual"}},
		{"fully populated sms.sent", "sms.sent", fullSMSSent()},
		{"minimal sms.sent", "sms.sent", event.SMSSent{Vendor: "yiwise", Account: "y", CallID: "1", Messages: []event.SMS{}}},
		{"fully populated failed result", "command.result", failedResult()},
		{"minimal failed result", "command.result", command.Result{CommandID: "c", CommandType: "call.single", Outcome: command.Failed,
			Error: &command.Error{Code: command.ErrInvalidCommand, Message: "call.single: (root): missing property 'script'"}}},
		{"succeeded result", "command.result", command.Result{CommandID: "c", CommandType: "call.single", Account: "b", Vendor: "byai",
			Outcome: command.Succeeded, CallID: "9", Attempts: 1, VendorRequestIDs: []string{}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Validate(c.schema, marshal(t, c.v)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGoEventStructsWithBadValuesFail(t *testing.T) {
	call := func(f func(*event.CallFinished)) any { v := fullCallFinished(); f(&v); return v }
	task := func(f func(*event.TaskStatus)) any { v := fullTaskStatus(); f(&v); return v }
	intent := func(f func(*event.IntentChanged)) any { v := fullIntentChanged(); f(&v); return v }
	result := func(f func(*command.Result)) any { v := failedResult(); f(&v); return v }
	for _, c := range []struct {
		name   string
		schema string
		v      any
		want   string
	}{
		{"unknown call status", "call.finished", call(func(v *event.CallFinished) { v.Status = "hung_up" }), "/status"},
		{"unknown direction", "call.finished", call(func(v *event.CallFinished) { v.Direction = "outgoing" }), "/direction"},
		{"intent level G", "call.finished", call(func(v *event.CallFinished) { v.IntentLevel = event.Str("G") }), "/intentLevel"},
		{"hangup by system", "call.finished", call(func(v *event.CallFinished) { v.HangupBy = event.Str("system") }), "/hangupBy"},
		{"unknown speaker", "call.finished", call(func(v *event.CallFinished) { v.Transcript[1].Speaker = "agent" }), "/transcript/1/speaker"},
		{"time without offset", "call.finished", call(func(v *event.CallFinished) { v.StartedAt = event.Str("2019-01-12T16:09:32") }), "/startedAt"},
		{"vendor-style time", "call.finished", call(func(v *event.CallFinished) { v.EndedAt = event.Str("2019-01-12 16:09:32") }), "/endedAt"},
		{"empty call id", "call.finished", call(func(v *event.CallFinished) { v.CallID = "" }), "/callId"},
		{"raw that is not an object", "call.finished", call(func(v *event.CallFinished) { v.Raw = json.RawMessage(`"x"`) }), "/raw"},
		{"unknown task status", "task.status", task(func(v *event.TaskStatus) { v.Status = "done" }), "/status"},
		{"vendor that is not a registered name", "task.status", task(func(v *event.TaskStatus) { v.Vendor = "Acme Corp" }), "/vendor"},
		{"intent changed by robot", "intent.changed", intent(func(v *event.IntentChanged) { v.ChangedBy = "robot" }), "/changedBy"},
		{"intent level lower-case", "intent.changed", intent(func(v *event.IntentChanged) { v.IntentLevel = event.Str("a") }), "/intentLevel"},
		{"unknown outcome", "command.result", result(func(v *command.Result) { v.Outcome, v.Error = "ok", nil }), "/outcome"},
		{"unknown error code", "command.result", result(func(v *command.Result) { v.Error.Code = "timeout" }), "/error/code"},
		{"unknown command type", "command.result", result(func(v *command.Result) { v.CommandType = "callbridge.task.create" }), "/commandType"},
		{"failed result without error", "command.result", result(func(v *command.Result) { v.Error = nil }), ""},
		{"succeeded result with error", "command.result", result(func(v *command.Result) { v.Outcome = command.Succeeded }), "/error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.schema, marshal(t, c.v))
			if got := pointers(t, err); !slices.Equal(got, []string{c.want}) {
				t.Fatalf("violations at %q, want [%q] (%v)", got, c.want, err)
			}
		})
	}
}

func TestEventDataWithAnUnknownFieldFails(t *testing.T) {
	for name, v := range map[string]any{
		"call.finished":  fullCallFinished(),
		"task.status":    fullTaskStatus(),
		"intent.changed": fullIntentChanged(),
		"sms.sent":       fullSMSSent(),
		"command.result": failedResult(),
	} {
		var m map[string]any
		if err := json.Unmarshal(marshal(t, v), &m); err != nil {
			t.Fatal(err)
		}
		m["callid"] = "1"
		err := Validate(name, marshal(t, m))
		if got := pointers(t, err); !slices.Equal(got, []string{""}) || !strings.Contains(err.Error(), "'callid' not allowed") {
			t.Errorf("%s: drift not reported: %v", name, err)
		}
	}
}

func TestErrorMessageListsEveryViolationWithoutEchoingValues(t *testing.T) {
	err := Validate("customer.import", []byte(`{"account": "", "taskId": "x1", "customers": [{"name": "n", "phone": "1380000000x"}], "extra": 1}`))
	want := "customer.import: (root): additional properties 'extra' not allowed; /account: must not be empty; " +
		`/customers/0/phone: must match ^\+?[0-9]{5,20}$; /taskId: must match ^[0-9]{1,19}$`
	if err == nil || err.Error() != want {
		t.Fatalf("message\n%v\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), "1380000000x") {
		t.Fatal("message repeats the phone number")
	}
}

func TestErrorMessageIsCappedForManyViolations(t *testing.T) {
	customers := make([]string, 50)
	for i := range customers {
		customers[i] = `{"name": "n", "phone": "bad"}`
	}
	err := Validate("customer.import", []byte(`{"account": "a", "taskId": 1, "customers": [`+strings.Join(customers, ",")+`]}`))
	var verr *Error
	if !errors.As(err, &verr) || len(verr.Violations) != 50 {
		t.Fatalf("want 50 violations, got %v", err)
	}
	if msg := err.Error(); strings.Count(msg, "must match") != maxListed || !strings.HasSuffix(msg, "; and 30 more") {
		t.Fatalf("message not capped: %s", msg)
	}
}

func TestErrorPointersEscapeSlashAndTilde(t *testing.T) {
	err := Validate("call.single", []byte(`{"account": "a", "phone": "13800000000", "script": {"dialogFlowId": 1}, "variables": {"a/b~c": 1}}`))
	if got := pointers(t, err); !slices.Equal(got, []string{"/variables/a~1b~0c"}) {
		t.Fatalf("pointers %q", got)
	}
}

func TestValidateIsSafeForConcurrentUse(t *testing.T) {
	c := newCache() // nothing compiled yet: the goroutines race to compile
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(commandCases))
	for range 8 {
		wg.Go(func() {
			for _, cc := range commandCases {
				err := c.validate(cc.schema, []byte(cc.data))
				if (err == nil) != (cc.want == nil) {
					errs <- fmt.Errorf("%s: got %v", cc.name, err)
				}
			}
			for _, name := range names {
				if err := c.validate(name, []byte(`[]`)); err == nil {
					errs <- fmt.Errorf("%s accepted an array", name)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkValidateCallFinished(b *testing.B) {
	data, err := json.Marshal(fullCallFinished())
	if err != nil {
		b.Fatal(err)
	}
	if err := Validate("call.finished", data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate("call.finished", data); err != nil {
			b.Fatal(err)
		}
	}
}

func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := FS.ReadFile(fileName(name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pointers returns the distinct pointers of err's violations; err must be an *Error.
func pointers(t *testing.T, err error) []string {
	t.Helper()
	var verr *Error
	if !errors.As(err, &verr) {
		t.Fatalf("want *Error, got %v", err)
	}
	var ps []string
	for _, v := range verr.Violations {
		ps = append(ps, v.Pointer)
	}
	return slices.Compact(ps)
}
