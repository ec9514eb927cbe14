package yiwise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// fixedNow is the test clock: 2024-05-01 10:00:00.123 in Shanghai.
var fixedNow = time.Date(2024, 5, 1, 2, 0, 0, 123e6, time.UTC)

type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeAPI is a Yiwise API that records requests and answers with status and body.
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []seen
	status int
	body   string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: http.StatusOK, body: `{"code":200,"data":null,"requestId":"REQ1","resultMsg":"执行成功","errorStackTrace":null}`}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		status, body := f.status, f.body
		if l, ok := lookups[r.URL.Path]; ok {
			status, body = http.StatusOK, l
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// lookups are the read-only answers a create or a call reads before it writes: the
// tenant (robotCallJob.tenantId) and the caller lines (jobPhoneNumberList values,
// oneTimeCall's line), as the documents' examples show them.
var lookups = map[string]string{
	"/apiOpen/v1/company/getCompanies": `{"code":200,"data":{"tenantId":1,"companyName":"杭州一知智能科技有限公司"},"requestId":"L1","resultMsg":"获取成功"}`,
	"/apiOpen/v1/tenant/getTenant":     `{"code":200,"data":{"tenantId":1,"tenantName":"杭州一知智能科技有限公司"},"requestId":"L1","resultMsg":"获取成功"}`,
	"/apiOpen/v1/company/getPhones": `{"code":200,"data":[{"userPhoneId":7,"phone":"14000000007","phoneName":"无主叫","phoneType":"UNFIXED_CALL","concurrency":2},
		{"userPhoneId":348,"phone":"057188886666","phoneName":"固话","phoneType":"LANDLINE","concurrency":10},
		{"userPhoneId":349,"phone":"057188886667","phoneName":"固话2","phoneType":"LANDLINE","concurrency":10}],"requestId":"L2"}`,
	"/apiOpen/v1/phone/getPhoneList": `{"code":200,"data":[{"tenantPhoneNumberId":1060,"phoneNumber":"057188886666","phoneName":"固话","phoneType":"LANDLINE"}],"requestId":"L2"}`,
}

// writes are the requests other than lookups.
func (f *fakeAPI) writes() []seen {
	var out []seen
	for _, r := range f.requests() {
		if _, ok := lookups[r.Path]; !ok {
			out = append(out, r)
		}
	}
	return out
}

// only returns the one request that is not a lookup.
func (f *fakeAPI) only(t *testing.T) seen {
	t.Helper()
	reqs := f.writes()
	if len(reqs) != 1 {
		t.Fatalf("vendor got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

func clientAccount(baseURL string) *platform.Account {
	return &platform.Account{
		Name: "yiwise-east", Vendor: Name, BaseURL: baseURL,
		AppKey: "WtSMaXXXXXXXXtvy", AppSecret: "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", Settings: Settings{TenantSign: "yiwisexxxx"},
	}
}

func testClient(acct *platform.Account) *client {
	return newClient(acct, &http.Client{}, func() time.Time { return fixedNow })
}

// checkSigned asserts the six authentication headers, the signature recomputed.
func checkSigned(t *testing.T, acct *platform.Account, r seen, version string) {
	t.Helper()
	ts := strconv.FormatInt(fixedNow.UnixMilli(), 10)
	want := map[string]string{
		"appKey":     acct.AppKey,
		"appSecret":  acct.AppSecret,
		"tenantSign": settingsOf(acct).TenantSign,
		"version":    version,
		"timestamp":  ts,
		"signature":  Sign(acct.AppKey, acct.AppSecret, settingsOf(acct).TenantSign, version, ts),
		"Accept":     "application/json;charset=utf-8",
	}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if ts != "1714528800123" {
		t.Fatalf("test clock drifted: %s", ts)
	}
}

// sameJSON compares JSON documents with their types: 43 and "43" differ.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	dec := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("body %q is not JSON: %v", b, err)
		}
		return v
	}
	if g, w := dec(got), dec([]byte(want)); !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func fullTask() *command.TaskCreate {
	return &command.TaskCreate{
		Account:     "yiwise-east",
		Name:        "回访任务",
		Mode:        "scheduled",
		StartAt:     "2024-05-02T01:30:00Z",
		DailyWindow: &command.Window{Start: "08:30", End: "21:00"},
		BreakWindow: &command.Window{Start: "11:45", End: "13:30"},
		CallerIDs:   []command.ID{"348", "349"},
		LineType:    "landline",
		Concurrency: 10,
		Script:      command.Script(`{"dialogFlowId":"2"}`),
		Remark:      "测试",
	}
}

func TestClientSendsExactRequests(t *testing.T) {
	defaults := &command.TaskCreate{
		Name: "t", Mode: "manual", CallerIDs: []command.ID{"7"}, LineType: "unfixed",
		Script: command.Script(`{"dialogFlowId":"139"}`),
	}
	tests := []struct {
		name      string
		answer    string
		call      func(*client) (platform.Reply, error)
		method    string
		path      string
		query     string
		body      string // "" means no body
		wantReply platform.Reply
	}{
		{
			name:   "CreateTask sends every field, ids and counts as numbers",
			answer: `{"code":200,"data":139,"requestId":"RKXNIQAF","resultMsg":"修改成功","errorStackTrace":null}`,
			call:   func(c *client) (platform.Reply, error) { return c.CreateTask(context.Background(), fullTask()) },
			method: "POST", path: "/apiOpen/v1/task/createTask",
			body: `{"jobPhoneNumberList":[{"key":348,"value":"057188886666"},{"key":349,"value":"057188886667"}],
				"robotCallJob":{"name":"回访任务","mode":"AUTO","startTime":"2024-05-02 09:30:00",
				"dailyStartTime":"08:30","dailyEndTime":"21:00","inactiveStartTime":"11:45","inactiveEndTime":"13:30",
				"dialogFlowId":2,"phoneType":"LANDLINE","robotCount":10,"description":"测试","tenantId":1}}`,
			wantReply: platform.Reply{ID: "139", RequestID: "RKXNIQAF"},
		},
		{
			name:   "CreateTask fills the documented defaults",
			answer: `{"code":200,"data":"140","requestId":"R2","resultMsg":"ok"}`,
			call:   func(c *client) (platform.Reply, error) { return c.CreateTask(context.Background(), defaults) },
			method: "POST", path: "/apiOpen/v1/task/createTask",
			body: `{"jobPhoneNumberList":[{"key":7,"value":"14000000007"}],
				"robotCallJob":{"name":"t","mode":"MANUAL","startTime":"2024-05-01 10:00:00",
				"dailyStartTime":"09:00","dailyEndTime":"20:00","inactiveStartTime":"12:00","inactiveEndTime":"13:00",
				"dialogFlowId":139,"phoneType":"UNFIXED_CALL","robotCount":1,"tenantId":1}}`,
			wantReply: platform.Reply{ID: "140", RequestID: "R2"},
		},
		{
			name: "CreateTask mobile line and a half window",
			call: func(c *client) (platform.Reply, error) {
				t := *defaults
				t.LineType, t.DailyWindow = "mobile", &command.Window{Start: "10:00"}
				return c.CreateTask(context.Background(), &t)
			},
			answer: `{"code":200,"data":141,"requestId":"R3"}`,
			method: "POST", path: "/apiOpen/v1/task/createTask",
			body: `{"jobPhoneNumberList":[{"key":7,"value":"14000000007"}],
				"robotCallJob":{"name":"t","mode":"MANUAL","startTime":"2024-05-01 10:00:00",
				"dailyStartTime":"10:00","dailyEndTime":"20:00","inactiveStartTime":"12:00","inactiveEndTime":"13:00",
				"dialogFlowId":139,"phoneType":"MOBILE","robotCount":1,"tenantId":1}}`,
			wantReply: platform.Reply{ID: "141", RequestID: "R3"},
		},
		{
			name: "ImportCustomers with data null accepts the whole batch",
			call: func(c *client) (platform.Reply, error) {
				return c.ImportCustomers(context.Background(), "28", []command.Customer{
					{Name: "test", Phone: "11111111111", Properties: map[string]string{"ttt": "jjj"}},
					{Name: "张三", Phone: "13998987676"},
				})
			},
			method: "POST", path: "/apiOpen/v1/task/importTaskCustomer",
			body: `{"robotCallJobId":28,"customerPersons":[
				{"name":"test","phoneNumber":"11111111111","properties":{"ttt":"jjj"}},
				{"name":"张三","phoneNumber":"13998987676"}]}`,
			wantReply: platform.Reply{RequestID: "REQ1", Accepted: 2},
		},
		{
			name:   "ImportCustomers takes the vendor's counts when it sends them",
			answer: `{"code":200,"data":{"successNum":1,"failNum":1},"requestId":"R4"}`,
			call: func(c *client) (platform.Reply, error) {
				return c.ImportCustomers(context.Background(), "28", []command.Customer{{Name: "a", Phone: "1"}, {Name: "b", Phone: "2"}})
			},
			method: "POST", path: "/apiOpen/v1/task/importTaskCustomer",
			body:      `{"robotCallJobId":28,"customerPersons":[{"name":"a","phoneNumber":"1"},{"name":"b","phoneNumber":"2"}]}`,
			wantReply: platform.Reply{RequestID: "R4", Accepted: 1, Rejected: 1},
		},
		{
			name: "StartTask",
			call: func(c *client) (platform.Reply, error) {
				return c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart})
			},
			method: "POST", path: "/apiOpen/v1/task/start", body: `{"robotCallJobId":43}`,
			wantReply: platform.Reply{ID: "43", RequestID: "REQ1"},
		},
		{
			name: "PauseTask",
			call: func(c *client) (platform.Reply, error) {
				return c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionPause})
			},
			method: "POST", path: "/apiOpen/v1/task/pause", body: `{"robotCallJobId":43}`,
			wantReply: platform.Reply{ID: "43", RequestID: "REQ1"},
		},
		{
			name: "StopTask",
			call: func(c *client) (platform.Reply, error) {
				return c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStop})
			},
			method: "POST", path: "/apiOpen/v1/task/stop", body: `{"robotCallJobId":43}`,
			wantReply: platform.Reply{ID: "43", RequestID: "REQ1"},
		},
		{
			name: "DeleteTask",
			call: func(c *client) (platform.Reply, error) {
				return c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionDelete})
			},
			method: "POST", path: "/apiOpen/v1/task/delete", body: `{"robotCallJobId":43}`,
			wantReply: platform.Reply{ID: "43", RequestID: "REQ1"},
		},
		{
			name: "SetConcurrency updates robotCount",
			call: func(c *client) (platform.Reply, error) {
				return c.ControlTask(context.Background(), &command.TaskControl{TaskID: "28", Action: command.ActionSetConcurrency, Concurrency: 2})
			},
			method: "POST", path: "/apiOpen/v1/task/update", body: `{"robotCallJobId":28,"robotCount":2}`,
			wantReply: platform.Reply{ID: "28", RequestID: "REQ1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			if tt.answer != "" {
				api.answer(http.StatusOK, tt.answer)
			}
			acct := clientAccount(api.URL)
			reply, err := tt.call(testClient(acct))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if reply != tt.wantReply {
				t.Errorf("reply = %+v, want %+v", reply, tt.wantReply)
			}
			r := api.only(t)
			if r.Method != tt.method || r.Path != tt.path || r.RawQuery != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", r.Method, r.Path, r.RawQuery, tt.method, tt.path, tt.query)
			}
			checkSigned(t, acct, r, "v1")
			if tt.body == "" {
				if len(r.Body) != 0 || r.Header.Get("Content-Type") != "" {
					t.Errorf("GET carries body %q / content type %q", r.Body, r.Header.Get("Content-Type"))
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			sameJSON(t, r.Body, tt.body)
		})
	}
}

