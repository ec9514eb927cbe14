package yiwise_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

const (
	simKey, simSecret, simTenant = "WtSMaXXXXXXXXtvy", "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", "yiwisexxxx"
)

// receiver keeps every callback body the simulator POSTs.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		io.WriteString(w, "success")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) all() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

type simEnv struct {
	sim  *yiwisesim.Server
	rcv  *receiver
	acct *platform.Account
	cl   platform.Client
}

func newSimEnv(t *testing.T, api string) *simEnv {
	t.Helper()
	rcv := newReceiver(t)
	sim := yiwisesim.New(yiwisesim.Config{
		AppKey: simKey, AppSecret: simSecret, TenantSign: simTenant, API: api,
		Options: core.Options{WebhookURL: rcv.URL, TimeScale: 0.001, Seed: 7},
	})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	values := map[string]string{"TENANT_SIGN": simTenant, "API_VERSION": "v1", "API": api}
	set, err := yiwise.Vendor{}.Configure(values)
	if err != nil {
		t.Fatal(err)
	}
	acct := &platform.Account{Name: "yiwise-" + api, Vendor: yiwise.Name, BaseURL: srv.URL, AppKey: simKey, AppSecret: simSecret, Settings: set}
	return &simEnv{sim: sim, rcv: rcv, acct: acct, cl: yiwise.Vendor{}.NewClient(acct, srv.Client())}
}

// last returns the body of the last request to endpoint, decoded with numbers kept.
func (e *simEnv) last(t *testing.T, endpoint string) (yiwisesim.Request, map[string]any) {
	t.Helper()
	reqs := e.sim.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Endpoint == endpoint {
			var m map[string]any
			if len(reqs[i].Body) > 0 {
				d := json.NewDecoder(bytes.NewReader(reqs[i].Body))
				d.UseNumber()
				if err := d.Decode(&m); err != nil {
					t.Fatalf("%s body %s: %v", endpoint, reqs[i].Body, err)
				}
			}
			return reqs[i], m
		}
	}
	t.Fatalf("no %s request", endpoint)
	return yiwisesim.Request{}, nil
}

func checkJobHeaders(t *testing.T, r yiwisesim.Request) {
	t.Helper()
	for _, h := range []string{"appKey", "version", "timestamp", "signature"} {
		if r.Header.Get(h) == "" {
			t.Errorf("%s: header %s missing", r.Endpoint, h)
		}
	}
	for _, h := range []string{"appSecret", "tenantSign"} {
		if len(r.Header.Values(h)) != 0 {
			t.Errorf("%s: header %s sent on API=job", r.Endpoint, h)
		}
	}
	if r.Header.Get("appKey") != simKey || r.Header.Get("version") != "v1" {
		t.Errorf("%s: appKey/version = %q/%q", r.Endpoint, r.Header.Get("appKey"), r.Header.Get("version"))
	}
}

