package yiwisesim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

const (
	key, secret, tenant = "WtSMaXXXXXXXXtvy", "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", "yiwisexxxx"
	scale               = 0.001
	callD               = time.Minute
)

var (
	t0   = time.UnixMilli(1542902400000)
	step = time.Duration(float64(callD) * scale)
)

type envelope struct {
	Code            int             `json:"code"`
	Data            json.RawMessage `json:"data"`
	RequestID       string          `json:"requestId"`
	ResultMsg       string          `json:"resultMsg"`
	ErrorStackTrace *string         `json:"errorStackTrace"`
}

type harness struct {
	t   *testing.T
	s   *yiwisesim.Server
	fc  *clock.Fake
	rcv *simtest.Receiver
}

func newHarness(t *testing.T, mod func(c *yiwisesim.Config)) *harness {
	t.Helper()
	h := &harness{t: t, fc: clock.NewFake(t0), rcv: simtest.NewReceiver(t)}
	cfg := yiwisesim.Config{
		AppKey: key, AppSecret: secret, TenantSign: tenant, TenantID: 3,
		Options: core.Options{WebhookURL: h.rcv.URL, Clock: h.fc, TimeScale: scale, CallDuration: callD, Seed: 42},
	}
	if mod != nil {
		mod(&cfg)
	}
	h.s = yiwisesim.New(cfg)
	t.Cleanup(h.s.Close)
	return h
}

func (h *harness) signAt(at time.Time) func(http.Header) {
	return func(hd http.Header) {
		ts := strconv.FormatInt(at.UnixMilli(), 10)
		for k, v := range map[string]string{
			"appKey": key, "appSecret": secret, "tenantSign": tenant, "version": "v1", "timestamp": ts,
			"signature": yiwise.Sign(key, secret, tenant, "v1", ts),
		} {
			hd.Set(k, v)
		}
	}
}

func (h *harness) do(method, endpoint string, params any, sign func(http.Header)) (int, envelope) {
	h.t.Helper()
	target := yiwisesim.Prefix + endpoint
	var body []byte
	switch p := params.(type) {
	case nil:
	case url.Values:
		target += "?" + p.Encode()
	case string:
		body = []byte(p)
	default:
		body, _ = json.Marshal(p)
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sign == nil {
		sign = h.signAt(h.fc.Now())
	}
	sign(req.Header)
	rec := httptest.NewRecorder()
	h.s.ServeHTTP(rec, req)
	var env envelope
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			h.t.Fatalf("%s %s: reply is not an envelope: %s", method, endpoint, rec.Body)
		}
	}
	return rec.Code, env
}

func (h *harness) ok(method, endpoint string, params any) json.RawMessage {
	h.t.Helper()
	status, env := h.do(method, endpoint, params, nil)
	if status != http.StatusOK || env.Code != 200 {
		h.t.Fatalf("%s: HTTP %d code %d %q", endpoint, status, env.Code, env.ResultMsg)
	}
	return env.Data
}

func taskBody(name string, robots int) map[string]any {
	return map[string]any{
		"jobPhoneNumberList": []map[string]any{{"key": 348, "value": "057188886666"}},
		"robotCallJob": map[string]any{
			"dailyStartTime": "09:00", "dailyEndTime": "21:00", "inactiveStartTime": "12:00", "inactiveEndTime": "13:00",
			"dialogFlowId": 136, "mode": "MANUAL", "name": name, "phoneType": "LANDLINE", "robotCount": robots,
			"startTime": "2018-11-23 09:00:00", "tenantId": 3, "alertUsers": []int{}, "smsAlertLevel": []string{"A"},
		},
	}
}

func (h *harness) createTask(name string, robots int) int64 {
	h.t.Helper()
	data := h.ok("POST", "task/createTask", taskBody(name, robots))
	id, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		h.t.Fatalf("createTask data %s is not a number", data)
	}
	return id
}

func (h *harness) importCustomers(task int64, phones ...string) {
	h.t.Helper()
	var list []map[string]any
	for i, p := range phones {
		list = append(list, map[string]any{"name": fmt.Sprintf("客户%d", i), "phoneNumber": p, "properties": map[string]string{"ttt": "jjj"}})
	}
	h.ok("POST", "task/importTaskCustomer", map[string]any{"robotCallJobId": task, "customerPersons": list})
}

