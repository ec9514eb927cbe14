package byaisim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
)

const (
	key    = "WtSMaXXXXXXXXtvy"
	secret = "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q"
	scale  = 0.001
	callD  = time.Minute
)

var t0 = time.Date(2019, 1, 12, 8, 9, 32, 0, time.UTC)

// step is one simulated call in fake-clock time.
var step = time.Duration(float64(callD) * scale)

type envelope struct {
	Code            int             `json:"code"`
	Data            json.RawMessage `json:"data"`
	ResultMsg       string          `json:"resultMsg"`
	ErrorStackTrace *string         `json:"errorStackTrace"`
}

type harness struct {
	t   *testing.T
	s   *byaisim.Server
	fc  *clock.Fake
	rcv *simtest.Receiver
}

func newHarness(t *testing.T, mod func(c *byaisim.Config)) *harness {
	t.Helper()
	h := &harness{t: t, fc: clock.NewFake(t0), rcv: simtest.NewReceiver(t)}
	cfg := byaisim.Config{
		AppKey: key, AppSecret: secret, CompanyID: 7,
		Options: core.Options{WebhookURL: h.rcv.URL, Clock: h.fc, TimeScale: scale, CallDuration: callD, Seed: 42},
	}
	if mod != nil {
		mod(&cfg)
	}
	h.s = byaisim.New(cfg)
	t.Cleanup(h.s.Close)
	return h
}

// do sends a request signed for the fake clock's time; params is a query for GET
// and a JSON body (or raw JSON string) for POST.
func (h *harness) do(method, endpoint string, params any, sign func(http.Header)) (int, envelope) {
	h.t.Helper()
	target := byaisim.Prefix + endpoint
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

func (h *harness) signAt(at time.Time) func(http.Header) {
	return func(hd http.Header) {
		dt := at.UTC().Format(byai.DateTimeLayout)
		hd.Set("appkey", key)
		hd.Set("datetime", dt)
		hd.Set("sign", byai.Sign(key, secret, dt))
	}
}

// ok sends a request that must succeed and returns its data.
func (h *harness) ok(method, endpoint string, params any) json.RawMessage {
	h.t.Helper()
	status, env := h.do(method, endpoint, params, nil)
	if status != http.StatusOK || env.Code != 200 {
		h.t.Fatalf("%s: HTTP %d code %d %q", endpoint, status, env.Code, env.ResultMsg)
	}
	return env.Data
}

func (h *harness) createTask(name string, concurrency int) int64 {
	h.t.Helper()
	data := h.ok("POST", "task/createTask", map[string]any{
		"companyId": 7, "taskName": name, "taskType": 2, "startDate": "2019-01-12",
		"workingStartTime": "09:00", "workingEndTime": "20:00", "userPhoneIds": []int{1},
		"callType": 0, "concurrencyQuota": concurrency, "robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34,
	})
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
		list = append(list, map[string]any{"name": fmt.Sprintf("客户%d", i), "phone": p, "properties": map[string]string{"real_name": "real"}})
	}
	h.ok("POST", "task/importTaskCustomer", map[string]any{"companyId": 7, "taskId": task, "customerInfoList": list})
}

func (h *harness) state(task int64) core.State {
	t, _ := h.s.Task(task)
	return t.State
}

func phonesN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("1380000%04d", i)
	}
	return out
}

// byType splits received callbacks by dataType ("LEGACY" when there is none).
func byType(t *testing.T, bodies [][]byte) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, b := range bodies {
		var env struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("callback is not JSON: %s", b)
		}
		dt, _ := env.Data["dataType"].(string)
		if dt == "" {
			dt = "LEGACY"
		}
		if inner, ok := env.Data["data"].(map[string]any); ok {
			if _, only := inner["taskResult"]; only && len(inner) == 1 {
				dt = "INTENT_CHANGE"
			}
			out[dt] = append(out[dt], inner)
			continue
		}
		out[dt] = append(out[dt], env.Data)
	}
	return out
}