func num(t *testing.T, m map[string]any, name string) string {
	t.Helper()
	n, ok := m[name].(json.Number)
	if !ok {
		t.Fatalf("%s = %#v, want a JSON number", name, m[name])
	}
	return n.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func redialTask() *command.TaskCreate {
	return &command.TaskCreate{
		Account: "yiwise-job", Name: "重拨任务", Mode: "manual", CallerIDs: []command.ID{"348"}, LineType: "landline",
		Concurrency: 2, Script: command.Script(`{"dialogFlowId":"136"}`), BreakWindow: &command.Window{Start: "12:00", End: "13:00"},
		Redial: &command.Redial{Enabled: true, Rules: []command.RedialRule{
			{Status: "no_answer", Times: 2, IntervalMinutes: 10}, {Status: "busy", Times: 2, IntervalMinutes: 10}}},
	}
}

func TestJobClientCommandsAgainstTheSimulator(t *testing.T) {
	e := newSimEnv(t, yiwise.APIJob)
	ctx := context.Background()
	if _, ok := e.cl.(platform.SingleCaller); !ok {
		t.Fatal("the API=job client is not a SingleCaller")
	}
	reply, err := e.cl.CreateTask(ctx, redialTask())
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if reply.ID == "" {
		t.Fatal("no task id from job/create's {robotCallJobId}")
	}
	r, body := e.last(t, yiwise.EndpointJobCreate)
	checkJobHeaders(t, r)
	if r.Method != http.MethodPost || r.Path != "/apiOpen/v1/job/create" {
		t.Errorf("create = %s %s", r.Method, r.Path)
	}
	if num(t, body, "concurrencyQuota") != "2" {
		t.Errorf("concurrencyQuota = %v", body["concurrencyQuota"])
	}
	if ids, _ := body["jobPhoneNumberIdList"].([]any); len(ids) != 1 || ids[0] != json.Number("348") {
		t.Errorf("jobPhoneNumberIdList = %#v, want [348] as numbers", body["jobPhoneNumberIdList"])
	}
	if _, old := body["jobPhoneNumberList"]; old {
		t.Error("job/create carries the v1 jobPhoneNumberList")
	}
	job := body["robotCallJob"].(map[string]any)
	if num(t, job, "tenantId") != "1" || num(t, job, "dialogFlowId") != "136" || num(t, job, "robotCount") != "2" ||
		num(t, job, "redialInterval") != "10" || num(t, job, "redialTimes") != "2" {
		t.Errorf("robotCallJob numbers = %v", job)
	}
	if c, _ := job["redialCondition"].([]any); len(c) != 2 || c[0] != "NO_ANSWER" || c[1] != "BUSY" {
		t.Errorf("redialCondition = %#v", job["redialCondition"])
	}
	if l, _ := job["inactiveTimeList"].([]any); len(l) != 1 {
		t.Errorf("inactiveTimeList = %#v", job["inactiveTimeList"])
	}
	for _, old := range []string{"inactiveStartTime", "inactiveEndTime"} {
		if _, ok := job[old]; ok {
			t.Errorf("robotCallJob carries the v1 %s", old)
		}
	}
	if _, ok := job["startTime"]; ok {
		t.Error("a MANUAL job carries startTime")
	}

	if _, err := e.cl.ImportCustomers(ctx, reply.ID, []command.Customer{{Name: "王一", Phone: "13900000001"}, {Phone: "13900000002"}}); err != nil {
		t.Fatalf("ImportCustomers: %v", err)
	}
	r, body = e.last(t, yiwise.EndpointJobImport)
	checkJobHeaders(t, r)
	if num(t, body, "robotCallJobId") != reply.ID {
		t.Errorf("import robotCallJobId = %v", body["robotCallJobId"])
	}

	four := 4
	if _, err := e.cl.(platform.TaskUpdater).UpdateTask(ctx, &command.TaskUpdate{TaskID: command.ID(reply.ID), Name: ptr("改名"), Concurrency: &four}); err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	r, body = e.last(t, yiwise.EndpointJobModify)
	checkJobHeaders(t, r)
	if r.Method != http.MethodPatch {
		t.Errorf("job/modify method %s, want PATCH", r.Method)
	}
	job = body["robotCallJob"].(map[string]any)
	if job["name"] != "改名" || num(t, job, "robotCount") != "4" || num(t, job, "robotCallJobId") != reply.ID || num(t, job, "redialTimes") != "2" {
		t.Errorf("modify robotCallJob = %v (kept fields must be written back)", job)
	}

	if _, err := e.cl.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(reply.ID), Action: command.ActionSetConcurrency, Concurrency: 3}); err != nil {
		t.Fatalf("set_concurrency: %v", err)
	}
	r, body = e.last(t, yiwise.EndpointJobUpdateAiCount)
	checkJobHeaders(t, r)
	if num(t, body, "robotCount") != "3" {
		t.Errorf("updateAiCount body %v", body)
	}
	ids, err := e.cl.FindTasks(ctx, "改名")
	if err != nil || len(ids) != 1 || ids[0] != reply.ID {
		t.Fatalf("FindTasks = %v, %v", ids, err)
	}
	checkJobHeaders(t, func() yiwisesim.Request { r, _ := e.last(t, yiwise.EndpointJobGetJobs); return r }())

	for _, a := range []string{command.ActionStart, command.ActionPause, command.ActionStart} {
		if _, err := e.cl.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(reply.ID), Action: a}); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	r, _ = e.last(t, yiwise.EndpointJobStart)
	checkJobHeaders(t, r)

	if _, err := e.cl.(platform.SingleCaller).SingleCall(ctx, &command.CallSingle{Phone: "13900000009", Name: "单呼", Variables: map[string]string{"k": "v"}, Script: command.Script(`{"dialogFlowId":96}`)}); err != nil {
		t.Fatalf("SingleCall: %v", err)
	}
	r, body = e.last(t, yiwise.EndpointJobOneTimeCall)
	checkJobHeaders(t, r)
	if num(t, body, "dialogFlowId") != "96" || body["phoneType"] != "MOBILE" {
		t.Errorf("oneTimeCall body %v", body)
	}
	if l, _ := body["jobPhoneNumberIdList"].([]any); len(l) != 1 || l[0] != json.Number("276") {
		t.Errorf("oneTimeCall lines %#v, want the first line 276", body["jobPhoneNumberIdList"])
	}
	if p, _ := body["customerPersons"].([]any); len(p) != 1 || p[0].(map[string]any)["phoneNumber"] != "13900000009" {
		t.Errorf("customerPersons %#v", body["customerPersons"])
	}
}

