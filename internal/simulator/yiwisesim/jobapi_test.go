package yiwisesim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// jobSignAt signs as the current API does: appKey, version, timestamp and signature,
// never the secret or the tenant sign.
func jobSignAt(at time.Time) func(http.Header) {
	return func(hd http.Header) {
		ts := strconv.FormatInt(at.UnixMilli(), 10)
		hd.Set("appKey", key)
		hd.Set("version", "v1")
		hd.Set("timestamp", ts)
		hd.Set("signature", yiwise.Sign(key, secret, tenant, "v1", ts))
	}
}

// jobOK is a request to an API=job simulator that must succeed.
func (h *harness) jobOK(method, endpoint string, params any) json.RawMessage {
	h.t.Helper()
	status, env := h.do(method, endpoint, params, jobSignAt(h.fc.Now()))
	if status != http.StatusOK || env.Code != 200 {
		h.t.Fatalf("%s: HTTP %d code %d %q", endpoint, status, env.Code, env.ResultMsg)
	}
	return env.Data
}

// createJob creates a MANUAL job with n customers on an API=job simulator.
func (h *harness) createJob(n int) int64 {
	h.t.Helper()
	data := h.jobOK("POST", "job/create", map[string]any{
		"concurrencyQuota": 1, "jobPhoneNumberIdList": []int64{348},
		"robotCallJob": map[string]any{
			"name": "未呼", "mode": "MANUAL", "dailyStartTime": "09:00", "dailyEndTime": "20:00", "inactiveTimeList": []any{},
			"dialogFlowId": 136, "phoneType": "LANDLINE", "robotCount": 1, "tenantId": 3,
		},
	})
	var created struct{ RobotCallJobID int64 }
	if err := json.Unmarshal(data, &created); err != nil || created.RobotCallJobID == 0 {
		h.t.Fatalf("job/create data %s", data)
	}
	var list []map[string]any
	for i, p := range phonesN(n) {
		list = append(list, map[string]any{"name": fmt.Sprintf("客户%d", i), "phoneNumber": p, "properties": map[string]string{"序号": strconv.Itoa(i)}})
	}
	h.jobOK("POST", "job/importCustomer", map[string]any{"robotCallJobId": created.RobotCallJobID, "customerPersons": list})
	return created.RobotCallJobID
}

type toBeCalledPage struct {
	Number, PageSize, TotalElements, Pages int
	Content                                []map[string]any
}

func (h *harness) toBeCalled(q url.Values) toBeCalledPage {
	h.t.Helper()
	data := h.jobOK("GET", "callRecord/toBeCalledList", q)
	var p toBeCalledPage
	if err := json.Unmarshal(data, &p); err != nil || p.Content == nil {
		h.t.Fatalf("toBeCalledList data %s: %v", data, err)
	}
	return p
}

