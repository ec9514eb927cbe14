package bridge_test

import (
	"fmt"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
)

func customers(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"name": fmt.Sprintf("客户%d", i), "phone": fmt.Sprintf("138%08d", i), "properties": map[string]string{"城市": "杭州"}}
	}
	return out
}

func byaiCreate(name string, n int, start bool) map[string]any {
	return map[string]any{
		"account": "byai-main", "name": name, "mode": "manual", "startAt": "2026-11-22T09:30:00+08:00",
		"dailyWindow": map[string]string{"start": "09:00", "end": "20:00"},
		"breakWindow": map[string]string{"start": "12:00", "end": "13:30"},
		"callerIds":   []any{"1", 2}, "lineType": "mobile", "concurrency": 2,
		"script": map[string]any{"robotDefId": "14", "sceneDefId": 34, "sceneRecordId": "34"},
		"remark": "spring", "customers": customers(n), "start": start,
	}
}

func yiwiseCreate(name string, n int, start bool) map[string]any {
	return map[string]any{
		"account": "yiwise-east", "name": name, "mode": "scheduled", "startAt": "2026-11-22T09:30:00+08:00",
		"dailyWindow": map[string]string{"start": "09:00", "end": "20:00"},
		"callerIds":   []any{"348"}, "lineType": "landline", "concurrency": 3,
		"script": map[string]any{"dialogFlowId": "136"}, "customers": customers(n), "start": start,
	}
}

// yiwiseRedial is a Yiwise task.create asking for redials, which createJob cannot set.
func yiwiseRedial() map[string]any {
	data := yiwiseCreate("task-redial", 1, true)
	data["redial"] = map[string]any{"enabled": true, "rules": []any{map[string]any{"status": "busy", "times": 2, "intervalMinutes": 30}}}
	return data
}

// asNum reads a JSON number (decoded with UseNumber) as a string, failing on strings:
// the vendors document these fields as numbers.
func asNum(t *testing.T, body map[string]any, key string) string {
	t.Helper()
	v, ok := body[key]
	if !ok {
		t.Fatalf("%s missing from %v", key, body)
	}
	n, ok := v.(interface{ String() string })
	if _, isStr := v.(string); isStr || !ok {
		t.Fatalf("%s = %#v, want a JSON number", key, v)
	}
	return n.String()
}