func ptr[T any](v T) *T { return &v }

func TestV1ClientHasNoSingleCallAndUpdatesOnlyConcurrency(t *testing.T) {
	e := newSimEnv(t, yiwise.APIv1)
	if _, ok := e.cl.(platform.SingleCaller); ok {
		t.Fatal("the v1 client claims call.single")
	}
	before := len(e.sim.Requests())
	_, err := e.cl.(platform.TaskUpdater).UpdateTask(context.Background(), &command.TaskUpdate{TaskID: "5001", Name: ptr("x")})
	if !errors.Is(err, platform.ErrUnsupported) || len(e.sim.Requests()) != before {
		t.Fatalf("err = %v, requests %d → %d; want unsupported before any call", err, before, len(e.sim.Requests()))
	}
	if _, err := e.cl.CreateTask(context.Background(), redialTask()); !errors.Is(err, platform.ErrUnsupported) {
		t.Fatalf("v1 redial: err = %v, want unsupported", err)
	}
}

func TestJobRedialItCannotExpressIsUnsupported(t *testing.T) {
	e := newSimEnv(t, yiwise.APIJob)
	for name, r := range map[string]*command.Redial{
		"answered":                  {Enabled: true, Rules: []command.RedialRule{{Status: "answered", Times: 1, IntervalMinutes: 10}}},
		"two intervals":             {Enabled: true, Rules: []command.RedialRule{{Status: "busy", Times: 1, IntervalMinutes: 10}, {Status: "no_answer", Times: 1, IntervalMinutes: 20}}},
		"blacklisted has no status": {Enabled: true, Rules: []command.RedialRule{{Status: "blacklisted", Times: 1, IntervalMinutes: 10}}},
	} {
		tc := redialTask()
		tc.Redial = r
		before := len(e.sim.Requests())
		if _, err := e.cl.CreateTask(context.Background(), tc); !errors.Is(err, platform.ErrUnsupported) || len(e.sim.Requests()) != before {
			t.Errorf("%s: err = %v (requests %d → %d)", name, err, before, len(e.sim.Requests()))
		}
	}
}

// runCalls creates a task with n customers, starts it and waits for its callbacks.
func runCalls(t *testing.T, e *simEnv, n int) string {
	t.Helper()
	ctx := context.Background()
	tc := redialTask()
	if e.acct.Name == "yiwise-v1" {
		tc.Redial = nil
	}
	reply, err := e.cl.CreateTask(ctx, tc)
	if err != nil {
		t.Fatal(err)
	}
	var cs []command.Customer
	for i := 0; i < n; i++ {
		cs = append(cs, command.Customer{Name: "客户", Phone: "1390000" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "00"})
	}
	if _, err := e.cl.ImportCustomers(ctx, reply.ID, cs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(reply.ID), Action: command.ActionStart}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every call's callback", func() bool {
		calls := 0
		for _, b := range e.rcv.all() {
			if bytes.Contains(b, []byte(`"ROBOT_CALL_RECORD"`)) {
				calls++
			}
		}
		return calls >= n
	})
	return reply.ID
}