func TestFindTasksReturnsExactNameMatches(t *testing.T) {
	api := newFakeAPI(t)
	api.answer(http.StatusOK, `{"code":200,"data":{"number":1,"pageSize":50,"totalElements":4,"pages":1,"content":[
		{"robotCallJobId":1,"name":"回访 任务","status":"TERMINATE"},
		{"robotCallJobId":2,"name":"回访 任务 2","status":"IN_PROCESS"},
		{"robotCallJobId":"3","name":"回访 任务","status":"NOT_STARTED"},
		{"robotCallJobId":null,"name":"回访 任务"},
		"garbage"]},"requestId":"OTMAGZFW"}`)
	acct := clientAccount(api.URL)
	ids, err := testClient(acct).FindTasks(context.Background(), "回访 任务")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []string{"1", "3"}) {
		t.Errorf("ids = %q, want [1 3]", ids)
	}
	r := api.only(t)
	if r.Method != "GET" || r.Path != "/apiOpen/v1/task/getTasks" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	if r.RawQuery != "name=%E5%9B%9E%E8%AE%BF+%E4%BB%BB%E5%8A%A1&pageNum=1&pageSize=50" {
		t.Errorf("query = %q", r.RawQuery)
	}
	checkSigned(t, acct, r, "v1")

	api.answer(http.StatusOK, `{"code":200,"data":null,"requestId":"X"}`)
	ids, err = testClient(acct).FindTasks(context.Background(), "none")
	if err != nil || len(ids) != 0 {
		t.Errorf("FindTasks with data null = %q, %v; want none", ids, err)
	}
}