func TestTaskCreateSagaCallsEachVendorAsDocumented(t *testing.T) {
	env := newOutbound(t, nil)

	t.Run("byai", func(t *testing.T) {
		env.send(event.TopicTaskCreate, "cmd-byai-create", byaiCreate("春季回访", 150, true))
		ev, r := env.result("cmd-byai-create")
		if r.Outcome != command.Succeeded || r.TaskID == "" || r.Imported == nil || r.Imported.Accepted != 150 || r.Attempts != 1 {
			t.Fatalf("result %+v (error %+v)", r, r.Error)
		}
		if ev.Type() != event.TypeCommandSucceeded || ev.Source() != "/callbridge/byai/byai-main" || ev.Extensions()["partitionkey"] != "key-cmd-byai-create" {
			t.Errorf("result event type %s source %s key %v", ev.Type(), ev.Source(), ev.Extensions()["partitionkey"])
		}
		creates := env.requests("byai", byai.EndpointCreateTask)
		if len(creates) != 1 {
			t.Fatalf("%d createTask requests, want 1", len(creates))
		}
		c := creates[0]
		if c.Method != "POST" || c.Path != "/openapi/v1/task/createTask" {
			t.Errorf("create request %s %s", c.Method, c.Path)
		}
		for _, h := range []string{"Appkey", "Datetime", "Sign"} {
			if len(c.Header[h]) != 1 {
				t.Errorf("header %s missing", h)
			}
		}
		if got, want := c.Header["Sign"][0], byai.Sign("WtSMaXXXXXXXXtvy", "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", c.Header["Datetime"][0]); got != want {
			t.Errorf("sign %s, want %s", got, want)
		}
		b := c.Body
		if asNum(t, b, "companyId") != "1" || b["taskName"] != "春季回访" || asNum(t, b, "taskType") != "2" || b["startDate"] != "2026-11-22" ||
			b["workingStartTime"] != "09:00" || b["workingEndTime"] != "20:00" || b["breakStartTime"] != "12:00" || b["breakEndTime"] != "13:30" ||
			asNum(t, b, "callType") != "0" || asNum(t, b, "concurrencyQuota") != "2" || asNum(t, b, "robotDefId") != "14" ||
			asNum(t, b, "sceneDefId") != "34" || asNum(t, b, "sceneRecordId") != "34" || b["remark"] != "spring" {
			t.Errorf("createTask body %v", b)
		}
		if ids, _ := b["userPhoneIds"].([]any); len(ids) != 2 || fmt.Sprint(ids[0]) != "1" || fmt.Sprint(ids[1]) != "2" {
			t.Errorf("userPhoneIds %v", b["userPhoneIds"])
		}
		imports := env.requests("byai", byai.EndpointImportCustomer)
		if len(imports) != 2 {
			t.Fatalf("%d import requests for 150 customers, want 2 batches", len(imports))
		}
		if list, _ := imports[0].Body["customerInfoList"].([]any); len(list) != 100 || asNum(t, imports[0].Body, "taskId") != r.TaskID {
			t.Errorf("first import batch has %d customers for task %v", len(list), imports[0].Body["taskId"])
		}
		starts := env.requests("byai", byai.EndpointStart)
		if len(starts) != 1 || asNum(t, starts[0].Body, "taskId") != r.TaskID {
			t.Errorf("start requests %v", starts)
		}
	})

	t.Run("yiwise", func(t *testing.T) {
		env.send(event.TopicTaskCreate, "cmd-yiwise-create", yiwiseCreate("秋季回访", 3, true))
		_, r := env.result("cmd-yiwise-create")
		if r.Outcome != command.Succeeded || r.TaskID == "" || r.Imported == nil || r.Imported.Accepted != 3 {
			t.Fatalf("result %+v (error %+v)", r, r.Error)
		}
		if len(r.VendorRequestIDs) != 3 {
			t.Errorf("vendorRequestIds %v, want one per vendor call", r.VendorRequestIDs)
		}
		creates := env.requests("yiwise", yiwise.EndpointCreateTask)
		if len(creates) != 1 {
			t.Fatalf("%d createTask requests, want 1", len(creates))
		}
		c := creates[0]
		if c.Method != "POST" || c.Path != "/apiOpen/v1/task/createTask" {
			t.Errorf("create request %s %s", c.Method, c.Path)
		}
		h := c.Header
		if got := yiwise.Sign("gvlfIPLJTMEAHgyM", "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", "zhongna", "v1", first(h, "Timestamp")); first(h, "Signature") != got || first(h, "Tenantsign") != "zhongna" || first(h, "Version") != "v1" {
			t.Errorf("signed headers %v, want signature %s", h, got)
		}
		job, _ := c.Body["robotCallJob"].(map[string]any)
		if job["name"] != "秋季回访" || job["mode"] != "AUTO" || job["startTime"] != "2026-11-22 09:30:00" || job["phoneType"] != "LANDLINE" ||
			asNum(t, job, "dialogFlowId") != "136" || asNum(t, job, "robotCount") != "3" || job["dailyStartTime"] != "09:00" {
			t.Errorf("robotCallJob %v", job)
		}
		phones, _ := c.Body["jobPhoneNumberList"].([]any)
		if len(phones) != 1 || asNum(t, phones[0].(map[string]any), "key") != "348" {
			t.Errorf("jobPhoneNumberList %v", c.Body["jobPhoneNumberList"])
		}
		imports := env.requests("yiwise", yiwise.EndpointImportCustomer)
		if len(imports) != 1 || asNum(t, imports[0].Body, "robotCallJobId") != r.TaskID {
			t.Errorf("imports %v", imports)
		}
		if starts := env.requests("yiwise", yiwise.EndpointStart); len(starts) != 1 {
			t.Errorf("%d start requests", len(starts))
		}
	})
}

