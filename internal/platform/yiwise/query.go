package yiwise

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

// queryPageSize is the page size of paged queries: the job API's maximum (the v1
// document states none).
const queryPageSize = 100

// Queries lists what `callbridge vendor` can ask a Yiwise account.
func (c *client) Queries() []platform.QuerySpec {
	qs := []platform.QuerySpec{
		{Name: "companies", Doc: "the tenant (" + c.pick(EndpointGetCompanies, EndpointTenant) + ")"},
		{Name: "phones", Doc: "caller lines, the callerIds of task.create, with their phoneType (" + c.pick(EndpointGetPhones, EndpointPhoneList) + ")"},
		{Name: "robots", Doc: "dialog flows, the script.dialogFlowId of task.create (" + c.pick(EndpointGetRobots, EndpointDialogFlowList) + ")"},
		{Name: "tasks", Doc: "every task (" + c.pick(EndpointGetTasks, EndpointJobGetJobs) + ")"},
		{Name: "task", Args: []string{"TASK_ID"}, Doc: "one task's settings (" + c.pick(EndpointGetTaskDetail, EndpointJobDetail) + ")"},
		{Name: "calls", Args: []string{"TASK_ID"}, Doc: "a task's finished calls (" + c.pick(EndpointCallRecords, EndpointCallRecordList) + ")"},
		{Name: "call", Args: []string{"CALL_ID"}, Doc: "one call with its transcript (" + c.pick(EndpointPhoneLogInfo, EndpointCallRecordDetail) + ")"},
	}
	if c.job {
		qs = append(qs,
			platform.QuerySpec{Name: "stats", Args: []string{"TASK_ID"}, Doc: "a task's statistics (" + EndpointJobStats + ")"},
			// v1 has no list of a task's customers not called yet.
			platform.QuerySpec{Name: "pending", Args: []string{"TASK_ID"}, Doc: "a task's customers not dialled yet (" + EndpointToBeCalledList + ", all pages)"},
		)
	}
	return qs
}

// Query asks one of Queries.
func (c *client) Query(ctx context.Context, name string, args []string) (*platform.Table, error) {
	spec, err := platform.FindQuery(c.Queries(), name, args)
	if err != nil {
		return nil, fmt.Errorf("yiwise: %w", err)
	}
	var arg int64
	if len(args) == 1 {
		if arg, err = number(spec.Args[0], args[0]); err != nil {
			return nil, err
		}
	}
	one := func(ep, param string, cols ...string) (*platform.Table, error) {
		var q url.Values
		if param != "" {
			q = url.Values{param: {strconv.FormatInt(arg, 10)}}
		}
		env, err := c.do(ctx, ep, http.MethodGet, q, nil)
		if err != nil {
			return nil, err
		}
		return table(env.Data, cols), nil
	}
	switch name {
	case "companies":
		return one(c.pick(EndpointGetCompanies, EndpointTenant), "", "tenantId", c.pick("companyName", "tenantName"))
	case "phones":
		return one(c.pick(EndpointGetPhones, EndpointPhoneList), "",
			c.pick("userPhoneId", "tenantPhoneNumberId"), c.pick("phone", "phoneNumber"), "phoneName", "phoneType")
	case "robots":
		return one(c.pick(EndpointGetRobots, EndpointDialogFlowList), "", c.pick("robotDialogFlowId", "dialogFlowId"), "name", "status")
	case "task":
		t, err := one(c.pick(EndpointGetTaskDetail, EndpointJobDetail), "robotCallJobId")
		if err != nil {
			return nil, err
		}
		return fieldsTable(t.JSON, "robotCallJob"), nil
	case "stats":
		t, err := one(EndpointJobStats, "robotCallJobId")
		if err != nil {
			return nil, err
		}
		return fieldsTable(t.JSON, ""), nil
	case "call":
		t, err := one(c.pick(EndpointPhoneLogInfo, EndpointCallRecordDetail), "callRecordId")
		if err != nil {
			return nil, err
		}
		return fieldsTable(t.JSON, ""), nil
	case "tasks":
		items, err := c.pages(ctx, func(page int) (*envelope, error) {
			q := url.Values{"pageNum": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(queryPageSize)}}
			return c.do(ctx, c.pick(EndpointGetTasks, EndpointJobGetJobs), http.MethodGet, q, nil)
		})
		if err != nil {
			return nil, err
		}
		return table(items, []string{"robotCallJobId", "name", "status", "completedTask", "taskCallTotal"}), nil
	case "calls":
		items, err := c.pages(ctx, func(page int) (*envelope, error) {
			return c.callPage(ctx, arg, page)
		})
		if err != nil {
			return nil, err
		}
		return table(items, []string{"callRecordId", "calledPhoneNumber", "resultStatus", "intentLevel", "startTime", "chatDuration"}), nil
	case "pending":
		items, err := c.pages(ctx, func(page int) (*envelope, error) {
			return c.pendingPage(ctx, arg, page)
		})
		if err != nil {
			return nil, err
		}
		return pendingTable(items), nil
	}
	return nil, fmt.Errorf("yiwise: no query %q: %w", name, platform.ErrInvalidInput)
}