// comparable is call.finished data without what a recovered call may differ in.
func comparable(t *testing.T, d *event.CallFinished, dropEnd bool) string {
	t.Helper()
	cp := *d
	cp.Raw, cp.Recovered = nil, false
	if dropEnd {
		cp.EndedAt = nil
	}
	b, _ := json.Marshal(cp)
	return string(b)
}

func checkListCallsMatchWebhooks(t *testing.T, api string) {
	e := newSimEnv(t, api)
	runCalls(t, e, 12)
	webhook := map[string]event.Out{}
	sms := 0
	for _, b := range e.rcv.all() {
		outs, err := yiwise.Vendor{}.ParseWebhook(e.acct, b)
		if err != nil {
			t.Fatalf("callback %s: %v", b, err)
		}
		for _, o := range outs {
			switch o.Topic {
			case event.TopicCallFinished:
				webhook[o.ID] = o
			case event.TopicSMSSent:
				sms++
				if d := o.Data.(*event.SMSSent); len(d.Messages) != 1 || d.Customer.Phone == nil || d.TaskID == nil {
					t.Errorf("sms.sent data %+v", d)
				}
			}
		}
	}
	if api == yiwise.APIJob && sms == 0 {
		t.Error("the job simulator sent no ROBOT_CALL_SMS")
	}
	lister := e.cl.(platform.CallLister)
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Minute)
	got := map[string]event.Out{}
	cursor, pages := "", 0
	for {
		page, err := lister.ListCalls(context.Background(), from, to, cursor)
		if err != nil {
			t.Fatalf("ListCalls: %v", err)
		}
		for _, o := range page.Calls {
			got[o.ID] = o
			if !o.Data.(*event.CallFinished).Recovered {
				t.Error("a listed call is not marked recovered")
			}
		}
		pages++
		if cursor = page.Next; cursor == "" || pages > 50 {
			break
		}
	}
	if len(got) != len(webhook) {
		t.Fatalf("ListCalls found %d calls, webhooks %d", len(got), len(webhook))
	}
	for id, w := range webhook {
		l, ok := got[id]
		if !ok {
			t.Fatalf("webhook call %s not listed with the same id", id)
		}
		if l.Key != w.Key || l.Subject != w.Subject {
			t.Errorf("key/subject %s/%s, webhook %s/%s", l.Key, l.Subject, w.Key, w.Subject)
		}
		// v1's phoneLogInfo has no end time (the current callDetail added it).
		dropEnd := api == yiwise.APIv1
		if a, b := comparable(t, l.Data.(*event.CallFinished), dropEnd), comparable(t, w.Data.(*event.CallFinished), dropEnd); a != b {
			t.Errorf("listed data differs from the webhook's\nlist    %s\nwebhook %s", a, b)
		}
	}
	// A window after every call finds none.
	page, err := lister.ListCalls(context.Background(), time.Now().Add(time.Hour), time.Now().Add(2*time.Hour), "")
	if err != nil || len(page.Calls) != 0 {
		t.Errorf("later window: %d calls, %v", len(page.Calls), err)
	}
}

func TestListCallsGivesTheWebhookEventsJob(t *testing.T) {
	checkListCallsMatchWebhooks(t, yiwise.APIJob)
}
func TestListCallsGivesTheWebhookEventsV1(t *testing.T) { checkListCallsMatchWebhooks(t, yiwise.APIv1) }

