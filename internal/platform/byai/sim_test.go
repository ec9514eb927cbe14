package byai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
)

const (
	simKey    = "WtSMaXXXXXXXXtvy"
	simSecret = "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q"
	simScale  = 0.001
	simCall   = time.Minute
)

type simEnv struct {
	sim    *byaisim.Server
	fc     *clock.Fake
	rcv    *simtest.Receiver
	acct   *platform.Account
	client platform.Client
}

func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	e := &simEnv{fc: clock.NewFake(time.Now()), rcv: simtest.NewReceiver(t)}
	e.sim = byaisim.New(byaisim.Config{
		AppKey: simKey, AppSecret: simSecret, CompanyID: 7, Companies: map[int64]string{8: "子公司"},
		Options: core.Options{WebhookURL: e.rcv.URL, Clock: e.fc, TimeScale: simScale, CallDuration: simCall, Seed: 7},
	})
	t.Cleanup(e.sim.Close)
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	v, _ := platform.Lookup(byai.Name)
	settings, err := v.Configure(map[string]string{"COMPANY_ID": "7", "FORCE_TRANSFER_CUSTOMER": "false"})
	if err != nil {
		t.Fatal(err)
	}
	e.acct = &platform.Account{Name: "byai-main", Vendor: byai.Name, AppKey: simKey, AppSecret: simSecret, BaseURL: srv.URL, Settings: settings}
	e.client = v.NewClient(e.acct, srv.Client())
	return e
}

// task creates a task of n customers on a SIP line and runs it to completion.
func (e *simEnv) runTask(t *testing.T, n int) string {
	t.Helper()
	var cs []command.Customer
	for i := range n {
		cs = append(cs, command.Customer{Name: "客户" + strconv.Itoa(i), Phone: "1380013" + strconv.Itoa(1000+i)})
	}
	// A SIP line and no scene ids: the vendor's own demo sends neither.
	create := command.TaskCreate{Name: "回访" + strconv.Itoa(n), Mode: "manual", CallerIDs: []command.ID{"6"}, LineType: "sip",
		Script: command.Script(`{"robotDefId":14}`)}
	return simtest.RunTask(t, e.client, create, cs, e.fc, time.Duration(float64(simCall)*simScale), func(id int64) bool {
		tk, _ := e.sim.Task(id)
		return tk.State == core.StateCompleted
	})
}

func TestSimulatedCallsWebhookAndListCallsGiveTheSameEvent(t *testing.T) {
	e := newSimEnv(t)
	const n = 57 // more than one queryDoneTaskPhones page
	taskID := e.runTask(t, n)
	// The task's own status callbacks arrive among the calls': wait for n calls.
	hooks := map[string]event.Out{}
	for want := n; len(hooks) < n; want++ {
		hooks = map[string]event.Out{}
		for _, b := range e.rcv.Wait(t, want) {
			outs, err := byai.Vendor{}.ParseWebhook(e.acct, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if o.Topic == event.TopicCallFinished {
					hooks[o.ID] = o
				}
			}
		}
	}
	lister := e.client.(platform.CallLister)
	from, to := e.fc.Now().Add(-24*time.Hour), e.fc.Now().Add(time.Hour)
	var listed []event.Out
	cursor, pages := "", 0
	for {
		page, err := lister.ListCalls(context.Background(), from, to, cursor)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page.Calls...)
		pages++
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(listed) != n || pages < 2 {
		t.Fatalf("ListCalls gave %d calls in %d pages, want %d in at least 2", len(listed), pages, n)
	}
	for _, got := range listed {
		want, ok := hooks[got.ID]
		if !ok {
			t.Fatalf("listed call %s has no webhook event of the same id", got.ID)
		}
		if got.Key != want.Key || got.Key != taskID || got.Subject != want.Subject || !got.Time.Equal(want.Time) {
			t.Errorf("call %s: key/subject/time %q %q %v, webhook %q %q %v", got.ID, got.Key, got.Subject, got.Time, want.Key, want.Subject, want.Time)
		}
		g, w := comparable(t, got.Data), comparable(t, want.Data)
		if g["recovered"] != true {
			t.Errorf("listed call %s is not marked recovered", got.ID)
		}
		delete(g, "recovered")
		if !reflect.DeepEqual(g, w) {
			t.Errorf("call %s: listed data\n%v\nwebhook data\n%v", got.ID, g, w)
		}
	}
	// A window that ended before the calls lists none of them.
	page, err := lister.ListCalls(context.Background(), from, from.Add(time.Hour), "")
	if err != nil || len(page.Calls) != 0 {
		t.Errorf("a window before the calls: %d calls, %v", len(page.Calls), err)
	}
}

// comparable is event data as JSON, without raw: the webhook's record carries the
// callback's own members (jobFinished, sign, dateTime) that the detail has not.
func comparable(t *testing.T, data any) map[string]any {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "raw")
	return m
}

