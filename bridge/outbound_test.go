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
		"script":      map[string]any{"robotDefId": "14", "sceneDefId": 34, "sceneRecordId": "34"},
		"remark":      "spring", "customers": customers(n), "start": start,
	}
}

func yiwiseCreate(name string, n int, start bool) map[string]any {
	return map[string]any{
		"account": "yiwise-east", "name": name, "mode": "scheduled", "startAt": "2026-11-22T09:30:00+08:00",
		"dailyWindow": map[string]string{"start": "09:00", "end": "20:00"},
		"callerIds":   []any{"348"}, "lineType": "landline", "concurrency": 3,
		"script":      map[string]any{"dialogFlowId": "136"}, "customers": customers(n), "start": start,
	}
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