func TestClientPathOverridesAndVersion(t *testing.T) {
	api := newFakeAPI(t)
	acct := clientAccount(api.URL + "/")
	acct.Settings = Settings{TenantSign: "yiwisexxxx", APIVersion: "v2"}
	acct.Paths = map[string]string{
		EndpointStart:    "/apiOpen/v1/task/startJob",
		EndpointGetTasks: "apiOpen/v1/task/list",
	}
	c := testClient(acct)
	if _, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindTasks(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionPause}); err != nil {
		t.Fatal(err)
	}
	reqs := api.requests()
	want := []string{"/apiOpen/v1/task/startJob", "/apiOpen/v1/task/list", "/apiOpen/v1/task/pause"}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Path != want[i] {
			t.Errorf("request %d path = %q, want %q", i, r.Path, want[i])
		}
		checkSigned(t, acct, r, "v2")
	}
}

func TestClientVendorErrorsAreTyped(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantHTTP  int
		wantCode  int
		wantMsg   string
		wantReqID string
		retryable bool
	}{
		{"envelope 401", 200, `{"code":401,"data":null,"requestId":"A","resultMsg":"校验数据错误"}`, 200, 401, "校验数据错误", "A", false},
		{"envelope 403", 200, `{"code":403,"requestId":"B","resultMsg":"权限不足"}`, 200, 403, "权限不足", "B", false},
		{"envelope 404", 200, `{"code":404,"requestId":"C","resultMsg":"资源未找到"}`, 200, 404, "资源未找到", "C", false},
		{"envelope 412", 200, `{"code":412,"requestId":"D","resultMsg":"参数错误"}`, 200, 412, "参数错误", "D", false},
		{"envelope 500", 200, `{"code":500,"requestId":"E","resultMsg":"未知错误"}`, 200, 500, "未知错误", "E", true},
		{"envelope 429", 200, `{"code":429,"requestId":"F","resultMsg":"too many"}`, 200, 429, "too many", "F", true},
		{"envelope code as string", 200, `{"code":"412","requestId":"G","resultMsg":"参数错误"}`, 200, 412, "参数错误", "G", false},
		{"envelope on an HTTP error", 500, `{"code":500,"requestId":"H","resultMsg":"boom"}`, 500, 500, "boom", "H", true},
		{"HTTP 502 without envelope", 502, `<html>bad gateway</html>`, 502, 0, "HTTP 502 Bad Gateway", "", true},
		{"HTTP 503 empty", 503, ``, 503, 0, "HTTP 503 Service Unavailable", "", true},
		{"HTTP 429 without envelope", 429, `slow down`, 429, 0, "HTTP 429 Too Many Requests", "", true},
		{"HTTP 404 without envelope", 404, `404 page not found`, 404, 0, "HTTP 404 Not Found", "", false},
		{"HTTP 401 without envelope", 401, ``, 401, 0, "HTTP 401 Unauthorized", "", false},
		{"success code on an HTTP error", 500, `{"code":200,"requestId":"I"}`, 500, 0, "HTTP 500 Internal Server Error", "I", true},
		{"HTTP 200 without envelope", 200, `<html>login</html>`, 200, 0, "answer is not a Yiwise envelope {code, data, resultMsg}", "", false},
		{"HTTP 302 is not followed", 302, ``, 302, 0, "HTTP 302 Found", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.answer(tt.status, tt.body)
			_, err := testClient(clientAccount(api.URL)).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart})
			var ve *platform.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *platform.Error", err, err)
			}
			want := platform.Error{Endpoint: "task/start", HTTPStatus: tt.wantHTTP, Code: tt.wantCode,
				Message: tt.wantMsg, RequestID: tt.wantReqID, Retryable: tt.retryable}
			if *ve != want {
				t.Errorf("err = %+v\nwant  %+v", *ve, want)
			}
			if platform.IsRetryable(err) != tt.retryable {
				t.Errorf("IsRetryable = %v", !tt.retryable)
			}
		})
	}
}