func TestToBeCalledListPagesTheCustomersNotDialled(t *testing.T) {
	h := newHarness(t, func(c *yiwisesim.Config) { c.API = "job" })
	job := h.createJob(5)
	id := strconv.FormatInt(job, 10)

	// Before the start every customer waits, in import order, two a page.
	var phones []string
	for page := 1; page <= 3; page++ {
		p := h.toBeCalled(url.Values{"robotCallJobId": {id}, "pageNum": {strconv.Itoa(page)}, "pageSize": {"2"}})
		if p.Number != page || p.PageSize != 2 || p.TotalElements != 5 || p.Pages != 3 || len(p.Content) != min(2, 5-2*(page-1)) {
			t.Fatalf("page %d = %+v", page, p)
		}
		for _, it := range p.Content {
			phones = append(phones, it["calledPhoneNumber"].(string))
		}
	}
	if !slices.Equal(phones, phonesN(5)) {
		t.Fatalf("listed %v, want %v", phones, phonesN(5))
	}

	// Each item has the document's fields, and only those.
	p := h.toBeCalled(url.Values{"robotCallJobId": {id}, "calledPhoneNumber": {phonesN(5)[3]}})
	if len(p.Content) != 1 || p.TotalElements != 1 || p.PageSize != 20 || p.Number != 1 {
		t.Fatalf("filtered by phone: %+v", p)
	}
	it := p.Content[0]
	var names []string
	for k := range it {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{"calledPhoneNumber", "customerPersonGroupName", "customerPersonId", "customerPersonName", "inShareWhiteList",
		"inWhiteList", "properties", "robotCallTaskId", "status"}
	if !slices.Equal(names, want) {
		t.Fatalf("item members %v, want %v", names, want)
	}
	snap, _ := h.s.Task(job)
	c := snap.Customers[3]
	if it["robotCallTaskId"] != float64(c.ID) || it["customerPersonId"] != float64(c.ID) || it["customerPersonName"] != "客户3" ||
		it["status"] != "NOT_STARTED" || it["inWhiteList"] != false || it["inShareWhiteList"] != nil ||
		fmt.Sprint(it["properties"]) != "map[序号:3]" || it["customerPersonGroupName"] != "" {
		t.Fatalf("item %v", it)
	}
	if p := h.toBeCalled(url.Values{"robotCallJobId": {id}, "taskStatus": {"COMPLETED"}}); len(p.Content) != 0 || p.TotalElements != 0 {
		t.Fatalf("COMPLETED filter: %+v", p)
	}
	if p := h.toBeCalled(url.Values{"robotCallJobId": {id}, "taskStatus": {"NOT_STARTED"}}); p.TotalElements != 5 {
		t.Fatalf("NOT_STARTED filter: %+v", p)
	}

	// Paused after two calls, the other three wait.
	h.jobOK("POST", "job/start", map[string]any{"robotCallJobId": job})
	simtest.Pump(t, h.fc, step, func() bool { s, _ := h.s.Task(job); return s.Dialed >= 2 })
	h.jobOK("POST", "job/pause", map[string]any{"robotCallJobId": job})
	snap, _ = h.s.Task(job)
	p = h.toBeCalled(url.Values{"robotCallJobId": {id}, "pageSize": {"100"}})
	if p.TotalElements != snap.Pending() || len(p.Content) != snap.Pending() || snap.Pending() == 5 {
		t.Fatalf("after %d dialled: %+v", snap.Dialed, p)
	}
	for i, it := range p.Content {
		if it["calledPhoneNumber"] != snap.Customers[snap.Dialed+i].Phone {
			t.Fatalf("item %d = %v, want customer %d", i, it, snap.Dialed+i)
		}
	}

	// Once every customer is dialled the list is empty (content [], not null).
	h.jobOK("POST", "job/start", map[string]any{"robotCallJobId": job})
	simtest.Pump(t, h.fc, step, func() bool { return h.state(job) == core.StateCompleted })
	if p := h.toBeCalled(url.Values{"robotCallJobId": {id}}); len(p.Content) != 0 || p.TotalElements != 0 || p.Pages != 0 {
		t.Fatalf("after completion: %+v", p)
	}
}

func TestToBeCalledListRefusesBadRequests(t *testing.T) {
	h := newHarness(t, func(c *yiwisesim.Config) { c.API = "job" })
	job := strconv.FormatInt(h.createJob(1), 10)
	now := h.fc.Now()
	for _, tt := range []struct {
		name string
		q    url.Values
		sign func(http.Header)
		code int
	}{
		{"no robotCallJobId", url.Values{}, nil, 412},
		{"non-numeric robotCallJobId", url.Values{"robotCallJobId": {"x"}}, nil, 412},
		{"unknown taskStatus", url.Values{"robotCallJobId": {job}, "taskStatus": {"WAITING"}}, nil, 412},
		{"pageSize 101", url.Values{"robotCallJobId": {job}, "pageSize": {"101"}}, nil, 412},
		{"pageNum 0", url.Values{"robotCallJobId": {job}, "pageNum": {"0"}}, nil, 412},
		{"unknown job", url.Values{"robotCallJobId": {"999"}}, nil, 404},
		{"v1 headers (secret and tenant sign sent)", url.Values{"robotCallJobId": {job}}, h.signAt(now), 401},
		{"wrong signature", url.Values{"robotCallJobId": {job}}, func(hd http.Header) {
			jobSignAt(now)(hd)
			hd.Set("signature", yiwise.Sign(key, "other", tenant, "v1", hd.Get("timestamp")))
		}, 401},
		{"stale timestamp", url.Values{"robotCallJobId": {job}}, jobSignAt(now.Add(-16 * time.Minute)), 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sign := tt.sign
			if sign == nil {
				sign = jobSignAt(now)
			}
			status, env := h.do("GET", "callRecord/toBeCalledList", tt.q, sign)
			if status != http.StatusOK || env.Code != tt.code || string(env.Data) != "null" {
				t.Fatalf("HTTP %d code %d data %s %q, want code %d", status, env.Code, env.Data, env.ResultMsg, tt.code)
			}
		})
	}
	if status, env := h.do("POST", "callRecord/toBeCalledList", url.Values{"robotCallJobId": {job}}, jobSignAt(now)); status == http.StatusOK && env.Code == 200 {
		t.Fatal("POST is served; the document says GET")
	}
}