func (h *harness) state(task int64) core.State {
	t, _ := h.s.Task(task)
	return t.State
}

func phonesN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("1390000%04d", i)
	}
	return out
}

func byType(t *testing.T, bodies [][]byte) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, b := range bodies {
		var cb struct {
			DataType string         `json:"dataType"`
			Data     map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &cb); err != nil {
			t.Fatalf("callback is not JSON: %s", b)
		}
		out[cb.DataType] = append(out[cb.DataType], cb.Data)
	}
	return out
}

func TestRequestSignedWithTheVendorVectorIsAccepted(t *testing.T) {
	v := simtest.FirstVector(t, "yiwise.tsv")
	ms, _ := strconv.ParseInt(v["timestamp"], 10, 64)
	s := yiwisesim.New(yiwisesim.Config{
		AppKey: v["appKey"], AppSecret: v["appSecret"], TenantSign: v["tenantSign"], Version: v["version"],
		Options: core.Options{Clock: clock.NewFake(time.UnixMilli(ms))},
	})
	defer s.Close()
	req := httptest.NewRequest("GET", yiwisesim.Prefix+"company/getCompanies", nil)
	for _, k := range []string{"appKey", "appSecret", "tenantSign", "version", "timestamp", "signature"} {
		req.Header.Set(k, v[k])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var env envelope
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	if rec.Code != 200 || env.Code != 200 || env.ResultMsg != "获取成功" {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
	if want := `{"companyName":"模拟智能科技有限公司","tenantId":1}`; string(env.Data) != want {
		t.Fatalf("data = %s, want %s", env.Data, want)
	}
}

func TestBadAuthenticationGetsThe401Envelope(t *testing.T) {
	h := newHarness(t, nil)
	now := h.fc.Now()
	with := func(name, value string) func(http.Header) {
		return func(hd http.Header) { h.signAt(now)(hd); hd.Set(name, value) }
	}
	tests := []struct {
		name string
		sign func(http.Header)
	}{
		{"wrong signature", with("signature", strings.Repeat("0", 64))},
		{"upper-case signature", func(hd http.Header) { h.signAt(now)(hd); hd.Set("signature", strings.ToUpper(hd.Get("signature"))) }},
		{"wrong app secret", with("appSecret", "other")},
		{"wrong tenant sign", with("tenantSign", "other")},
		{"wrong version", with("version", "v2")},
		{"missing timestamp", func(hd http.Header) { h.signAt(now)(hd); hd.Del("timestamp") }},
		{"timestamp in seconds", with("timestamp", strconv.FormatInt(now.Unix(), 10))},
		{"timestamp 16 minutes old", h.signAt(now.Add(-16 * time.Minute))},
		{"timestamp 16 minutes ahead", h.signAt(now.Add(16 * time.Minute))},
		{"no headers", func(http.Header) {}},
	}
	re := regexp.MustCompile(`^\{"code":401,"data":null,"requestId":"[A-Z]{8}","resultMsg":"校验数据错误","errorStackTrace":null\}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", yiwisesim.Prefix+"company/getCompanies", nil)
			tt.sign(req.Header)
			rec := httptest.NewRecorder()
			h.s.ServeHTTP(rec, req)
			if rec.Code != 200 || !re.Match(rec.Body.Bytes()) {
				t.Fatalf("HTTP %d %s, want 200 and the 401 envelope", rec.Code, rec.Body)
			}
		})
	}
	t.Run("timestamp 14 minutes old is still accepted", func(t *testing.T) {
		if _, env := h.do("GET", "company/getCompanies", nil, h.signAt(now.Add(-14*time.Minute))); env.Code != 200 {
			t.Fatalf("code %d", env.Code)
		}
	})
}

func TestBadParametersGet412(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("t", 1)
	create := func(mod func(job map[string]any, body map[string]any)) map[string]any {
		b := taskBody("x", 1)
		mod(b["robotCallJob"].(map[string]any), b)
		return b
	}
	tests := []struct {
		name, method, endpoint string
		params                 any
	}{
		{"create without name", "POST", "task/createTask", create(func(j, _ map[string]any) { delete(j, "name") })},
		{"create with dialogFlowId as a string", "POST", "task/createTask", create(func(j, _ map[string]any) { j["dialogFlowId"] = "136" })},
		{"create with robotCount as a string", "POST", "task/createTask", create(func(j, _ map[string]any) { j["robotCount"] = "10" })},
		{"create with an unknown mode", "POST", "task/createTask", create(func(j, _ map[string]any) { j["mode"] = "SOMETIMES" })},
		{"create with an unknown phoneType", "POST", "task/createTask", create(func(j, _ map[string]any) { j["phoneType"] = "PIGEON" })},
		{"create with a bad startTime", "POST", "task/createTask", create(func(j, _ map[string]any) { j["startTime"] = "2018-11-23T09:00:00+08:00" })},
		{"create without robotCallJob", "POST", "task/createTask", create(func(_, b map[string]any) { delete(b, "robotCallJob") })},
		{"create with a string phone key", "POST", "task/createTask", create(func(_, b map[string]any) {
			b["jobPhoneNumberList"] = []map[string]any{{"key": "348", "value": "x"}}
		})},
		{"create without phones", "POST", "task/createTask", create(func(_, b map[string]any) { b["jobPhoneNumberList"] = []any{} })},
		{"start with the id as a string", "POST", "task/start", map[string]any{"robotCallJobId": strconv.FormatInt(task, 10)}},
		{"import with a numeric phoneNumber", "POST", "task/importTaskCustomer", map[string]any{"robotCallJobId": task, "customerPersons": []map[string]any{{"name": "a", "phoneNumber": 13900000000}}}},
		{"import without customerPersons", "POST", "task/importTaskCustomer", map[string]any{"robotCallJobId": task}},
		{"update without robotCount", "POST", "task/update", map[string]any{"robotCallJobId": task}},
		{"update with robotCount 0", "POST", "task/update", map[string]any{"robotCallJobId": task, "robotCount": 0}},
		{"getTaskDetail with a non-numeric id", "GET", "task/getTaskDetail", url.Values{"robotCallJobId": {"x"}}},
		{"call records without the task id", "POST", "task/getCallRecordInfoList", map[string]any{"pageNum": 1}},
		{"body is not JSON", "POST", "task/start", "robotCallJobId=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := h.do(tt.method, tt.endpoint, tt.params, nil)
			if status != 200 || env.Code != 412 || env.ResultMsg != "参数错误" || len(env.RequestID) != 8 {
				t.Fatalf("HTTP %d code %d %q requestId %q, want 412 参数错误", status, env.Code, env.ResultMsg, env.RequestID)
			}
		})
	}
}

func TestUnknownTaskGets404(t *testing.T) {
	h := newHarness(t, nil)
	deleted := h.createTask("gone", 1)
	h.ok("POST", "task/delete", map[string]any{"robotCallJobId": strconv.FormatInt(deleted, 10)})
	for _, id := range []int64{999, deleted} {
		tests := []struct {
			endpoint, method string
			params           any
		}{
			{"task/start", "POST", map[string]any{"robotCallJobId": id}},
			{"task/pause", "POST", map[string]any{"robotCallJobId": id}},
			{"task/stop", "POST", map[string]any{"robotCallJobId": id}},
			{"task/delete", "POST", map[string]any{"robotCallJobId": id}},
			{"task/importTaskCustomer", "POST", map[string]any{"robotCallJobId": id, "customerPersons": []any{}}},
			{"task/update", "POST", map[string]any{"robotCallJobId": id, "robotCount": 2}},
			{"task/getTaskDetail", "GET", url.Values{"robotCallJobId": {strconv.FormatInt(id, 10)}}},
			{"task/getCallRecordInfoList", "POST", map[string]any{"robotCallJobId": id}},
			{"task/phoneLogInfo", "GET", url.Values{"callRecordId": {strconv.FormatInt(id, 10)}}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %d", tt.endpoint, id), func(t *testing.T) {
				if _, env := h.do(tt.method, tt.endpoint, tt.params, nil); env.Code != 404 || env.ResultMsg != "资源未找到" {
					t.Fatalf("code %d %q, want 404 资源未找到", env.Code, env.ResultMsg)
				}
			})
		}
	}
}

func TestTaskRunsToCompletionAndCallsBack(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("秋季回访", 2)
	h.importCustomers(task, "13900000001", "13900000002", "13900000003", "not-a-phone")
	if snap, _ := h.s.Task(task); len(snap.Customers) != 3 || snap.Rejected != 1 {
		t.Fatalf("imported %d customers, rejected %d; want 3 and 1", len(snap.Customers), snap.Rejected)
	}
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })

	got := byType(t, h.rcv.Wait(t, 4))
	records, jobs := got[yiwisesim.DataTypeRecord], got[yiwisesim.DataTypeJob]
	if len(records) != 3 || len(jobs) != 1 {
		t.Fatalf("got %d record and %d job callbacks, want 3 and 1", len(records), len(jobs))
	}
	for _, r := range records {
		if r["robotCallJobId"] != float64(task) || r["tenantId"] != float64(3) {
			t.Fatalf("record of the wrong task: %v", r)
		}
	}
	if want := map[string]any{"robotCallJobId": float64(task), "tenantId": float64(3), "status": "COMPLETED"}; fmt.Sprint(jobs[0]) != fmt.Sprint(want) {
		t.Fatalf("job callback = %v, want %v", jobs[0], want)
	}

	var detail struct {
		RobotCallJob  struct{ Status string }
		CompletedTask int
	}
	_ = json.Unmarshal(h.ok("GET", "task/getTaskDetail", url.Values{"robotCallJobId": {strconv.FormatInt(task, 10)}}), &detail)
	if detail.RobotCallJob.Status != "COMPLETED" || detail.CompletedTask != 3 {
		t.Fatalf("detail = %+v", detail)
	}
	var page struct {
		TotalElements int
		Content       []struct{ CallRecordID int64 }
	}
	_ = json.Unmarshal(h.ok("POST", "task/getCallRecordInfoList", map[string]any{"robotCallJobId": task, "pageNum": 1, "pageSize": 2}), &page)
	if page.TotalElements != 3 || len(page.Content) != 2 {
		t.Fatalf("call records page = %+v", page)
	}
	info := h.ok("GET", "task/phoneLogInfo", url.Values{"callRecordId": {strconv.FormatInt(page.Content[0].CallRecordID, 10)}})
	if !bytes.Contains(info, []byte(fmt.Sprintf(`"callRecordId":%d`, page.Content[0].CallRecordID))) {
		t.Fatalf("phoneLogInfo = %s", info)
	}
}

func TestPauseStopsNewCallsWithoutAJobCallback(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("暂停", 1)
	h.importCustomers(task, phonesN(3)...)
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	h.ok("POST", "task/pause", map[string]any{"robotCallJobId": task})
	simtest.Pump(t, h.fc, step, func() bool { snap, _ := h.s.Task(task); return len(snap.CallIDs) == 1 })
	time.Sleep(20 * time.Millisecond)
	if snap, _ := h.s.Task(task); snap.State != core.StatePaused || snap.Dialed != 1 || h.fc.Waiters() != 0 {
		t.Fatalf("paused task: state %v dialed %d timers %d", snap.State, snap.Dialed, h.fc.Waiters())
	}
	var page struct{ Content []struct{ Status string } }
	_ = json.Unmarshal(h.ok("GET", "task/getTasks", url.Values{"name": {"暂停"}}), &page)
	if len(page.Content) != 1 || page.Content[0].Status != "USER_PAUSE" {
		t.Fatalf("getTasks = %+v, want one USER_PAUSE task", page)
	}
	if got := byType(t, h.rcv.Wait(t, 1)); len(got[yiwisesim.DataTypeJob]) != 0 {
		t.Fatal("a job callback was sent on pause; Yiwise only sends COMPLETED")
	}
}

func TestUpdateRaisesConcurrencyOfARunningTask(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("扩容", 1)
	h.importCustomers(task, phonesN(6)...)
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	h.ok("POST", "task/update", map[string]any{"robotCallJobId": task, "robotCount": 3})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.fc.BlockUntil(ctx, 3); err != nil {
		t.Fatalf("not 3 calls in flight after raising robotCount: %v", err)
	}
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	if snap, _ := h.s.Task(task); snap.MaxInFlight != 3 || snap.Meta.(*yiwisesim.TaskMeta).RobotCount != 3 {
		t.Fatalf("max in flight %d, robotCount %d; want 3", snap.MaxInFlight, snap.Meta.(*yiwisesim.TaskMeta).RobotCount)
	}
}

func TestGetTasksFiltersByNameAndStatus(t *testing.T) {
	h := newHarness(t, nil)
	a := h.createTask("春季回访A", 1)
	h.createTask("秋季营销", 1)
	b := h.createTask("春季回访B", 1)
	h.importCustomers(b, phonesN(1)...)
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": b})
	var page struct {
		TotalElements int
		Content       []struct{ RobotCallJobID int64 }
	}
	_ = json.Unmarshal(h.ok("GET", "task/getTasks", url.Values{"name": {"春季"}}), &page)
	if page.TotalElements != 2 || page.Content[0].RobotCallJobID != b || page.Content[1].RobotCallJobID != a {
		t.Fatalf("by name = %+v, want %d and %d", page, b, a)
	}
	for _, status := range []string{"IN_PROCESS", "1"} {
		_ = json.Unmarshal(h.ok("GET", "task/getTasks", url.Values{"status": {status}}), &page)
		if page.TotalElements != 1 || page.Content[0].RobotCallJobID != b {
			t.Fatalf("status %s = %+v, want only %d", status, page, b)
		}
	}
}

func TestOutcomesCoverEveryResultStatusAndIntentLevel(t *testing.T) {
	h := newHarness(t, func(c *yiwisesim.Config) { c.WebhookURL = "" })
	task := h.createTask("覆盖", 50)
	h.importCustomers(task, phonesN(300)...)
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	statuses, intents := map[int]bool{}, map[string]bool{}
	for _, c := range h.s.Calls(task) {
		statuses[c.Outcome.Status] = true
		if c.Outcome.Answered() {
			intents[c.Outcome.Intent] = true
		}
	}
	if len(statuses) != len(yiwisesim.Statuses) || len(intents) != 6 {
		t.Fatalf("statuses %v intents %v", statuses, intents)
	}
}

func TestCallbackBodiesHaveTheDocumentedShape(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("形状", 10)
	h.importCustomers(task, phonesN(20)...)
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	bodies := h.rcv.Wait(t, 21)
	samples := map[string][]byte{
		yiwisesim.DataTypeRecord: simtest.Testdata(t, "webhooks/yiwise/robot_call_record.json"),
		yiwisesim.DataTypeJob:    simtest.Testdata(t, "webhooks/yiwise/robot_call_job.json"),
	}
	seen := map[string]int{}
	for _, b := range bodies {
		var cb struct{ DataType string }
		_ = json.Unmarshal(b, &cb)
		seen[cb.DataType]++
		if d := simtest.Shape(samples[cb.DataType], b); len(d) > 0 {
			t.Fatalf("%s differs from the sample:\n%s\nbody: %s", cb.DataType, strings.Join(d, "\n"), b)
		}
	}
	if seen[yiwisesim.DataTypeRecord] != 20 || seen[yiwisesim.DataTypeJob] != 1 {
		t.Fatalf("callbacks by type = %v", seen)
	}
}

func TestFailNextFailsThenRecovers(t *testing.T) {
	h := newHarness(t, nil)
	h.s.FailNext("task/createTask", 503, 2)
	for i := range 2 {
		if status, _ := h.do("POST", "task/createTask", taskBody("x", 1), nil); status != 503 {
			t.Fatalf("attempt %d: HTTP %d, want 503", i+1, status)
		}
	}
	h.createTask("third time", 1)
}

func TestPathOverrideIsServedInsteadOfTheDefault(t *testing.T) {
	h := newHarness(t, func(c *yiwisesim.Config) {
		c.Paths = map[string]string{"task/getCallRecordInfoList": "/apiOpen/v1/task/callRecordList"}
	})
	task := h.createTask("覆盖路径", 1)
	if status, _ := h.do("POST", "task/getCallRecordInfoList", map[string]any{"robotCallJobId": task}, nil); status != http.StatusNotFound {
		t.Fatalf("default path: HTTP %d, want 404", status)
	}
	h.ok("POST", "task/callRecordList", map[string]any{"robotCallJobId": task})
}

func TestRequestIDIsRandomPerReply(t *testing.T) {
	h := newHarness(t, nil)
	_, a := h.do("GET", "company/getPhones", nil, nil)
	_, b := h.do("GET", "company/getPhones", nil, nil)
	if !regexp.MustCompile(`^[A-Z]{8}$`).MatchString(a.RequestID) || a.RequestID == b.RequestID {
		t.Fatalf("request ids %q and %q", a.RequestID, b.RequestID)
	}
}