func TestClientDoesNotFollowRedirectsWithSecrets(t *testing.T) {
	elsewhere := newFakeAPI(t)
	api := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/steal", http.StatusTemporaryRedirect))
	defer api.Close()
	_, err := testClient(clientAccount(api.URL)).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart})
	if err == nil || platform.IsRetryable(err) {
		t.Errorf("err = %v, want a non-retryable error", err)
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("redirect target got %d requests", n)
	}
}

func TestClientTransportErrorsAreRetryable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		api := newFakeAPI(t)
		url := api.URL
		api.Close()
		_, err := testClient(clientAccount(url)).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart})
		var ve *platform.Error
		if !errors.As(err, &ve) || !ve.Retryable || ve.Err == nil || ve.HTTPStatus != 0 || ve.Endpoint != "task/start" {
			t.Fatalf("err = %#v, want a retryable transport *platform.Error", err)
		}
	})
	t.Run("per-request timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		acct := clientAccount(srv.URL)
		acct.Timeout = 50 * time.Millisecond
		start := time.Now()
		_, err := testClient(acct).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStop})
		if time.Since(start) > 5*time.Second {
			t.Errorf("timeout took %v", time.Since(start))
		}
		var ve *platform.Error
		if !errors.As(err, &ve) || !ve.Retryable || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a retryable timeout", err)
		}
	})
	t.Run("caller cancelled is not retryable", func(t *testing.T) {
		api := newFakeAPI(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := testClient(clientAccount(api.URL)).ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionStart})
		var ve *platform.Error
		if !errors.As(err, &ve) || ve.Retryable || !errors.Is(err, context.Canceled) || platform.IsRetryable(err) {
			t.Fatalf("err = %v, want a non-retryable cancellation", err)
		}
	})
}