func TestRequestSignedWithTheVendorVectorIsAccepted(t *testing.T) {
	v := simtest.FirstVector(t, "byai.tsv")
	at, err := time.Parse(byai.DateTimeLayout, v["datetime"])
	if err != nil {
		t.Fatal(err)
	}
	s := byaisim.New(byaisim.Config{AppKey: v["appKey"], AppSecret: v["appSecret"], Options: core.Options{Clock: clock.NewFake(at)}})
	defer s.Close()
	req := httptest.NewRequest("GET", byaisim.Prefix+"company/getCompanys", nil)
	req.Header.Set("appkey", v["appKey"])
	req.Header.Set("datetime", v["datetime"])
	req.Header.Set("sign", v["sign"])
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var env envelope
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	if rec.Code != 200 || env.Code != 200 || env.ResultMsg != "获取成功" {
		t.Fatalf("HTTP %d %s", rec.Code, rec.Body)
	}
	if want := `[{"companyName":"模拟科技有限公司","companyId":1}]`; string(env.Data) != want {
		t.Fatalf("data = %s, want %s", env.Data, want)
	}
}

func TestBadAuthenticationGetsThe401Envelope(t *testing.T) {
	h := newHarness(t, nil)
	now := h.fc.Now()
	tests := []struct {
		name string
		sign func(http.Header)
	}{
		{"wrong sign", func(hd http.Header) { h.signAt(now)(hd); hd.Set("sign", byai.Sign(key, "other", hd.Get("datetime"))) }},
		{"missing sign", func(hd http.Header) { h.signAt(now)(hd); hd.Del("sign") }},
		{"wrong app key", func(hd http.Header) {
			h.signAt(now)(hd)
			hd.Set("appkey", "other")
			hd.Set("sign", byai.Sign("other", secret, hd.Get("datetime")))
		}},
		{"no headers", func(http.Header) {}},
		{"datetime 16 minutes old", h.signAt(now.Add(-16 * time.Minute))},
		{"datetime 16 minutes ahead", h.signAt(now.Add(16 * time.Minute))},
		{"datetime not RFC 1123", func(hd http.Header) {
			dt := now.Format(time.RFC3339)
			hd.Set("appkey", key)
			hd.Set("datetime", dt)
			hd.Set("sign", byai.Sign(key, secret, dt))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", byaisim.Prefix+"company/getCompanys", nil)
			tt.sign(req.Header)
			rec := httptest.NewRecorder()
			h.s.ServeHTTP(rec, req)
			want := `{"code":401,"data":null,"resultMsg":"校验数据错误","errorStackTrace":null}`
			if rec.Code != 200 || rec.Body.String() != want {
				t.Fatalf("HTTP %d %s, want 200 %s", rec.Code, rec.Body, want)
			}
		})
	}
	t.Run("datetime 14 minutes old is still accepted", func(t *testing.T) {
		if _, env := h.do("GET", "company/getCompanys", nil, h.signAt(now.Add(-14*time.Minute))); env.Code != 200 {
			t.Fatalf("code %d", env.Code)
		}
	})
}

