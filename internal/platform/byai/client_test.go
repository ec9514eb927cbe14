package byai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// clock is late on 12 Jan in UTC, already 13 Jan in Shanghai: dates must be local.
var clock = time.Date(2019, 1, 12, 20, 9, 32, 0, time.UTC)

const clockHeader = "Sat, 12 Jan 2019 20:09:32 GMT"

type request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

type reply struct {
	status int
	body   string
}

// fakeAPI records every request and answers by path, with a success envelope by default.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    []request
	replies map[string]reply
	srv     *httptest.Server
}

func newFakeAPI(t *testing.T, replies map[string]reply) *fakeAPI {
	f := &fakeAPI{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		rep, ok := f.replies[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			rep = reply{200, `{"code":200,"data":null,"resultMsg":"执行成功","errorStackTrace":null,"requestId":"req-1"}`}
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fakeAPI) client(acct *platform.Account) *client {
	acct.BaseURL = f.srv.URL
	return newClient(acct, f.srv.Client(), func() time.Time { return clock })
}

func ok(data string) reply {
	return reply{200, `{"code":200,"data":` + data + `,"resultMsg":"成功","errorStackTrace":null,"requestId":"req-1"}`}
}

// wantReq is one expected request; body is JSON compared with its types (a number is
// not a string), "" for none.
type wantReq struct {
	method, path string
	query        url.Values
	body         string
}

func decodeTyped(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return v
}

func checkRequests(t *testing.T, acct *platform.Account, got []request, want []wantReq) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method || g.Path != w.path {
			t.Errorf("request %d: %s %s, want %s %s", i, g.Method, g.Path, w.method, w.path)
		}
		if len(w.query) > 0 || len(g.Query) > 0 {
			if !reflect.DeepEqual(g.Query, w.query) {
				t.Errorf("request %d query %v, want %v", i, g.Query, w.query)
			}
		}
		h := g.Header
		if h.Get("appkey") != acct.AppKey || h.Get("datetime") != clockHeader {
			t.Errorf("request %d: appkey %q datetime %q", i, h.Get("appkey"), h.Get("datetime"))
		}
		if want := Sign(acct.AppKey, acct.AppSecret, h.Get("datetime")); h.Get("sign") != want {
			t.Errorf("request %d: sign %q, want %q", i, h.Get("sign"), want)
		}
		if h.Get("Accept") != "application/json;charset=utf-8" {
			t.Errorf("request %d: Accept %q", i, h.Get("Accept"))
		}
		if w.body == "" {
			if len(g.Body) != 0 || h.Get("Content-Type") != "" {
				t.Errorf("request %d: unexpected body %q (%s)", i, g.Body, h.Get("Content-Type"))
			}
			continue
		}
		if h.Get("Content-Type") != "application/json;charset=utf-8" {
			t.Errorf("request %d: Content-Type %q", i, h.Get("Content-Type"))
		}
		if gotBody, wantBody := decodeTyped(t, g.Body), decodeTyped(t, []byte(w.body)); !reflect.DeepEqual(gotBody, wantBody) {
			t.Errorf("request %d body:\n%s\nwant:\n%s", i, g.Body, w.body)
		}
	}
}