// callPage asks one page of a task's finished calls.
func (c *client) callPage(ctx context.Context, taskID int64, page int) (*envelope, error) {
	body := map[string]any{"robotCallJobId": taskID, "pageNum": page, "pageSize": queryPageSize}
	return c.do(ctx, c.pick(EndpointCallRecords, EndpointCallRecordList), http.MethodPost, nil, body)
}

// pendingPage asks one page of a task's customers not called yet
// (callRecord/toBeCalledList, GET with robotCallJobId, pageNum and pageSize; its
// taskStatus and calledPhoneNumber filters are not used).
func (c *client) pendingPage(ctx context.Context, taskID int64, page int) (*envelope, error) {
	q := url.Values{
		"robotCallJobId": {strconv.FormatInt(taskID, 10)},
		"pageNum":        {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(queryPageSize)},
	}
	return c.do(ctx, EndpointToBeCalledList, http.MethodGet, q, nil)
}

// pendingColumns are the members of a toBeCalledList item shown as columns, in the
// document's order; properties (a string map) is shown as its JSON.
var pendingColumns = []string{"robotCallTaskId", "customerPersonId", "customerPersonName", "calledPhoneNumber",
	"customerPersonGroupName", "status", "inWhiteList", "inShareWhiteList", "properties"}

// pendingTable renders toBeCalledList's items (the pages' content, one JSON array):
// one row per item, the JSON being items verbatim.
func pendingTable(items json.RawMessage) *platform.Table {
	t := &platform.Table{Columns: pendingColumns, Rows: [][]string{}, JSON: items}
	_, _ = jsondoc.With(items, func(d jsondoc.Value) (struct{}, error) {
		for e := range d.Elems {
			r := make([]string, len(pendingColumns))
			for i, col := range pendingColumns {
				v := e.Get(col)
				if k := v.Kind(); k == jsondoc.Object || k == jsondoc.Array {
					r[i] = string(v.Raw())
					continue
				}
				r[i] = loose.Of(v).String()
			}
			t.Rows = append(t.Rows, r)
		}
		return struct{}{}, nil
	})
	return t
}

// maxPages bounds a paged query, against a vendor that never says it is done.
const maxPages = 1000

// pages reads every page of a paged answer ({number, pages, content}) and returns the
// contents as one JSON array.
func (c *client) pages(ctx context.Context, get func(page int) (*envelope, error)) (json.RawMessage, error) {
	out := []byte{'['}
	n := 0
	for page := 1; page <= maxPages; page++ {
		env, err := get(page)
		if err != nil {
			return nil, err
		}
		d := env.data()
		for e := range d.Get("content").Elems {
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, e.Raw()...)
			n++
		}
		total, _ := loose.Get(d, "pages").Int()
		if int64(page) >= total || d.Get("content").Len() == 0 {
			break
		}
	}
	return append(out, ']'), nil
}

// table renders data (an object or an array of objects) with the given columns; the
// JSON is data verbatim.
func table(data json.RawMessage, cols []string) *platform.Table {
	t := &platform.Table{Columns: cols, Rows: [][]string{}, JSON: data}
	if len(cols) == 0 {
		return t
	}
	_, _ = jsondoc.With(data, func(d jsondoc.Value) (struct{}, error) {
		row := func(e jsondoc.Value) {
			r := make([]string, len(cols))
			for i, col := range cols {
				r[i] = loose.Get(e, col).String()
			}
			t.Rows = append(t.Rows, r)
		}
		switch d.Kind() {
		case jsondoc.Array:
			for e := range d.Elems {
				row(e)
			}
		case jsondoc.Object:
			row(d)
		}
		return struct{}{}, nil
	})
	return t
}

// fieldsTable renders one object as FIELD/VALUE rows (of member under, when given),
// nested values as their JSON.
func fieldsTable(data json.RawMessage, under string) *platform.Table {
	t := &platform.Table{Columns: []string{"FIELD", "VALUE"}, Rows: [][]string{}, JSON: data}
	_, _ = jsondoc.With(data, func(d jsondoc.Value) (struct{}, error) {
		if under != "" && d.Get(under).Kind() == jsondoc.Object {
			d = d.Get(under)
		}
		for name, v := range d.Members {
			val := loose.Of(v).String()
			if k := v.Kind(); k == jsondoc.Object || k == jsondoc.Array {
				val = string(v.Raw())
			}
			t.Rows = append(t.Rows, []string{name.Str(), val})
		}
		return struct{}{}, nil
	})
	return t
}

// callCursor is where ListCalls resumes: the task whose calls are being read and the
// page of them. It names only vendor ids, so it survives restarts.
type callCursor struct {
	Task int64 `json:"task"`
	Page int   `json:"page"`
}

// lookBehind is how long before from a call may have started and still have ended
// within the window: list answers carry the start time only.
const lookBehind = 2 * time.Hour