func TestEveryQueryAgainstTheSimulator(t *testing.T) {
	e := newSimEnv(t)
	taskID := e.runTask(t, 3)
	q := e.client.(platform.Querier)
	ctx := context.Background()
	calls, err := q.Query(ctx, "calls", []string{taskID})
	if err != nil || len(calls.Rows) != 3 {
		t.Fatalf("calls: %v, %v", calls, err)
	}
	callID := calls.Rows[0][0]
	for _, tc := range []struct {
		name string
		args []string
		rows int
		cell string // a value some row must hold
	}{
		{"companies", nil, 2, "子公司"},
		{"phones", nil, 4, "sip (6)"},
		{"robots", nil, 3, "14"},
		{"seats", nil, 1, "50"},
		{"tasks", nil, 1, taskID},
		{"task", []string{taskID}, 1, "6"},
		{"calls", []string{taskID}, 3, callID},
		{"call", []string{callID}, 1, taskID},
		{"pending", []string{taskID}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := q.Query(ctx, tc.name, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if len(tab.Rows) != tc.rows {
				t.Fatalf("%d rows, want %d: %v", len(tab.Rows), tc.rows, tab.Rows)
			}
			for _, r := range tab.Rows {
				if len(r) != len(tab.Columns) {
					t.Errorf("row %v does not fit columns %v", r, tab.Columns)
				}
			}
			if tc.cell != "" && !slices.ContainsFunc(tab.Rows, func(r []string) bool { return slices.Contains(r, tc.cell) }) {
				t.Errorf("no row holds %q: %v", tc.cell, tab.Rows)
			}
			if !json.Valid(tab.JSON) {
				t.Errorf("JSON is not JSON: %s", tab.JSON)
			}
		})
	}
	for _, bad := range [][]string{{"nope"}, {"task"}, {"call", "x"}} {
		if _, err := q.Query(ctx, bad[0], bad[1:]); !errors.Is(err, platform.ErrInvalidInput) {
			t.Errorf("query %v: %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestPendingCustomersCanBeCalledByTaskCustomer(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	reply, err := e.client.CreateTask(ctx, &command.TaskCreate{
		Name: "待拨", Mode: "manual", CallerIDs: []command.ID{"1"}, LineType: "mobile",
		Script: command.Script(`{"robotDefId":14,"sceneDefId":34,"sceneRecordId":34}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ImportCustomers(ctx, reply.ID, []command.Customer{{Name: "甲", Phone: "13800138000"}, {Name: "乙", Phone: "13800138001"}}); err != nil {
		t.Fatal(err)
	}
	tab, err := e.client.(platform.Querier).Query(ctx, "pending", []string{reply.ID})
	if err != nil || len(tab.Rows) != 2 {
		t.Fatalf("pending: %v, %v", tab, err)
	}
	sc := e.client.(platform.SingleCaller)
	if _, err := sc.SingleCall(ctx, &command.CallSingle{TaskID: command.ID(reply.ID), CustomerID: command.ID(tab.Rows[1][0]),
		Script: command.Script(`{"robotDefId":14}`), Variables: map[string]string{"姓名": "乙"}}); err != nil {
		t.Fatalf("task/call: %v", err)
	}
	var ve *platform.Error
	_, err = sc.SingleCall(ctx, &command.CallSingle{TaskID: command.ID(reply.ID), CustomerID: "999999", Script: command.Script(`{"robotDefId":14}`)})
	if !errors.As(err, &ve) || ve.Code != 404 {
		t.Errorf("task/call of an unknown customer: %v, want vendor 404", err)
	}
	simtest.Pump(t, e.fc, time.Duration(float64(simCall)*simScale), func() bool { return len(e.rcv.Bodies()) > 0 })
	body := e.rcv.Bodies()[0]
	outs, err := byai.Vendor{}.ParseWebhook(e.acct, body)
	if err != nil || len(outs) != 1 {
		t.Fatal(outs, err)
	}
	cf := outs[0].Data.(*event.CallFinished)
	if cf.TaskID == nil || *cf.TaskID != reply.ID || *cf.Customer.Phone != "13800138001" {
		t.Errorf("the task customer's call: task %v phone %v", cf.TaskID, cf.Customer.Phone)
	}
}

func TestUpdateBlacklistAndCompaniesAgainstTheSimulator(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	reply, err := e.client.CreateTask(ctx, &command.TaskCreate{
		Name: "改", Mode: "manual", CallerIDs: []command.ID{"1"}, LineType: "mobile", CompanyID: "8",
		Script: command.Script(`{"robotDefId":14}`),
	})
	if err != nil {
		t.Fatalf("create for another company of the key: %v", err)
	}
	name, conc, sip := "改名", 4, "sip"
	up := e.client.(platform.TaskUpdater)
	if _, err := up.UpdateTask(platform.WithCompanyID(ctx, "8"), &command.TaskUpdate{TaskID: command.ID(reply.ID), Name: &name,
		Concurrency: &conc, CallerIDs: []command.ID{"6"}, LineType: &sip, DailyWindow: &command.Window{Start: "10:00", End: "19:00"}}); err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(reply.ID, 10, 64)
	tk, _ := e.sim.Task(id)
	m := tk.Meta.(*byaisim.TaskMeta)
	if m.TaskName != name || m.ConcurrencyQuota != 4 || m.CallType != 6 || m.WorkingStartTime != "10:00" || !slices.Equal(m.UserPhoneIDs, []int64{6}) {
		t.Errorf("updated task: %+v", m)
	}
	remark := "x"
	if _, err := up.UpdateTask(ctx, &command.TaskUpdate{TaskID: command.ID(reply.ID), Remark: &remark}); !errors.Is(err, platform.ErrUnsupported) {
		t.Errorf("remark: %v, want ErrUnsupported", err)
	}
	bl, err := e.client.(platform.Blacklister).AddBlacklist(ctx, &command.BlacklistAdd{Phone: "13900139000", Name: "甲", Remark: "投诉"})
	if err != nil || bl.ID == "" {
		t.Fatalf("addBlackList: %+v, %v", bl, err)
	}
	if got, ok := e.sim.Blacklisted("13900139000"); !ok || strconv.FormatInt(got, 10) != bl.ID {
		t.Errorf("blacklist entry %d %v, reply %s", got, ok, bl.ID)
	}
	var ve *platform.Error
	if _, err := e.client.(platform.Blacklister).AddBlacklist(ctx, &command.BlacklistAdd{Phone: "13900139000", CompanyID: "9"}); !errors.As(err, &ve) || ve.Code != 403 {
		t.Errorf("a company the key does not operate: %v, want 403", err)
	}
}