func first(h map[string][]string, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// createdTask creates a task through the bridge and returns its vendor id.
func createdTask(t *testing.T, env *outEnv, vendor, id string) string {
	t.Helper()
	data := byaiCreate("task-"+id, 2, false)
	if vendor == "yiwise" {
		data = yiwiseCreate("task-"+id, 2, false)
	}
	env.send(event.TopicTaskCreate, id, data)
	_, r := env.result(id)
	if r.Outcome != command.Succeeded {
		t.Fatalf("setup create: %+v", r.Error)
	}
	return r.TaskID
}

func TestEveryCommandReachesTheVendorAsDocumented(t *testing.T) {
	env := newOutbound(t, nil)
	byaiTask := createdTask(t, env, "byai", "setup-byai")
	yiwiseTask := createdTask(t, env, "yiwise", "setup-yiwise")

	type check func(t *testing.T, reqs []vendorRequest, r command.Result)
	cases := []struct {
		name, vendor, topic string
		data                map[string]any
		endpoint            string // the request that carries the command
		method, path        string
		outcome, errCode    string
		check               check
	}{
		{"byai import", "byai", event.TopicCustomerImport, map[string]any{"account": "byai-main", "taskId": byaiTask, "customers": append(customers(2), map[string]any{"name": "坏号", "phone": "12345"})},
			byai.EndpointImportCustomer, "POST", "/openapi/v1/task/importTaskCustomer", command.Succeeded, "",
			func(t *testing.T, reqs []vendorRequest, r command.Result) {
				b := reqs[len(reqs)-1].Body
				list, _ := b["customerInfoList"].([]any)
				c0, _ := list[0].(map[string]any)
				if asNum(t, b, "taskId") != byaiTask || asNum(t, b, "companyId") != "1" || len(list) != 3 || c0["phone"] != "13800000000" || c0["name"] != "客户0" {
					t.Errorf("body %v", b)
				}
				if r.Imported == nil || r.Imported.Accepted != 2 || r.Imported.Rejected != 1 {
					t.Errorf("imported %+v, want 2 accepted 1 rejected", r.Imported)
				}
			}},
		{"yiwise import", "yiwise", event.TopicCustomerImport, map[string]any{"account": "yiwise-east", "taskId": yiwiseTask, "customers": customers(2)},
			yiwise.EndpointImportCustomer, "POST", "/apiOpen/v1/task/importTaskCustomer", command.Succeeded, "",
			func(t *testing.T, reqs []vendorRequest, r command.Result) {
				b := reqs[len(reqs)-1].Body
				list, _ := b["customerPersons"].([]any)
				c0, _ := list[0].(map[string]any)
				if asNum(t, b, "robotCallJobId") != yiwiseTask || len(list) != 2 || c0["phoneNumber"] != "13800000000" {
					t.Errorf("body %v", b)
				}
				if r.Imported == nil || r.Imported.Accepted != 2 {
					t.Errorf("imported %+v", r.Imported)
				}
			}},
		{"byai single call", "byai", event.TopicCallSingle, map[string]any{"account": "byai-main", "phone": "13900000001", "name": "王五", "variables": map[string]string{"产品": "理财"}, "script": map[string]any{"robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34}},
			byai.EndpointSingleCall, "POST", "/openapi/v1/task/singleCallByMobile", command.Succeeded, "",
			func(t *testing.T, reqs []vendorRequest, r command.Result) {
				b := reqs[len(reqs)-1].Body
				if b["mobile"] != "13900000001" || b["userName"] != "王五" || asNum(t, b, "robotDefId") != "14" || asNum(t, b, "companyId") != "1" {
					t.Errorf("body %v", b)
				}
				if v, _ := b["variables"].(map[string]any); v["产品"] != "理财" {
					t.Errorf("variables %v", b["variables"])
				}
				if r.CallID == "" {
					t.Errorf("no callId in %+v", r)
				}
			}},
		{"yiwise single call is unsupported", "yiwise", event.TopicCallSingle, map[string]any{"account": "yiwise-east", "phone": "13900000001", "script": map[string]any{"dialogFlowId": 136}},
			"", "", "", command.Failed, command.ErrUnsupportedByVendor, nil},
		{"yiwise redial is unsupported, not dropped", "yiwise", event.TopicTaskCreate, yiwiseRedial(),
			"", "", "", command.Failed, command.ErrUnsupportedByVendor, nil},
	}
	for _, action := range []string{"start", "pause", "stop", "delete"} {
		for _, v := range []struct{ vendor, account, task, prefix, field string }{
			{"byai", "byai-main", byaiTask, "/openapi/v1/", "taskId"}, {"yiwise", "yiwise-east", yiwiseTask, "/apiOpen/v1/", "robotCallJobId"},
		} {
			action, v := action, v
			cases = append(cases, struct {
				name, vendor, topic string
				data                map[string]any
				endpoint            string
				method, path        string
				outcome, errCode    string
				check               check
			}{v.vendor + " " + action, v.vendor, event.TopicTaskControl, map[string]any{"account": v.account, "taskId": v.task, "action": action},
				"task/" + action, "POST", v.prefix + "task/" + action, command.Succeeded, "",
				func(t *testing.T, reqs []vendorRequest, r command.Result) {
					b := reqs[len(reqs)-1].Body
					if v.vendor == "byai" && action == "delete" {
						// The document types delete's taskId as a String.
						if b["taskId"] != v.task {
							t.Errorf("delete taskId %#v, want the string %q", b["taskId"], v.task)
						}
					} else if asNum(t, b, v.field) != v.task {
						t.Errorf("%s body %v", action, b)
					}
					if r.TaskID != v.task {
						t.Errorf("result taskId %q, want %q", r.TaskID, v.task)
					}
				}})
		}
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("cmd-%d", i)
			before := len(env.requests(tc.vendor, ""))
			env.send(tc.topic, id, tc.data)
			ev, r := env.result(id)
			if r.Outcome != tc.outcome || (tc.errCode != "" && (r.Error == nil || r.Error.Code != tc.errCode)) {
				t.Fatalf("result %+v error %+v, want %s %s", r, r.Error, tc.outcome, tc.errCode)
			}
			if r.CommandType != tc.topic || r.Vendor != tc.vendor {
				t.Errorf("commandType %q vendor %q", r.CommandType, r.Vendor)
			}
			wantType := event.TypeCommandSucceeded
			if tc.outcome == command.Failed {
				wantType = event.TypeCommandFailed
			}
			if ev.Type() != wantType {
				t.Errorf("event type %s, want %s", ev.Type(), wantType)
			}
			after := env.requests(tc.vendor, "")[before:]
			if tc.endpoint == "" {
				if len(after) != 0 {
					t.Errorf("%d vendor requests for a command that must not reach the vendor", len(after))
				}
				return
			}
			var reqs []vendorRequest
			for _, rq := range after {
				if rq.Endpoint == tc.endpoint {
					reqs = append(reqs, rq)
				}
			}
			if len(reqs) != 1 {
				t.Fatalf("%d %s requests, want 1 (all: %v)", len(reqs), tc.endpoint, after)
			}
			if reqs[0].Method != tc.method || reqs[0].Path != tc.path {
				t.Errorf("request %s %s, want %s %s", reqs[0].Method, reqs[0].Path, tc.method, tc.path)
			}
			tc.check(t, reqs, r)
		})
	}
}

func TestSetConcurrencyReadsTheTaskFirstOnBYAI(t *testing.T) {
	env := newOutbound(t, nil)
	byaiTask := createdTask(t, env, "byai", "setup-byai")
	yiwiseTask := createdTask(t, env, "yiwise", "setup-yiwise")

	env.send(event.TopicTaskControl, "conc-byai", map[string]any{"account": "byai-main", "taskId": byaiTask, "action": "set_concurrency", "concurrency": 4})
	if _, r := env.result("conc-byai"); r.Outcome != command.Succeeded {
		t.Fatalf("byai set_concurrency: %+v", r.Error)
	}
	var order []string
	for _, rq := range env.requests("byai", "") {
		order = append(order, rq.Endpoint)
	}
	updates := env.requests("byai", byai.EndpointUpdate)
	if len(updates) != 1 {
		t.Fatalf("%d update requests (calls: %v)", len(updates), order)
	}
	if got := fmt.Sprint(order[len(order)-3:]); got != "[task/getTaskDetail company/getPhones task/update]" {
		t.Errorf("calls %v, want detail, phones, update", got)
	}
	b := updates[0].Body
	if asNum(t, b, "concurrencyQuota") != "4" || b["taskName"] != "task-setup-byai" || asNum(t, b, "taskType") != "2" || b["userPhoneIds"] != "1,2" || asNum(t, b, "callType") != "0" {
		t.Errorf("update body %v", b)
	}

	env.send(event.TopicTaskControl, "conc-yiwise", map[string]any{"account": "yiwise-east", "taskId": yiwiseTask, "action": "set_concurrency", "concurrency": 7})
	if _, r := env.result("conc-yiwise"); r.Outcome != command.Succeeded {
		t.Fatalf("yiwise set_concurrency: %+v", r.Error)
	}
	yu := env.requests("yiwise", yiwise.EndpointUpdate)
	if len(yu) != 1 || asNum(t, yu[0].Body, "robotCount") != "7" || asNum(t, yu[0].Body, "robotCallJobId") != yiwiseTask {
		t.Errorf("yiwise update %v", yu)
	}
}