func TestBadParametersGet412(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("t", 1)
	valid := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{
			"companyId": 7, "taskName": "x", "taskType": 2, "startDate": "2019-01-12", "userPhoneIds": []int{1},
			"callType": 0, "robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34,
		}
		mod(m)
		return m
	}
	update := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"companyId": 7, "taskId": task, "taskName": "x", "taskType": 2, "userPhoneIds": "1,2", "callType": 0, "concurrencyQuota": 2}
		mod(m)
		return m
	}
	tests := []struct {
		name, method, endpoint string
		params                 any
	}{
		{"create without taskName", "POST", "task/createTask", valid(func(m map[string]any) { delete(m, "taskName") })},
		{"create with companyId as a string", "POST", "task/createTask", valid(func(m map[string]any) { m["companyId"] = "7" })},
		{"create with userPhoneIds as a string", "POST", "task/createTask", valid(func(m map[string]any) { m["userPhoneIds"] = "1" })},
		{"create with a bad startDate", "POST", "task/createTask", valid(func(m map[string]any) { m["startDate"] = "2019/01/12" })},
		{"create with an unknown taskType", "POST", "task/createTask", valid(func(m map[string]any) { m["taskType"] = 3 })},
		{"create with a bad working time", "POST", "task/createTask", valid(func(m map[string]any) { m["workingStartTime"] = "9am" })},
		{"body is not JSON", "POST", "task/createTask", "taskName=x"},
		{"start with taskId as a string", "POST", "task/start", map[string]any{"taskId": strconv.FormatInt(task, 10)}},
		{"start without taskId", "POST", "task/start", map[string]any{}},
		{"delete with taskId as a number", "POST", "task/delete", map[string]any{"taskId": task}},
		{"import with a numeric phone", "POST", "task/importTaskCustomer", map[string]any{"companyId": 7, "taskId": task, "customerInfoList": []map[string]any{{"name": "a", "phone": 13800000000}}}},
		{"import without customerInfoList", "POST", "task/importTaskCustomer", map[string]any{"companyId": 7, "taskId": task}},
		{"update without concurrencyQuota", "POST", "task/update", update(func(m map[string]any) { delete(m, "concurrencyQuota") })},
		{"update without taskName", "POST", "task/update", update(func(m map[string]any) { delete(m, "taskName") })},
		{"update with userPhoneIds as a list", "POST", "task/update", update(func(m map[string]any) { m["userPhoneIds"] = []int{1} })},
		{"single call to a short number", "POST", "task/singleCallByMobile", map[string]any{"mobile": "1380000", "companyId": 7, "sceneDefId": 1, "sceneRecordId": 1, "robotDefId": 1}},
		{"single call with mobile as a number", "POST", "task/singleCallByMobile", map[string]any{"mobile": 13800000000, "companyId": 7, "sceneDefId": 1, "sceneRecordId": 1, "robotDefId": 1}},
		{"getPhones with a non-numeric companyId", "GET", "company/getPhones", url.Values{"companyId": {"abc"}}},
		{"getTaskDetail without taskId", "GET", "task/getTaskDetail", url.Values{"companyId": {"7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := h.do(tt.method, tt.endpoint, tt.params, nil)
			if status != 200 || env.Code != 412 || env.ResultMsg != "参数错误" {
				t.Fatalf("HTTP %d code %d %q, want 412 参数错误", status, env.Code, env.ResultMsg)
			}
		})
	}
}