func TestClientSendsEachCommandAsTheVendorDocumentsIt(t *testing.T) {
	customers := []command.Customer{
		{Name: "测试0", Phone: "18311110000", Properties: map[string]string{"real_name": "real"}},
		{Name: "测试1", Phone: "18311112222"},
	}
	detail := `{"callJobId":43,"jobName":"night run","jobType":1,"startDate":"2019-01-13",
		"workingStartTime":"09:00:00","workingEndTime":"20:30:00","breakStartTime":null,"breakEndTime":"14:00:00",
		"status":4,"callPhones":[{"jobPhoneId":26,"userPhoneId":255,"phone":"13333333333"},{"jobPhoneId":27,"userPhoneId":244}]}`
	phones := `[{"userPhoneId":1,"phoneType":0},{"userPhoneId":244,"phoneType":6},{"userPhoneId":255,"phoneType":2}]`
	tests := []struct {
		name    string
		replies map[string]reply
		call    func(ctx context.Context, c *client) (any, error)
		want    []wantReq
		result  any
	}{
		{
			name:    "create task with every option",
			replies: map[string]reply{"/openapi/v1/task/createTask": ok("67")},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.CreateTask(ctx, &command.TaskCreate{
					Name: "night run", Mode: "scheduled", StartAt: "2019-01-12T23:30:00Z",
					DailyWindow: &command.Window{Start: "09:00", End: "20:30"},
					BreakWindow: &command.Window{Start: "12:00", End: "13:30:00"},
					CallerIDs:   []command.ID{"887", "12"}, LineType: "landline", Concurrency: 3,
					Script: command.Script(`{"robotDefId":"180","sceneDefId":"192","sceneRecordId":"193"}`),
					Redial: &command.Redial{Enabled: true, Rules: []command.RedialRule{
						{Status: "no_answer", Times: 2, IntervalMinutes: 30}, {Status: "call_loss", Times: 1, IntervalMinutes: 5},
					}},
					Remark: "from kafka",
				})
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/createTask", body: `{
				"companyId": 151, "taskName": "night run", "taskType": 1, "startDate": "2019-01-13",
				"workingStartTime": "09:00", "workingEndTime": "20:30", "breakStartTime": "12:00", "breakEndTime": "13:30",
				"userPhoneIds": [887, 12], "callType": 1, "concurrencyQuota": 3,
				"robotDefId": 180, "sceneDefId": 192, "sceneRecordId": 193, "remark": "from kafka",
				"repeatCall": true, "repeatCallRule": [{"phoneStatus": 8, "times": 2, "interval": 30}, {"phoneStatus": 10, "times": 1, "interval": 5}]}`}},
			result: platform.Reply{ID: "67", RequestID: "req-1"},
		},
		{
			name:    "create task with defaults leaves optional fields out",
			replies: map[string]reply{"/openapi/v1/task/createTask": ok(`"68"`)},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.CreateTask(ctx, &command.TaskCreate{
					Name: "manual", Mode: "manual", CallerIDs: []command.ID{"1"}, LineType: "mobile",
					Script: command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"3"}`),
					Redial: &command.Redial{Enabled: false},
				})
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/createTask", body: `{
				"companyId": 151, "taskName": "manual", "taskType": 2, "startDate": "2019-01-13",
				"userPhoneIds": [1], "callType": 0, "robotDefId": 1, "sceneDefId": 2, "sceneRecordId": 3, "repeatCall": false}`}},
			result: platform.Reply{ID: "68", RequestID: "req-1"},
		},
		{
			name:    "unfixed line type",
			replies: map[string]reply{"/openapi/v1/task/createTask": ok("69")},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.CreateTask(ctx, &command.TaskCreate{
					Name: "u", Mode: "manual", StartAt: "2019-02-01T08:00:00+08:00", CallerIDs: []command.ID{}, LineType: "unfixed",
					Script: command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"3"}`),
				})
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/createTask", body: `{
				"companyId": 151, "taskName": "u", "taskType": 2, "startDate": "2019-02-01",
				"userPhoneIds": [], "callType": 2, "robotDefId": 1, "sceneDefId": 2, "sceneRecordId": 3}`}},
			result: platform.Reply{ID: "69", RequestID: "req-1"},
		},
		{
			name:    "import customers reports the vendor's counts",
			replies: map[string]reply{"/openapi/v1/task/importTaskCustomer": ok(`{"successNum":1,"failNum":1}`)},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ImportCustomers(ctx, "10000", customers)
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/importTaskCustomer", body: `{
				"taskId": 10000, "companyId": 151, "customerInfoList": [
					{"name": "测试0", "phone": "18311110000", "properties": {"real_name": "real"}},
					{"name": "测试1", "phone": "18311112222"}]}`}},
			result: platform.Reply{RequestID: "req-1", Accepted: 1, Rejected: 1},
		},
		{
			name: "import customers without counts accepts the batch",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ImportCustomers(ctx, "10000", customers)
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/importTaskCustomer", body: `{
				"taskId": 10000, "companyId": 151, "customerInfoList": [
					{"name": "测试0", "phone": "18311110000", "properties": {"real_name": "real"}},
					{"name": "测试1", "phone": "18311112222"}]}`}},
			result: platform.Reply{RequestID: "req-1", Accepted: 2},
		},
		{
			name: "import of no customers sends nothing",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ImportCustomers(ctx, "10000", nil)
			},
			result: platform.Reply{},
		},
		{
			name: "start",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionStart})
			},
			want:   []wantReq{{method: "POST", path: "/openapi/v1/task/start", body: `{"taskId": 43}`}},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name: "pause",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionPause})
			},
			want:   []wantReq{{method: "POST", path: "/openapi/v1/task/pause", body: `{"taskId": 43}`}},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name: "stop",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionStop})
			},
			want:   []wantReq{{method: "POST", path: "/openapi/v1/task/stop", body: `{"taskId": 43}`}},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name: "delete sends the id as a string",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionDelete})
			},
			want:   []wantReq{{method: "POST", path: "/openapi/v1/task/delete", body: `{"taskId": "43"}`}},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name: "set concurrency rewrites the task from its detail",
			replies: map[string]reply{
				"/openapi/v1/task/getTaskDetail": ok(detail),
				"/openapi/v1/company/getPhones":  ok(phones),
			},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.ControlTask(ctx, &command.TaskControl{TaskID: "43", Action: command.ActionSetConcurrency, Concurrency: 5})
			},
			want: []wantReq{
				{method: "GET", path: "/openapi/v1/task/getTaskDetail", query: url.Values{"companyId": {"151"}, "taskId": {"43"}}},
				{method: "GET", path: "/openapi/v1/company/getPhones", query: url.Values{"companyId": {"151"}}},
				{method: "POST", path: "/openapi/v1/task/update", body: `{
					"companyId": 151, "taskId": 43, "taskName": "night run", "taskType": 1,
					"userPhoneIds": "255,244", "callType": 2, "concurrencyQuota": 5, "startDate": "2019-01-13",
					"workingStartTime": "09:00", "workingEndTime": "20:30", "breakEndTime": "14:00"}`},
			},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name:    "single call with no variables still sends the field",
			replies: map[string]reply{"/openapi/v1/task/singleCallByMobile": ok("1540384412")},
			call: func(ctx context.Context, c *client) (any, error) {
				return c.SingleCall(ctx, &command.CallSingle{
					Phone: "13886871111", Script: command.Script(`{"robotDefId":"230","sceneDefId":"255","sceneRecordId":"256"}`),
				})
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/singleCallByMobile", body: `{
				"mobile": "13886871111", "companyId": 151, "variables": {},
				"sceneDefId": 255, "sceneRecordId": 256, "robotDefId": 230}`}},
			result: platform.Reply{ID: "1540384412", RequestID: "req-1"},
		},
		{
			name: "single call with name and variables",
			call: func(ctx context.Context, c *client) (any, error) {
				return c.SingleCall(ctx, &command.CallSingle{
					Phone: "13886871111", Name: "张三", Variables: map[string]string{"userName": "张三", "age": "15"},
					Script: command.Script(`{"robotDefId":"230","sceneDefId":"255","sceneRecordId":"256"}`),
				})
			},
			want: []wantReq{{method: "POST", path: "/openapi/v1/task/singleCallByMobile", body: `{
				"mobile": "13886871111", "companyId": 151, "variables": {"userName": "张三", "age": "15"},
				"sceneDefId": 255, "sceneRecordId": 256, "robotDefId": 230, "userName": "张三"}`}},
			result: platform.Reply{RequestID: "req-1"},
		},
		{
			name: "find tasks keeps exact names only",
			replies: map[string]reply{"/openapi/v1/task/getTasks": ok(`{"pageNum":1,"pageSize":50,"total":3,"list":[
				{"callJobId":66,"jobName":"night run"},{"callJobId":64,"jobName":"night run 2"},{"callJobId":"70","jobName":"night run"}]}`)},
			call: func(ctx context.Context, c *client) (any, error) { return c.FindTasks(ctx, "night run") },
			want: []wantReq{{method: "GET", path: "/openapi/v1/task/getTasks", query: url.Values{
				"companyId": {"151"}, "taskName": {"night run"}, "pageNum": {"1"}, "pageSize": {"50"},
			}}},
			result: []string{"66", "70"},
		},
		{
			name:    "find tasks with no page finds none",
			replies: map[string]reply{"/openapi/v1/task/getTasks": ok("null")},
			call:    func(ctx context.Context, c *client) (any, error) { return c.FindTasks(ctx, "x") },
			want: []wantReq{{method: "GET", path: "/openapi/v1/task/getTasks", query: url.Values{
				"companyId": {"151"}, "taskName": {"x"}, "pageNum": {"1"}, "pageSize": {"50"},
			}}},
			result: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.replies)
			acct := testAccount()
			got, err := tt.call(context.Background(), api.client(acct))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.result) {
				t.Errorf("result %#v, want %#v", got, tt.result)
			}
			checkRequests(t, acct, api.requests(), tt.want)
		})
	}
}

func TestClientSetConcurrencyFailsWithoutWhatUpdateNeeds(t *testing.T) {
	tests := []struct {
		name     string
		detail   string
		phones   string
		requests int
		want     string
	}{
		{"no caller lines", `{"jobName":"a","jobType":2,"callPhones":null}`, "[]", 1, "no caller lines"},
		{"no job type", `{"jobName":"a","callPhones":[{"userPhoneId":1}]}`, "[]", 1, "no jobType"},
		{"caller line unknown to the company", `{"jobName":"a","jobType":2,"callPhones":[{"userPhoneId":9}]}`, `[{"userPhoneId":1,"phoneType":0}]`, 2, "not among the company's phones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{
				"/openapi/v1/task/getTaskDetail": ok(tt.detail),
				"/openapi/v1/company/getPhones":  ok(tt.phones),
			})
			_, err := api.client(testAccount()).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionSetConcurrency, Concurrency: 2})
			var ve *platform.Error
			if !errors.As(err, &ve) || ve.Retryable || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a non-retryable vendor error saying %q", err, tt.want)
			}
			if n := len(api.requests()); n != tt.requests {
				t.Errorf("%d requests, want %d (never the update)", n, tt.requests)
			}
		})
	}
}

func TestClientPathOverrides(t *testing.T) {
	api := newFakeAPI(t, nil)
	acct := testAccount()
	acct.Paths = map[string]string{EndpointStart: "/v2/start", EndpointPause: ""}
	c := api.client(acct)
	// A base URL with a path prefix and a trailing slash still joins cleanly.
	acct.BaseURL = api.srv.URL + "/gw/"
	for _, action := range []string{command.ActionStart, command.ActionPause} {
		if _, err := c.ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	checkRequests(t, acct, api.requests(), []wantReq{
		{method: "POST", path: "/gw/v2/start", body: `{"taskId":1}`},
		{method: "POST", path: "/gw/openapi/v1/task/pause", body: `{"taskId":1}`},
	})
}

func TestClientVendorErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      reply
		wantStatus int
		wantCode   int
		wantMsg    string
		wantReqID  string
		retryable  bool
	}{
		{"envelope 401 is final", reply{200, `{"code":401,"data":null,"resultMsg":"校验数据错误","requestId":"r-401"}`}, 200, 401, "校验数据错误", "r-401", false},
		{"envelope 403 is final", reply{200, `{"code":403,"resultMsg":"权限不足"}`}, 200, 403, "权限不足", "", false},
		{"envelope 404 is final", reply{200, `{"code":404,"resultMsg":"资源未找到"}`}, 200, 404, "资源未找到", "", false},
		{"envelope 412 is final", reply{200, `{"code":412,"resultMsg":"参数错误","requestId":7}`}, 200, 412, "参数错误", "7", false},
		{"envelope code as a string", reply{200, `{"code":"412","resultMsg":"参数错误"}`}, 200, 412, "参数错误", "", false},
		{"envelope 500 is retried", reply{200, `{"code":500,"resultMsg":"未知错误"}`}, 200, 500, "未知错误", "", true},
		{"envelope 429 is retried", reply{200, `{"code":429,"resultMsg":"too many"}`}, 200, 429, "too many", "", true},
		{"HTTP 500 with envelope", reply{500, `{"code":500,"resultMsg":"未知错误"}`}, 500, 500, "未知错误", "", true},
		{"HTTP 502 page is retried", reply{502, `<html>Bad Gateway</html>`}, 502, 0, "Bad Gateway", "", true},
		{"HTTP 429 without body is retried", reply{429, ``}, 429, 0, "Too Many Requests", "", true},
		{"HTTP 404 page is final", reply{404, `<html>Not Found</html>`}, 404, 0, "Not Found", "", false},
		{"HTTP 403 page is final", reply{403, `forbidden`}, 403, 0, "Forbidden", "", false},
		{"HTTP 200 that is not an envelope is retried", reply{200, `<html>maintenance</html>`}, 200, 0, "response is not a vendor envelope", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, map[string]reply{"/openapi/v1/task/start": tt.reply})
			_, err := api.client(testAccount()).ControlTask(context.Background(), &command.TaskControl{TaskID: "43", Action: command.ActionStart})
			var ve *platform.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *platform.Error", err)
			}
			if ve.Endpoint != EndpointStart || ve.HTTPStatus != tt.wantStatus || ve.Code != tt.wantCode ||
				ve.Message != tt.wantMsg || ve.RequestID != tt.wantReqID || ve.Retryable != tt.retryable {
				t.Errorf("got %+v, want status %d code %d message %q request %q retryable %v",
					*ve, tt.wantStatus, tt.wantCode, tt.wantMsg, tt.wantReqID, tt.retryable)
			}
			if platform.IsRetryable(err) != tt.retryable {
				t.Errorf("IsRetryable = %v", platform.IsRetryable(err))
			}
		})
	}
}

func TestClientTransportFailures(t *testing.T) {
	t.Run("connection refused is retried", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		acct := testAccount()
		acct.BaseURL = srv.URL
		_, err := NewClient(acct, nil).ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionStart})
		var ve *platform.Error
		if !errors.As(err, &ve) || ve.Err == nil || !ve.Retryable || ve.Endpoint != EndpointStart {
			t.Fatalf("err = %#v, want a retryable transport error", err)
		}
	})

	// hang returns a client of a vendor that never answers.
	hang := func(t *testing.T, acct *platform.Account) *client {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		acct.BaseURL = srv.URL
		return newClient(acct, srv.Client(), func() time.Time { return clock })
	}
	t.Run("per-request timeout is retried", func(t *testing.T) {
		acct := testAccount()
		acct.Timeout = 50 * time.Millisecond
		start := time.Now()
		_, err := hang(t, acct).ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionStop})
		if !platform.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a retryable timeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
	t.Run("caller cancellation is not retried", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := hang(t, testAccount()).ControlTask(ctx, &command.TaskControl{TaskID: "1", Action: command.ActionStop})
		var ve *platform.Error
		if !errors.As(err, &ve) || ve.Retryable || platform.IsRetryable(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a non-retryable cancellation", err)
		}
	})
}

func TestClientRejectsInputItCannotSend(t *testing.T) {
	script := command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"3"}`)
	task := func(change func(*command.TaskCreate)) *command.TaskCreate {
		tc := &command.TaskCreate{Name: "n", Mode: "manual", LineType: "mobile", CallerIDs: []command.ID{"1"}, Script: script}
		change(tc)
		return tc
	}
	create := func(change func(*command.TaskCreate)) func(context.Context, *client) error {
		return func(ctx context.Context, c *client) error { _, err := c.CreateTask(ctx, task(change)); return err }
	}
	tests := []struct {
		name string
		acct func(*platform.Account)
		call func(context.Context, *client) error
	}{
		{"start with a non-numeric id", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "abc", Action: command.ActionStart})
			return err
		}},
		{"pause with an empty id", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "", Action: command.ActionPause})
			return err
		}},
		{"stop with a negative id", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "-4", Action: command.ActionStop})
			return err
		}},
		{"delete with a non-numeric id", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "4a", Action: command.ActionDelete})
			return err
		}},
		{"set concurrency with a non-numeric id", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "x", Action: command.ActionSetConcurrency, Concurrency: 2})
			return err
		}},
		{"set concurrency to zero", nil, func(ctx context.Context, c *client) error {
			_, err := c.ControlTask(ctx, &command.TaskControl{TaskID: "1", Action: command.ActionSetConcurrency, Concurrency: 0})
			return err
		}},
		{"import into a non-numeric task", nil, func(ctx context.Context, c *client) error {
			_, err := c.ImportCustomers(ctx, "t-1", []command.Customer{{Name: "a", Phone: "1"}})
			return err
		}},
		{"import more than a batch", nil, func(ctx context.Context, c *client) error {
			_, err := c.ImportCustomers(ctx, "1", make([]command.Customer, importBatchSize+1))
			return err
		}},
		{"create with a non-numeric caller id", nil, create(func(tc *command.TaskCreate) { tc.CallerIDs = []command.ID{"1", "line-2"} })},
		{"create with a non-numeric script id", nil, create(func(tc *command.TaskCreate) {
			tc.Script = command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"rec"}`)
		})},
		{"create without a script id", nil, create(func(tc *command.TaskCreate) { tc.Script = command.Script(`{"sceneDefId":"2","sceneRecordId":"3"}`) })},
		{"create with an unknown mode", nil, create(func(tc *command.TaskCreate) { tc.Mode = "auto" })},
		{"create with an unknown line type", nil, create(func(tc *command.TaskCreate) { tc.LineType = "satellite" })},
		{"create with a startAt that is not RFC 3339", nil, create(func(tc *command.TaskCreate) { tc.StartAt = "2019-01-12 08:00:00" })},
		{"create with a window that is not a time", nil, create(func(tc *command.TaskCreate) { tc.DailyWindow = &command.Window{Start: "9am", End: "20:00"} })},
		{"create with a redial status BYAI has no code for", nil, create(func(tc *command.TaskCreate) {
			tc.Redial = &command.Redial{Enabled: true, Rules: []command.RedialRule{{Status: "system_error", Times: 1}}}
		})},
		{"create for an account without company id", func(a *platform.Account) { a.Settings = Settings{} }, create(func(*command.TaskCreate) {})},
		{"single call without phone", nil, func(ctx context.Context, c *client) error {
			_, err := c.SingleCall(ctx, &command.CallSingle{Phone: " ", Script: script})
			return err
		}},
		{"single call with a non-numeric script id", nil, func(ctx context.Context, c *client) error {
			_, err := c.SingleCall(ctx, &command.CallSingle{Phone: "13886871111", Script: command.Script(`{"robotDefId":"1","sceneDefId":"x","sceneRecordId":"3"}`)})
			return err
		}},
		{"find tasks for an account with a non-numeric company id", func(a *platform.Account) { a.Settings = Settings{CompanyID: "acme"} }, func(ctx context.Context, c *client) error {
			_, err := c.FindTasks(ctx, "n")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, nil)
			acct := testAccount()
			if tt.acct != nil {
				tt.acct(acct)
			}
			err := tt.call(context.Background(), api.client(acct))
			if !errors.Is(err, platform.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			if n := len(api.requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestClientCreateTaskWithoutReturnedIDFails(t *testing.T) {
	api := newFakeAPI(t, nil)
	_, err := api.client(testAccount()).CreateTask(context.Background(), &command.TaskCreate{
		Name: "n", Mode: "manual", LineType: "mobile", CallerIDs: []command.ID{"1"},
		Script: command.Script(`{"robotDefId":"1","sceneDefId":"2","sceneRecordId":"3"}`),
	})
	var ve *platform.Error
	if !errors.As(err, &ve) || ve.Retryable || ve.RequestID != "req-1" {
		t.Fatalf("err = %v, want a non-retryable error carrying the request id", err)
	}
}

func TestClientImportBatchSize(t *testing.T) {
	if n := NewClient(testAccount(), nil).ImportBatchSize(); n != 100 {
		t.Errorf("ImportBatchSize = %d, want 100", n)
	}
}

func TestSignerLeavesTheCallersRequestAlone(t *testing.T) {
	var seen http.Header
	s := &signer{appKey: "k", appSecret: "s", now: func() time.Time { return clock },
		next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			seen = r.Header
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		})}
	req := httptest.NewRequest(http.MethodGet, "http://vendor/x", nil)
	if _, err := s.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("sign") != "" {
		t.Error("signer changed the caller's request")
	}
	if seen.Get("datetime") != clockHeader || seen.Get("sign") != Sign("k", "s", clockHeader) {
		t.Errorf("signed headers %v", seen)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSingleCallFromAChosenLineIsUnsupportedAndNeverSent(t *testing.T) {
	api := newFakeAPI(t, nil)
	for _, c := range []*command.CallSingle{
		{Phone: "13886871111", CallerID: "6", Script: command.Script(`{"robotDefId":"1"}`)},
		{TaskID: "4", CustomerID: "9", CallerID: "6", Script: command.Script(`{"robotDefId":"1"}`)},
	} {
		_, err := api.client(testAccount()).SingleCall(context.Background(), c)
		if !errors.Is(err, platform.ErrUnsupported) {
			t.Errorf("SingleCall with callerId = %v, want ErrUnsupported", err)
		}
	}
	if n := len(api.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}