func TestClientRefusesWhatItCannotSend(t *testing.T) {
	bad := func(mut func(*command.TaskCreate)) func(*client) error {
		return func(c *client) error {
			tc := fullTask()
			mut(tc)
			_, err := c.CreateTask(context.Background(), tc)
			return err
		}
	}
	hundredOne := make([]command.Customer, 101)
	tests := []struct {
		name string
		call func(*client) error
		want error
	}{
		{"redial, which createJob has no settings for", bad(func(t *command.TaskCreate) {
			t.Redial = &command.Redial{Enabled: true, Rules: []command.RedialRule{{Status: "busy", Times: 2, IntervalMinutes: 30}}}
		}), platform.ErrUnsupported},
		{"non-numeric caller id", bad(func(t *command.TaskCreate) { t.CallerIDs = []command.ID{"348", "abc"} }), platform.ErrInvalidInput},
		{"non-numeric dialogFlowId", bad(func(t *command.TaskCreate) { t.Script = command.Script(`{"dialogFlowId":"flow-2"}`) }), platform.ErrInvalidInput},
		{"missing dialogFlowId", bad(func(t *command.TaskCreate) { t.Script = command.Script(`{}`) }), platform.ErrInvalidInput},
		{"missing name", bad(func(t *command.TaskCreate) { t.Name = " " }), platform.ErrInvalidInput},
		{"unknown mode", bad(func(t *command.TaskCreate) { t.Mode = "auto" }), platform.ErrInvalidInput},
		{"unknown lineType", bad(func(t *command.TaskCreate) { t.LineType = "voip" }), platform.ErrInvalidInput},
		{"startAt not RFC 3339", bad(func(t *command.TaskCreate) { t.StartAt = "2024-05-02 09:30:00" }), platform.ErrInvalidInput},
		{"window not HH:mm", bad(func(t *command.TaskCreate) { t.DailyWindow = &command.Window{Start: "9am", End: "20:00"} }), platform.ErrInvalidInput},
		{"nil task", func(c *client) error { _, err := c.CreateTask(context.Background(), nil); return err }, platform.ErrInvalidInput},
		{"import into a non-numeric task", func(c *client) error {
			_, err := c.ImportCustomers(context.Background(), "task-1", []command.Customer{{Name: "a", Phone: "1"}})
			return err
		}, platform.ErrInvalidInput},
		{"import more than a batch", func(c *client) error {
			_, err := c.ImportCustomers(context.Background(), "1", hundredOne)
			return err
		}, platform.ErrInvalidInput},
		{"start a non-numeric task", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "abc", Action: command.ActionStart})
			return err
		}, platform.ErrInvalidInput},
		{"pause an empty task id", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "", Action: command.ActionPause})
			return err
		}, platform.ErrInvalidInput},
		{"stop a fractional task id", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "1.5", Action: command.ActionStop})
			return err
		}, platform.ErrInvalidInput},
		{"delete an overflowing task id", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "99999999999999999999", Action: command.ActionDelete})
			return err
		}, platform.ErrInvalidInput},
		{"concurrency on a non-numeric task", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "1e3", Action: command.ActionSetConcurrency, Concurrency: 2})
			return err
		}, platform.ErrInvalidInput},
		{"zero concurrency", func(c *client) error {
			_, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionSetConcurrency, Concurrency: 0})
			return err
		}, platform.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			err := tt.call(testClient(clientAccount(api.URL)))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if platform.IsRetryable(err) {
				t.Error("err is retryable")
			}
			if n := len(api.requests()); n != 0 {
				t.Errorf("vendor got %d requests, want none", n)
			}
		})
	}
}