func TestQueriesAnswerOnBothFamilies(t *testing.T) {
	for _, api := range []string{yiwise.APIv1, yiwise.APIJob} {
		t.Run(api, func(t *testing.T) {
			e := newSimEnv(t, api)
			task := runCalls(t, e, 2)
			q := e.cl.(platform.Querier)
			var call string
			for _, spec := range q.Queries() {
				var args []string
				switch {
				case len(spec.Args) == 0:
				case spec.Args[0] == "TASK_ID":
					args = []string{task}
				case spec.Args[0] == "CALL_ID":
					if call == "" {
						t.Skip("calls query must come first")
					}
					args = []string{call}
				}
				tab, err := q.Query(context.Background(), spec.Name, args)
				if err != nil {
					t.Fatalf("%s: %v", spec.Name, err)
				}
				if spec.Name == "pending" {
					// Every customer has been called: nothing waits.
					if len(tab.Rows) != 0 || string(tab.JSON) != "[]" {
						t.Fatalf("pending after every call: %d rows, JSON %s", len(tab.Rows), tab.JSON)
					}
					continue
				}
				if len(tab.Rows) == 0 || len(tab.JSON) == 0 || !json.Valid(tab.JSON) {
					t.Fatalf("%s: %d rows, JSON %s", spec.Name, len(tab.Rows), tab.JSON)
				}
				if spec.Name == "calls" {
					call = tab.Rows[0][0]
				}
				if spec.Name == "phones" && tab.Rows[0][3] == "" {
					t.Errorf("phones without phoneType: %v", tab.Rows[0])
				}
			}
			if api == yiwise.APIJob {
				for _, r := range e.sim.Requests() {
					checkJobHeaders(t, r)
				}
			}
			if _, err := q.Query(context.Background(), "nope", nil); !errors.Is(err, platform.ErrInvalidInput) {
				t.Errorf("unknown query: %v", err)
			}
		})
	}
}

func queryNames(q platform.Querier) []string {
	var out []string
	for _, spec := range q.Queries() {
		out = append(out, spec.Name)
	}
	return out
}