// ListCalls reads back the calls that ended within [from, to), one page of one task's
// calls at a time (tasks in id order): the finished-call list
// (task/getCallRecordInfoList, callRecord/getCallRecordInfoList) for the records, and
// each call's detail (task/phoneLogInfo, callRecord/callDetail) for its transcript and
// end. Each becomes the call.finished its ROBOT_CALL_RECORD webhook gives: same id, key
// and data (with recovered), raw being the record as the query APIs showed it.
func (c *client) ListCalls(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
	cur := callCursor{Page: 1}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(b, &cur) != nil || cur.Page < 1 {
			return platform.CallPage{}, fmt.Errorf("yiwise: cursor %q is not one of ours: %w", truncate(cursor, 32), platform.ErrInvalidInput)
		}
	}
	tasks, err := c.taskIDs(ctx)
	if err != nil {
		return platform.CallPage{}, err
	}
	i := sort.Search(len(tasks), func(i int) bool { return tasks[i] >= cur.Task })
	if i == len(tasks) {
		return platform.CallPage{}, nil
	}
	if tasks[i] != cur.Task {
		cur = callCursor{Task: tasks[i], Page: 1}
	}
	env, err := c.callPage(ctx, cur.Task, cur.Page)
	if err != nil {
		return platform.CallPage{}, err
	}
	d := env.data()
	page := platform.CallPage{Calls: []event.Out{}}
	loc := c.acct.Loc()
	for item := range d.Get("content").Elems {
		started, ok := localTime(item.Get("startTime"), loc)
		if ok && (started.Before(from.Add(-lookBehind)) || !started.Before(to)) {
			continue
		}
		callID := loose.Get(item, "callRecordId").ID()
		if callID == "" {
			continue
		}
		q := url.Values{"callRecordId": {callID}}
		det, err := c.do(ctx, c.pick(EndpointPhoneLogInfo, EndpointCallRecordDetail), http.MethodGet, q, nil)
		if err != nil {
			return platform.CallPage{}, err
		}
		out, err := recoveredCall(c.acct, item, det.data(), c.now())
		if err != nil {
			continue // a record without its id: nothing to recover
		}
		if at := out.Time; at.Before(from) || !at.Before(to) {
			continue
		}
		page.Calls = append(page.Calls, out)
	}
	next := callCursor{Task: cur.Task, Page: cur.Page + 1}
	if total, _ := loose.Get(d, "pages").Int(); int64(cur.Page) >= total || d.Get("content").Len() == 0 {
		if i+1 == len(tasks) {
			return page, nil
		}
		next = callCursor{Task: tasks[i+1], Page: 1}
	}
	b, _ := json.Marshal(next)
	page.Next = base64.RawURLEncoding.EncodeToString(b)
	return page, nil
}

// taskIDs lists every task id, ascending.
func (c *client) taskIDs(ctx context.Context) ([]int64, error) {
	items, err := c.pages(ctx, func(page int) (*envelope, error) {
		q := url.Values{"pageNum": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(queryPageSize)}}
		return c.do(ctx, c.pick(EndpointGetTasks, EndpointJobGetJobs), http.MethodGet, q, nil)
	})
	if err != nil {
		return nil, err
	}
	var out []int64
	_, _ = jsondoc.With(items, func(d jsondoc.Value) (struct{}, error) {
		for e := range d.Elems {
			if id, ok := loose.Get(e, "robotCallJobId").Int(); ok {
				out = append(out, id)
			}
		}
		return struct{}{}, nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// recoveredCall makes the call.finished of a call read back: the finished-call list's
// item, with the detail's transcript, end time and attributes, read by the webhook's
// parser as the ROBOT_CALL_RECORD it would have been.
func recoveredCall(acct *platform.Account, item, detail jsondoc.Value, now time.Time) (event.Out, error) {
	rec := map[string]json.RawMessage{}
	for name, v := range item.Members {
		rec[name.Str()] = json.RawMessage(v.Raw())
	}
	if detail.Kind() == jsondoc.Object {
		for _, name := range []string{"endTime", "callDetailList", "robotCallDetailList", "attributes"} {
			if v := detail.Get(name); !v.IsNull() {
				rec[name] = json.RawMessage(v.Raw())
			}
		}
		if _, ok := rec["attributes"]; !ok {
			if v := detail.Path("customerPerson", "attributes"); !v.IsNull() {
				rec["attributes"] = json.RawMessage(v.Raw())
			}
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return event.Out{}, err
	}
	body, _ := json.Marshal(map[string]any{"dataType": DataTypeCallRecord, "data": json.RawMessage(raw)})
	outs, err := parseWebhook(acct, body, now)
	if err != nil || len(outs) != 1 {
		return event.Out{}, fmt.Errorf("yiwise: recovered call: %w", err)
	}
	out := outs[0]
	if d, ok := out.Data.(*event.CallFinished); ok {
		d.Recovered = true
	}
	return out, nil
}