func TestUnknownTaskGets404(t *testing.T) {
	h := newHarness(t, nil)
	deleted := h.createTask("gone", 1)
	h.ok("POST", "task/delete", map[string]any{"taskId": strconv.FormatInt(deleted, 10)})
	for _, id := range []int64{999, deleted} {
		tests := []struct {
			endpoint, method string
			params           any
		}{
			{"task/start", "POST", map[string]any{"taskId": id}},
			{"task/pause", "POST", map[string]any{"taskId": id}},
			{"task/stop", "POST", map[string]any{"taskId": id}},
			{"task/delete", "POST", map[string]any{"taskId": strconv.FormatInt(id, 10)}},
			{"task/importTaskCustomer", "POST", map[string]any{"companyId": 7, "taskId": id, "customerInfoList": []any{}}},
			{"task/update", "POST", map[string]any{"companyId": 7, "taskId": id, "taskName": "x", "taskType": 2, "userPhoneIds": "1", "callType": 0, "concurrencyQuota": 1}},
			{"task/getTaskDetail", "GET", url.Values{"companyId": {"7"}, "taskId": {strconv.FormatInt(id, 10)}}},
			{"task/phoneLogInfo", "GET", url.Values{"callInstanceId": {strconv.FormatInt(id, 10)}}},
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

func TestOtherCompanyIsForbidden(t *testing.T) {
	h := newHarness(t, nil)
	if _, env := h.do("GET", "company/getPhones", url.Values{"companyId": {"8"}}, nil); env.Code != 403 {
		t.Fatalf("code %d, want 403", env.Code)
	}
}

func TestTaskRunsToCompletionAndCallsBack(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("春季回访", 2)

	var counts struct{ SuccessNum, FailNum int }
	data := h.ok("POST", "task/importTaskCustomer", map[string]any{"companyId": 7, "taskId": task, "customerInfoList": []map[string]any{
		{"name": "a", "phone": "13800000001"}, {"name": "b", "phone": "13800000002"},
		{"name": "c", "phone": "13800000003"}, {"name": "bad", "phone": "12345"},
	}})
	if err := json.Unmarshal(data, &counts); err != nil || counts.SuccessNum != 3 || counts.FailNum != 1 {
		t.Fatalf("import data = %s, want successNum 3 failNum 1", data)
	}
	if h.state(task) != core.StateCreated || h.rcv.Hits() != 0 {
		t.Fatal("a task that was not started placed calls")
	}
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })

	got := byType(t, h.rcv.Wait(t, 4))
	calls, jobs := got[byaisim.DataTypeCall], got[byaisim.DataTypeJob]
	if len(calls) != 3 || len(jobs) != 1 {
		t.Fatalf("got %d call and %d job callbacks, want 3 and 1", len(calls), len(jobs))
	}
	finished := 0
	for _, c := range calls {
		si := c["sceneInstance"].(map[string]any)
		if si["callJobId"] != float64(task) || si["jobName"] != "春季回访" || si["companyId"] != float64(7) {
			t.Fatalf("call record of the wrong task: %v", si)
		}
		if c["jobFinished"] == true {
			finished++
		}
		if c["sign"] != nil {
			t.Fatal("sign is set although SignCallbacks is off")
		}
	}
	if finished != 1 {
		t.Fatalf("%d call records say jobFinished, want the last one", finished)
	}
	if jobs[0]["status"] != float64(byaisim.StatusCompleted) || jobs[0]["callJobId"] != float64(task) {
		t.Fatalf("job callback = %v, want status 2 of task %d", jobs[0], task)
	}

	var detail struct{ Status, TotalCount, DoneCount int }
	_ = json.Unmarshal(h.ok("GET", "task/getTaskDetail", url.Values{"companyId": {"7"}, "taskId": {strconv.FormatInt(task, 10)}}), &detail)
	if detail.Status != 2 || detail.TotalCount != 3 || detail.DoneCount != 3 {
		t.Fatalf("detail = %+v", detail)
	}
	callID := int64(calls[0]["sceneInstance"].(map[string]any)["callInstanceId"].(float64))
	info := h.ok("GET", "task/phoneLogInfo", url.Values{"callInstanceId": {strconv.FormatInt(callID, 10)}})
	if !bytes.Contains(info, []byte(fmt.Sprintf(`"callInstanceId":%d`, callID))) {
		t.Fatalf("phoneLogInfo = %s", info)
	}
	simtest.Pump(t, h.fc, step, func() bool { return h.s.WebhookStats().Pending == 0 })
	if st := h.s.WebhookStats(); st.Successes != 4 || st.Failures != 0 {
		t.Fatalf("webhook stats = %+v", st)
	}
}

func TestConcurrencyLimitsCallsInFlight(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("并发", 2)
	h.importCustomers(task, phonesN(5)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.fc.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // room for a wrongly started third call to show up
	if n := h.fc.Waiters(); n != 2 {
		t.Fatalf("%d calls in flight right after start, want 2", n)
	}
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	if snap, _ := h.s.Task(task); snap.MaxInFlight != 2 || len(snap.CallIDs) != 5 {
		t.Fatalf("max in flight %d, calls %d; want 2 and 5", snap.MaxInFlight, len(snap.CallIDs))
	}
}

func TestPauseStopsNewCallsAndStartResumes(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("暂停", 1)
	h.importCustomers(task, phonesN(3)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	h.ok("POST", "task/pause", map[string]any{"taskId": task})

	// The call under way finishes; no new one starts.
	h.fc.Advance(step)
	simtest.Pump(t, h.fc, step, func() bool { snap, _ := h.s.Task(task); return len(snap.CallIDs) == 1 })
	time.Sleep(20 * time.Millisecond)
	if snap, _ := h.s.Task(task); snap.State != core.StatePaused || snap.Dialed != 1 || h.fc.Waiters() != 0 {
		t.Fatalf("paused task: state %v dialed %d timers %d", snap.State, snap.Dialed, h.fc.Waiters())
	}
	got := byType(t, h.rcv.Wait(t, 2))
	if jobs := got[byaisim.DataTypeJob]; len(jobs) != 1 || jobs[0]["status"] != float64(byaisim.StatusUserPaused) {
		t.Fatalf("job callbacks = %v, want one with status 4", jobs)
	}

	h.ok("POST", "task/start", map[string]any{"taskId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	if snap, _ := h.s.Task(task); len(snap.CallIDs) != 3 {
		t.Fatalf("%d calls after resuming, want 3", len(snap.CallIDs))
	}
}

func TestStopTerminatesAndCannotRestart(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("停止", 1)
	h.importCustomers(task, phonesN(3)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	h.ok("POST", "task/stop", map[string]any{"taskId": task})
	simtest.Pump(t, h.fc, step, func() bool { snap, _ := h.s.Task(task); return snap.InFlight == 0 })
	if snap, _ := h.s.Task(task); snap.State != core.StateStopped || snap.Dialed != 1 {
		t.Fatalf("stopped task: state %v dialed %d", snap.State, snap.Dialed)
	}
	got := byType(t, h.rcv.Wait(t, 2))
	if jobs := got[byaisim.DataTypeJob]; len(jobs) != 1 || jobs[0]["status"] != float64(byaisim.StatusTerminated) {
		t.Fatalf("job callbacks = %v, want one with status 6", jobs)
	}
	if _, env := h.do("POST", "task/start", map[string]any{"taskId": task}, nil); env.Code != 412 {
		t.Fatalf("restarting a stopped task: code %d, want 412", env.Code)
	}
}

func TestUpdateChangesConcurrencyOnlyWhenNotRunning(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("修改", 1)
	h.importCustomers(task, phonesN(4)...)
	upd := map[string]any{"companyId": 7, "taskId": task, "taskName": "修改后", "taskType": 2, "userPhoneIds": "1,2", "callType": 0, "concurrencyQuota": 3}

	h.ok("POST", "task/start", map[string]any{"taskId": task})
	if _, env := h.do("POST", "task/update", upd, nil); env.Code != 412 {
		t.Fatalf("updating a running task: code %d, want 412", env.Code)
	}
	h.ok("POST", "task/pause", map[string]any{"taskId": task})
	h.ok("POST", "task/update", upd)
	snap, _ := h.s.Task(task)
	meta := snap.Meta.(*byaisim.TaskMeta)
	if snap.Concurrency != 3 || meta.TaskName != "修改后" || len(meta.UserPhoneIDs) != 2 || meta.StartDate != "2019-01-12" {
		t.Fatalf("after update: concurrency %d meta %+v", snap.Concurrency, meta)
	}
}

func TestGetTasksFiltersByName(t *testing.T) {
	h := newHarness(t, nil)
	a := h.createTask("春季回访A", 1)
	h.createTask("秋季营销", 1)
	b := h.createTask("春季回访B", 1)
	var page struct {
		Total int
		List  []struct{ CallJobID int64 }
	}
	_ = json.Unmarshal(h.ok("GET", "task/getTasks", url.Values{"companyId": {"7"}, "taskName": {"春季"}}), &page)
	if page.Total != 2 || len(page.List) != 2 || page.List[0].CallJobID != b || page.List[1].CallJobID != a {
		t.Fatalf("getTasks = %+v, want tasks %d and %d", page, b, a)
	}
}

func TestSingleCallByMobilePlacesACall(t *testing.T) {
	h := newHarness(t, nil)
	data := h.ok("POST", "task/singleCallByMobile", map[string]any{
		"mobile": "13886871111", "companyId": 7, "variables": map[string]any{"userName": "张三", "age": 15},
		"userName": "张三", "sceneDefId": 34, "sceneRecordId": 34, "robotDefId": 14,
	})
	id, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		t.Fatalf("data %s is not a call id", data)
	}
	simtest.Pump(t, h.fc, step, func() bool { return len(h.rcv.Bodies()) == 1 })
	si := byType(t, h.rcv.Bodies())[byaisim.DataTypeCall][0]["sceneInstance"].(map[string]any)
	if si["callInstanceId"] != float64(id) || si["customerTelephone"] != "13886871111" || si["callType"] != float64(2) {
		t.Fatalf("call record = %v", si)
	}
}

func TestFailNextFailsThenRecovers(t *testing.T) {
	h := newHarness(t, nil)
	h.s.FailNext("task/createTask", 500, 2)
	h.s.FailNext("/openapi/v1/company/getCompanys", 412, 1)
	for i := range 2 {
		if status, _ := h.do("POST", "task/createTask", map[string]any{}, nil); status != 500 {
			t.Fatalf("attempt %d: HTTP %d, want 500", i+1, status)
		}
	}
	h.createTask("third time", 1)
	if _, env := h.do("GET", "company/getCompanys", nil, nil); env.Code != 412 {
		t.Fatalf("code %d, want the injected 412", env.Code)
	}
	h.ok("GET", "company/getCompanys", nil)
}

func TestFaultAppliedBeforeReplyLostStillCreatesTheTask(t *testing.T) {
	h := newHarness(t, nil)
	h.s.InjectFault("task/createTask", byaisim.Fault{HTTPStatus: 502, Apply: true}, 1)
	status, _ := h.do("POST", "task/createTask", map[string]any{
		"companyId": 7, "taskName": "lost", "taskType": 2, "startDate": "2019-01-12", "userPhoneIds": []int{1},
		"callType": 0, "robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34,
	}, nil)
	if status != 502 {
		t.Fatalf("HTTP %d, want 502", status)
	}
	var page struct{ Total int }
	_ = json.Unmarshal(h.ok("GET", "task/getTasks", url.Values{"companyId": {"7"}, "taskName": {"lost"}}), &page)
	if page.Total != 1 {
		t.Fatalf("%d tasks named lost, want the one created before the reply was lost", page.Total)
	}
}

func TestRequestsRecordsWhatTheVendorReceived(t *testing.T) {
	h := newHarness(t, nil)
	task := h.createTask("记录", 1)
	h.ok("POST", "task/delete", map[string]any{"taskId": strconv.FormatInt(task, 10)})
	reqs := h.s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded, want 2", len(reqs))
	}
	r := reqs[1]
	if r.Endpoint != "task/delete" || r.Method != "POST" || r.Path != "/openapi/v1/task/delete" ||
		string(r.Body) != fmt.Sprintf(`{"taskId":"%d"}`, task) || r.Header.Get("appkey") != key || !r.At.Equal(t0) {
		t.Fatalf("recorded %+v", r)
	}
	h.s.Reset()
	if len(h.s.Requests()) != 0 {
		t.Fatal("Reset kept requests")
	}
	if _, ok := h.s.Task(task); ok {
		t.Fatal("Reset kept tasks")
	}
}

func TestPathOverrideIsServedInsteadOfTheDefault(t *testing.T) {
	h := newHarness(t, func(c *byaisim.Config) {
		c.Paths = map[string]string{"company/getCompanys": "/openapi/v1/company/getCompanies"}
	})
	if status, _ := h.do("GET", "company/getCompanys", nil, nil); status != http.StatusNotFound {
		t.Fatalf("default path: HTTP %d, want 404", status)
	}
	h.ok("GET", "company/getCompanies", nil)
}

func TestWrongMethodIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	if status, _ := h.do("POST", "company/getCompanys", map[string]any{}, nil); status != http.StatusMethodNotAllowed {
		t.Fatalf("HTTP %d, want 405", status)
	}
}

func TestOutcomesCoverEveryStatusAndIntentLevel(t *testing.T) {
	h := newHarness(t, func(c *byaisim.Config) { c.WebhookURL = "" })
	task := h.createTask("覆盖", 50)
	h.importCustomers(task, phonesN(300)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	statuses, intents := map[int]bool{}, map[string]bool{}
	var tags, concerns, transcripts bool
	for _, c := range h.s.Calls(task) {
		o := c.Outcome
		statuses[o.Status] = true
		if o.Answered() {
			intents[o.Intent] = true
			tags = tags || len(o.Tags) > 0
			concerns = concerns || len(o.Concerns) > 0
			transcripts = transcripts || len(o.Turns) >= 4 && o.Duration > 0 && o.Rounds > 0
		}
	}
	if len(statuses) != len(byaisim.Statuses) || len(intents) != 6 || !tags || !concerns || !transcripts {
		t.Fatalf("statuses %v intents %v tags %v concerns %v transcripts %v", statuses, intents, tags, concerns, transcripts)
	}
}

func TestCallbackBodiesHaveTheDocumentedShape(t *testing.T) {
	h := newHarness(t, func(c *byaisim.Config) { c.IntentChangeRate = 1; c.InboundRate = 1; c.Seed = 7 })
	task := h.createTask("形状", 10)
	h.importCustomers(task, phonesN(10)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	h.ok("POST", "task/pause", map[string]any{"taskId": task})
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	seen := func() map[string][][]byte {
		out := map[string][][]byte{}
		for _, b := range h.rcv.Bodies() {
			for kind := range byType(t, [][]byte{b}) {
				out[kind] = append(out[kind], b)
			}
		}
		return out
	}
	simtest.Pump(t, h.fc, step, func() bool {
		s := seen()
		return h.state(task) == core.StateCompleted && len(s["INTENT_CHANGE"]) > 0 && len(s[byaisim.DataTypeInbound]) > 0 && len(s[byaisim.DataTypeJob]) >= 2
	})
	samples := map[string]string{
		byaisim.DataTypeCall:    "call_instance_result.json",
		byaisim.DataTypeJob:     "job_info_result.json",
		byaisim.DataTypeInbound: "inbound_call_instance_result.json",
		"INTENT_CHANGE":         "intent_level_changed.json",
	}
	s := seen()
	for kind, file := range samples {
		t.Run(kind, func(t *testing.T) {
			sample := simtest.Testdata(t, "webhooks/byai/"+file)
			if len(s[kind]) == 0 {
				t.Fatal("no callback of this kind")
			}
			for _, b := range s[kind] {
				if d := simtest.Shape(sample, b); len(d) > 0 {
					t.Fatalf("shape differs from %s:\n%s\nbody: %s", file, strings.Join(d, "\n"), b)
				}
			}
		})
	}
}

func TestLegacyCallbacksHaveNoDataType(t *testing.T) {
	h := newHarness(t, func(c *byaisim.Config) { c.LegacyCallbacks = true })
	task := h.createTask("旧格式", 1)
	h.importCustomers(task, phonesN(1)...)
	h.ok("POST", "task/start", map[string]any{"taskId": task})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(task) == core.StateCompleted })
	legacy := byType(t, h.rcv.Wait(t, 2))["LEGACY"]
	if len(legacy) != 1 {
		t.Fatalf("%d legacy call records, want 1", len(legacy))
	}
	keys := []string{}
	for k := range legacy[0] {
		keys = append(keys, k)
	}
	if len(keys) != 3 || legacy[0]["sceneInstance"] == nil || legacy[0]["phoneLog"] == nil {
		t.Fatalf("legacy data keys = %v, want sceneInstance, taskResult, phoneLog", keys)
	}
}

func TestSignedCallbacksCarryAFreshSignPerAttempt(t *testing.T) {
	// At real time scale the retry comes a minute later, so its dateTime differs.
	h := newHarness(t, func(c *byaisim.Config) { c.SignCallbacks = true; c.TimeScale = 1 })
	h.rcv.Reply(func(n int) (int, string) {
		if n == 1 {
			return 500, ""
		}
		return 200, "success"
	})
	id := h.s.Inbound("13800000009", "回拨")
	simtest.Pump(t, h.fc, time.Minute, func() bool { return len(h.rcv.Bodies()) == 1 })
	d := byType(t, h.rcv.Bodies())[byaisim.DataTypeInbound][0]
	dt, _ := d["dateTime"].(string)
	at, err := time.Parse(byai.DateTimeLayout, dt)
	if err != nil || d["sign"] != byai.Sign(key, secret, dt) {
		t.Fatalf("dateTime %q sign %v: not signed over the dateTime", dt, d["sign"])
	}
	if !at.After(t0) {
		t.Fatalf("retried callback has dateTime %v, want the retry's time after %v", at, t0)
	}
	if d["sceneInstance"].(map[string]any)["inboundInstanceId"] != float64(id) {
		t.Fatalf("inbound record of another call: %v", d["sceneInstance"])
	}
}

func TestDelayOnlyFaultSlowsTheReplyDown(t *testing.T) {
	h := newHarness(t, nil)
	h.s.InjectFault("company/getCompanys", byaisim.Fault{Delay: 30 * time.Millisecond}, 1)
	start := time.Now()
	h.ok("GET", "company/getCompanys", nil)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("answered after %v, want at least 30ms", d)
	}
}