func TestPendingQueryReadsEveryPageOfToBeCalledList(t *testing.T) {
	e := newSimEnv(t, yiwise.APIJob)
	ctx := context.Background()
	q := e.cl.(platform.Querier)
	if !slices.Contains(queryNames(q), "pending") {
		t.Fatalf("job queries %v lack pending", queryNames(q))
	}
	tc := redialTask()
	reply, err := e.cl.CreateTask(ctx, tc)
	if err != nil {
		t.Fatal(err)
	}
	// More customers than one page (100) holds.
	var cs []command.Customer
	for i := 0; i < 130; i++ {
		cs = append(cs, command.Customer{Name: fmt.Sprintf("客户%d", i), Phone: fmt.Sprintf("1390%07d", i), Properties: map[string]string{"n": strconv.Itoa(i)}})
	}
	for _, batch := range [][]command.Customer{cs[:100], cs[100:]} {
		if _, err := e.cl.ImportCustomers(ctx, reply.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	before := len(e.sim.Requests())
	tab, err := q.Query(ctx, "pending", []string{reply.ID})
	if err != nil {
		t.Fatalf("pending: %v", err)
	}
	var pageNums []string
	for _, r := range e.sim.Requests()[before:] {
		if r.Endpoint != yiwise.EndpointToBeCalledList {
			t.Errorf("pending asked %s", r.Endpoint)
			continue
		}
		checkJobHeaders(t, r)
		if r.Method != http.MethodGet || r.Path != "/apiOpen/v1/callRecord/toBeCalledList" || len(r.Body) != 0 {
			t.Errorf("request %s %s body %q", r.Method, r.Path, r.Body)
		}
		qv, err := url.ParseQuery(r.RawQuery)
		if err != nil || len(qv) != 3 || qv.Get("robotCallJobId") != reply.ID || qv.Get("pageSize") != "100" {
			t.Errorf("query %q, want robotCallJobId, pageNum and pageSize", r.RawQuery)
		}
		pageNums = append(pageNums, qv.Get("pageNum"))
	}
	if !slices.Equal(pageNums, []string{"1", "2"}) {
		t.Errorf("pages asked %v, want [1 2]", pageNums)
	}
	want := []string{"robotCallTaskId", "customerPersonId", "customerPersonName", "calledPhoneNumber",
		"customerPersonGroupName", "status", "inWhiteList", "inShareWhiteList", "properties"}
	if !slices.Equal(tab.Columns, want) {
		t.Errorf("columns %v", tab.Columns)
	}
	if len(tab.Rows) != 130 {
		t.Fatalf("%d rows, want 130", len(tab.Rows))
	}
	for i, r := range tab.Rows {
		if r[2] != cs[i].Name || r[3] != cs[i].Phone || r[5] != "NOT_STARTED" || r[6] != "false" || r[7] != "" ||
			r[8] != fmt.Sprintf(`{"n":"%d"}`, i) || r[0] == "" || r[1] == "" {
			t.Fatalf("row %d = %q", i, r)
		}
	}
	var items []map[string]any
	if err := json.Unmarshal(tab.JSON, &items); err != nil || len(items) != 130 {
		t.Fatalf("JSON is not the 130 items: %v", err)
	}
	if _, err := q.Query(ctx, "pending", []string{"x"}); !errors.Is(err, platform.ErrInvalidInput) {
		t.Errorf("pending x: %v", err)
	}
	var perr *platform.Error
	if _, err := q.Query(ctx, "pending", []string{"999999"}); !errors.As(err, &perr) {
		t.Errorf("pending of an unknown task: %v", err)
	}
}

func TestV1HasNoPendingQuery(t *testing.T) {
	e := newSimEnv(t, yiwise.APIv1)
	q := e.cl.(platform.Querier)
	if slices.Contains(queryNames(q), "pending") {
		t.Fatal("v1 offers pending, which its API cannot answer")
	}
	before := len(e.sim.Requests())
	if _, err := q.Query(context.Background(), "pending", []string{"5001"}); !errors.Is(err, platform.ErrInvalidInput) || len(e.sim.Requests()) != before {
		t.Fatalf("v1 pending: %v (requests %d → %d)", err, before, len(e.sim.Requests()))
	}
}

func TestJobSingleCallUsesTheChosenCallerLine(t *testing.T) {
	e := newSimEnv(t, yiwise.APIJob)
	ctx := context.Background()
	sc := e.cl.(platform.SingleCaller)
	call := func(caller command.ID) *command.CallSingle {
		return &command.CallSingle{Phone: "13900000009", Script: command.Script(`{"dialogFlowId":96}`), CallerID: caller}
	}
	for _, c := range []struct {
		caller    command.ID
		line      string
		phoneType string
	}{
		{"348", "348", "LANDLINE"},
		{" 349 ", "349", "UNFIXED_CALL"},
		{"", "276", "MOBILE"}, // the first line when none is chosen
	} {
		if _, err := sc.SingleCall(ctx, call(c.caller)); err != nil {
			t.Fatalf("callerId %q: %v", c.caller, err)
		}
		r, body := e.last(t, yiwise.EndpointJobOneTimeCall)
		checkJobHeaders(t, r)
		if l, _ := body["jobPhoneNumberIdList"].([]any); len(l) != 1 || l[0] != json.Number(c.line) {
			t.Errorf("callerId %q: jobPhoneNumberIdList %#v, want [%s]", c.caller, body["jobPhoneNumberIdList"], c.line)
		}
		if body["phoneType"] != c.phoneType {
			t.Errorf("callerId %q: phoneType %v, want the line's %s", c.caller, body["phoneType"], c.phoneType)
		}
	}

	calls := func() int {
		n := 0
		for _, r := range e.sim.Requests() {
			if r.Endpoint == yiwise.EndpointJobOneTimeCall {
				n++
			}
		}
		return n
	}
	before, requests := calls(), len(e.sim.Requests())
	// Not a number: refused before any request.
	if _, err := sc.SingleCall(ctx, call("line-1")); !errors.Is(err, platform.ErrInvalidInput) || len(e.sim.Requests()) != requests {
		t.Errorf("callerId line-1: %v (requests %d → %d)", err, requests, len(e.sim.Requests()))
	}
	// A line the account does not have: refused after phone/getPhoneList, before the call.
	_, err := sc.SingleCall(ctx, call("999"))
	if !errors.Is(err, platform.ErrInvalidInput) || !strings.Contains(err.Error(), "999") {
		t.Errorf("callerId 999: %v", err)
	}
	if calls() != before {
		t.Errorf("an unknown callerId placed a call")
	}
	if r, _ := e.last(t, yiwise.EndpointPhoneList); r.Method != http.MethodGet {
		t.Errorf("phone/getPhoneList %s", r.Method)
	}
}