func TestImportCustomersEmptyBatchSendsNothing(t *testing.T) {
	api := newFakeAPI(t)
	c := testClient(clientAccount(api.URL))
	if c.ImportBatchSize() != 100 {
		t.Errorf("ImportBatchSize = %d, want 100", c.ImportBatchSize())
	}
	reply, err := c.ImportCustomers(context.Background(), "1", nil)
	if err != nil || reply != (platform.Reply{}) {
		t.Errorf("ImportCustomers(empty) = %+v, %v", reply, err)
	}
	if n := len(api.requests()); n != 0 {
		t.Errorf("vendor got %d requests", n)
	}
}

func TestCreateTaskWithoutIDInAnswerIsAnError(t *testing.T) {
	api := newFakeAPI(t)
	_, err := testClient(clientAccount(api.URL)).CreateTask(context.Background(), fullTask())
	var ve *platform.Error
	if !errors.As(err, &ve) || ve.Retryable || ve.RequestID != "REQ1" {
		t.Errorf("err = %v, want a non-retryable *platform.Error", err)
	}
}

func TestNewClientLeavesTheCallersHTTPClientAlone(t *testing.T) {
	api := newFakeAPI(t)
	hc := &http.Client{Timeout: 3 * time.Second}
	c := Vendor{}.NewClient(clientAccount(api.URL), hc)
	if _, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionStart}); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil || hc.CheckRedirect != nil {
		t.Error("NewClient modified the caller's http.Client")
	}
	// The real clock signs with the current time.
	r := api.only(t)
	ts, err := strconv.ParseInt(r.Header.Get("timestamp"), 10, 64)
	if err != nil || time.Since(time.UnixMilli(ts)).Abs() > time.Minute {
		t.Errorf("timestamp = %q, want now in epoch ms", r.Header.Get("timestamp"))
	}
	acct := clientAccount(api.URL)
	if r.Header.Get("signature") != Sign(acct.AppKey, acct.AppSecret, settingsOf(acct).TenantSign, "v1", r.Header.Get("timestamp")) {
		t.Error("signature does not verify")
	}
	// A nil http.Client works too.
	if _, err := NewClient(acct, nil).ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionPause}); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsNeverCarrySecretsOrPhones(t *testing.T) {
	api := newFakeAPI(t)
	acct := clientAccount(api.URL)
	c := testClient(acct)
	url := api.URL
	api.Close()
	var errs []error
	_, err := c.ImportCustomers(context.Background(), "1", []command.Customer{{Name: "a", Phone: "13912345678"}})
	errs = append(errs, err)
	_, err = c.ImportCustomers(context.Background(), "x", []command.Customer{{Name: "a", Phone: "13912345678"}})
	errs = append(errs, err)
	_, err = testClient(clientAccount(url)).CreateTask(context.Background(), fullTask())
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("want an error")
		}
		for _, secret := range []string{acct.AppSecret, acct.AppKey, "13912345678"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals %q", err, secret)
			}
		}
	}
}
