package yiwise

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

// timeSpan is one entry of inactiveTimeList.
type timeSpan struct {
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime"`
}

// jobSpec is robotCallJob of job/create and job/modify (task.md).
type jobSpec struct {
	RobotCallJobID   int64      `json:"robotCallJobId,omitempty"` // job/modify only
	TenantID         int64      `json:"tenantId"`
	Name             string     `json:"name"`
	Mode             string     `json:"mode"`
	StartTime        string     `json:"startTime,omitempty"`
	DailyStartTime   string     `json:"dailyStartTime"`
	DailyEndTime     string     `json:"dailyEndTime"`
	InactiveTimeList []timeSpan `json:"inactiveTimeList"`
	DialogFlowID     int64      `json:"dialogFlowId"`
	PhoneType        string     `json:"phoneType"`
	RobotCount       int        `json:"robotCount"`
	Description      string     `json:"description,omitempty"`
	RedialCondition  []string   `json:"redialCondition,omitempty"`
	RedialInterval   int        `json:"redialInterval,omitempty"`
	RedialTimes      int        `json:"redialTimes,omitempty"`
}

// jobRequest is the body of job/create and job/modify.
type jobRequest struct {
	ConcurrencyQuota     int     `json:"concurrencyQuota"`
	JobPhoneNumberIDList []int64 `json:"jobPhoneNumberIdList"`
	RobotCallJob         jobSpec `json:"robotCallJob"`
}

// redialConditions maps call.finished statuses to the job API's redialCondition values.
var redialConditions = map[string]string{
	"call_loss":          "CALL_LOSS",
	"no_answer":          "NO_ANSWER",
	"busy":               "BUSY",
	"refused":            "REFUSED",
	"power_off":          "POWER_OFF",
	"out_of_service":     "OUT_OF_SERVICE",
	"unreachable":        "CAN_NOT_CONNECT",
	"caller_unavailable": "FROM_PHONE_ERROR",
	"system_error":       "SYSTEM_ERROR",
}

// redialOf reads a redial policy as the job API's one (conditions, interval, times):
// every rule must share times and interval, since the vendor has one of each.
func redialOf(r *command.Redial) (conds []string, interval, times int, err error) {
	if r == nil || !r.Enabled {
		return nil, 0, 0, nil
	}
	if len(r.Rules) == 0 {
		return nil, 0, 0, invalid("redial: enabled needs rules (the job API has no default redial times or interval)")
	}
	for i, rule := range r.Rules {
		c, ok := redialConditions[rule.Status]
		if !ok {
			return nil, 0, 0, fmt.Errorf("yiwise: redial.rules[%d]: status %q cannot be redialled (redialCondition): %w", i, rule.Status, platform.ErrUnsupported)
		}
		if i == 0 {
			interval, times = rule.IntervalMinutes, rule.Times
		} else if rule.IntervalMinutes != interval || rule.Times != times {
			return nil, 0, 0, fmt.Errorf("yiwise: redial.rules[%d]: the job API has one redialTimes and redialInterval for every status: %w", i, platform.ErrUnsupported)
		}
		if !containsStr(conds, c) {
			conds = append(conds, c)
		}
	}
	if interval < 6 || interval > 24*60 {
		return nil, 0, 0, invalid("redial intervalMinutes %d is outside 6…1440", interval)
	}
	if times < 1 || times > 10 {
		return nil, 0, 0, invalid("redial times %d is outside 1…10", times)
	}
	return conds, interval, times, nil
}

func containsStr(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// jobRequestOf builds job/create's body from t (the tenant id is filled in later).
func (c *client) jobRequestOf(t *command.TaskCreate) (*jobRequest, error) {
	if t == nil {
		return nil, invalid("no task")
	}
	mode, phoneType, flow, callers, err := taskBasics(t)
	if err != nil {
		return nil, err
	}
	conds, interval, times, err := redialOf(t.Redial)
	if err != nil {
		return nil, err
	}
	dailyStart, dailyEnd, err := window("dailyWindow", t.DailyWindow, "09:00", "20:00")
	if err != nil {
		return nil, err
	}
	spans := []timeSpan{}
	if t.BreakWindow != nil {
		bs, be, err := window("breakWindow", t.BreakWindow, "12:00", "13:00")
		if err != nil {
			return nil, err
		}
		spans = append(spans, timeSpan{bs, be})
	}
	var startTime string
	if t.StartAt != "" || mode == "AUTO" {
		// startTime is needed only for AUTO jobs.
		start := c.now()
		if t.StartAt != "" {
			if start, err = time.Parse(time.RFC3339, t.StartAt); err != nil {
				return nil, invalid("startAt %q is not RFC 3339", t.StartAt)
			}
		}
		startTime = start.In(c.acct.Loc()).Format(localLayout)
	}
	robots := t.Concurrency
	if robots <= 0 {
		robots = 1
	}
	return &jobRequest{
		ConcurrencyQuota:     robots,
		JobPhoneNumberIDList: callers,
		RobotCallJob: jobSpec{
			Name: t.Name, Mode: mode, StartTime: startTime, DailyStartTime: dailyStart, DailyEndTime: dailyEnd,
			InactiveTimeList: spans, DialogFlowID: flow, PhoneType: phoneType, RobotCount: robots,
			Description: t.Remark, RedialCondition: conds, RedialInterval: interval, RedialTimes: times,
		},
	}, nil
}

// createJob creates a task on API=job (job/create, answering {"robotCallJobId": …}).
func (c *client) createJob(ctx context.Context, t *command.TaskCreate) (platform.Reply, error) {
	req, err := c.jobRequestOf(t)
	if err != nil {
		return platform.Reply{}, err
	}
	if req.RobotCallJob.TenantID, err = c.tenant(ctx); err != nil {
		return platform.Reply{}, err
	}
	env, err := c.do(ctx, EndpointJobCreate, http.MethodPost, nil, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return createdTask(env, EndpointJobCreate)
}

// taskBasics checks and maps what both API families' creates take alike: the name,
// mode, line type, dialog flow and caller line ids.
func taskBasics(t *command.TaskCreate) (mode, phoneType string, flow int64, callers []int64, err error) {
	if strings.TrimSpace(t.Name) == "" {
		return "", "", 0, nil, invalid("name is required")
	}
	var ok bool
	if mode, ok = modes[t.Mode]; !ok {
		return "", "", 0, nil, invalid("mode %q is not manual or scheduled", t.Mode)
	}
	if phoneType, ok = phoneTypes[t.LineType]; !ok {
		return "", "", 0, nil, invalid("lineType %q is not mobile, landline or unfixed", t.LineType)
	}
	if flow, err = dialogFlow(t.Script); err != nil {
		return "", "", 0, nil, err
	}
	if callers, err = ids("callerIds", t.CallerIDs); err != nil {
		return "", "", 0, nil, err
	}
	return mode, phoneType, flow, callers, nil
}

func dialogFlow(raw json.RawMessage) (int64, error) {
	var sc script
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &sc); err != nil {
			return 0, invalid("script: %v", err)
		}
	}
	if sc.DialogFlowID == "" {
		return 0, invalid("script.dialogFlowId is required")
	}
	return number("script.dialogFlowId", string(sc.DialogFlowID))
}

func ids(field string, list []command.ID) ([]int64, error) {
	out := make([]int64, 0, len(list))
	for i, id := range list {
		n, err := number(fmt.Sprintf("%s[%d]", field, i), string(id))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// tenant returns the account's tenant id (company/getCompanies, tenant/getTenant),
// read once.
func (c *client) tenant(ctx context.Context) (int64, error) {
	c.tenantMu.Lock()
	defer c.tenantMu.Unlock()
	if c.tenantID != 0 {
		return c.tenantID, nil
	}
	ep := c.pick(EndpointGetCompanies, EndpointTenant)
	env, err := c.do(ctx, ep, http.MethodGet, nil, nil)
	if err != nil {
		return 0, err
	}
	d := env.data()
	if d.Kind() == jsondoc.Array {
		for e := range d.Elems {
			d = e
			break
		}
	}
	n, ok := loose.Get(d, "tenantId").Int()
	if !ok || n <= 0 {
		return 0, &platform.Error{Endpoint: ep, HTTPStatus: env.httpStatus, Code: codeOK, Message: "success without a tenantId in data", RequestID: env.RequestID}
	}
	c.tenantID = n
	return n, nil
}

// line is one of the account's caller lines.
type line struct {
	id        int64
	number    string
	phoneType string
}

// lineList lists the account's caller lines (company/getPhones, phone/getPhoneList),
// in the vendor's order.
func (c *client) lineList(ctx context.Context) ([]line, error) {
	env, err := c.do(ctx, c.pick(EndpointGetPhones, EndpointPhoneList), http.MethodGet, nil, nil)
	if err != nil {
		return nil, err
	}
	var out []line
	for e := range env.data().Elems {
		id, ok := loose.Get(e, c.pick("userPhoneId", "tenantPhoneNumberId")).Int()
		if !ok {
			continue
		}
		out = append(out, line{id: id, number: loose.Get(e, c.pick("phone", "phoneNumber")).String(), phoneType: loose.Get(e, "phoneType").ID()})
	}
	return out, nil
}

func (c *client) lines(ctx context.Context) (map[int64]line, error) {
	list, err := c.lineList(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]line, len(list))
	for _, l := range list {
		m[l.id] = l
	}
	return m, nil
}

// UpdateTask changes a task (task.update). On v1 the only change the API has is the
// AI seat count (task/update), so any other field is unsupported. On API=job the task
// is read (job/getJobDetail), changed and written back whole (PATCH job/modify), since
// the document requires every field of the create body.
func (c *client) UpdateTask(ctx context.Context, u *command.TaskUpdate) (platform.Reply, error) {
	if u == nil {
		return platform.Reply{}, invalid("no update")
	}
	if !c.job {
		if u.Name != nil || u.StartAt != nil || u.DailyWindow != nil || u.BreakWindow != nil || u.CallerIDs != nil ||
			u.LineType != nil || u.Redial != nil || u.Remark != nil {
			return platform.Reply{}, fmt.Errorf("yiwise: API v1 can change only a task's concurrency (task/update): %w", platform.ErrUnsupported)
		}
		if u.Concurrency == nil {
			return platform.Reply{}, invalid("nothing to change")
		}
		return c.setConcurrency(ctx, string(u.TaskID), *u.Concurrency)
	}
	id, err := number("taskId", string(u.TaskID))
	if err != nil {
		return platform.Reply{}, err
	}
	// Everything is checked before the first request.
	var change jobRequest
	var conds []string
	var interval, times int
	if u.Redial != nil {
		if conds, interval, times, err = redialOf(u.Redial); err != nil {
			return platform.Reply{}, err
		}
	}
	if u.CallerIDs != nil {
		if change.JobPhoneNumberIDList, err = ids("callerIds", u.CallerIDs); err != nil {
			return platform.Reply{}, err
		}
	}
	var phoneType, startTime string
	if u.LineType != nil {
		var ok bool
		if phoneType, ok = phoneTypes[*u.LineType]; !ok {
			return platform.Reply{}, invalid("lineType %q is not mobile, landline or unfixed", *u.LineType)
		}
	}
	if u.StartAt != nil {
		start, err := time.Parse(time.RFC3339, *u.StartAt)
		if err != nil {
			return platform.Reply{}, invalid("startAt %q is not RFC 3339", *u.StartAt)
		}
		startTime = start.In(c.acct.Loc()).Format(localLayout)
	}
	if u.Concurrency != nil && *u.Concurrency <= 0 {
		return platform.Reply{}, invalid("concurrency %d is not positive", *u.Concurrency)
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return platform.Reply{}, invalid("name is empty")
	}
	var daily, brk [2]string
	if u.DailyWindow != nil {
		if daily[0], daily[1], err = window("dailyWindow", u.DailyWindow, "09:00", "20:00"); err != nil {
			return platform.Reply{}, err
		}
	}
	if u.BreakWindow != nil {
		if brk[0], brk[1], err = window("breakWindow", u.BreakWindow, "12:00", "13:00"); err != nil {
			return platform.Reply{}, err
		}
	}

	req, err := c.currentJob(ctx, id)
	if err != nil {
		return platform.Reply{}, err
	}
	j := &req.RobotCallJob
	if u.Name != nil {
		j.Name = *u.Name
	}
	if startTime != "" {
		j.StartTime = startTime
	}
	if u.DailyWindow != nil {
		j.DailyStartTime, j.DailyEndTime = daily[0], daily[1]
	}
	if u.BreakWindow != nil {
		j.InactiveTimeList = []timeSpan{{brk[0], brk[1]}}
	}
	if u.CallerIDs != nil {
		req.JobPhoneNumberIDList = change.JobPhoneNumberIDList
	}
	if phoneType != "" {
		j.PhoneType = phoneType
	}
	if u.Concurrency != nil {
		j.RobotCount, req.ConcurrencyQuota = *u.Concurrency, *u.Concurrency
	}
	if u.Redial != nil {
		j.RedialCondition, j.RedialInterval, j.RedialTimes = conds, interval, times
	}
	if u.Remark != nil {
		j.Description = *u.Remark
	}
	env, err := c.do(ctx, EndpointJobModify, http.MethodPatch, nil, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return platform.Reply{ID: string(u.TaskID), RequestID: env.RequestID}, nil
}

// currentJob reads a job (job/getJobDetail) as the body job/modify writes back.
func (c *client) currentJob(ctx context.Context, id int64) (*jobRequest, error) {
	q := url.Values{"robotCallJobId": {fmt.Sprint(id)}}
	env, err := c.do(ctx, EndpointJobDetail, http.MethodGet, q, nil)
	if err != nil {
		return nil, err
	}
	req, ok := jobFromDetail(id, env.data())
	if !ok {
		return nil, &platform.Error{Endpoint: EndpointJobDetail, HTTPStatus: env.httpStatus, Code: codeOK, Message: "success without robotCallJob in data", RequestID: env.RequestID}
	}
	return req, nil
}

// jobFromDetail reads job/getJobDetail's data as the body job/modify writes back.
func jobFromDetail(id int64, d jsondoc.Value) (*jobRequest, bool) {
	rj := d.Get("robotCallJob")
	if rj.Kind() != jsondoc.Object {
		return nil, false
	}
	n := func(name string) int64 { v, _ := loose.Get(rj, name).Int(); return v }
	req := &jobRequest{
		RobotCallJob: jobSpec{
			RobotCallJobID: id, TenantID: n("tenantId"), Name: loose.Get(rj, "name").String(), Mode: loose.Get(rj, "mode").ID(),
			StartTime: loose.Get(rj, "startTime").String(), DailyStartTime: hhmm(loose.Get(rj, "dailyStartTime").ID()),
			DailyEndTime: hhmm(loose.Get(rj, "dailyEndTime").ID()), InactiveTimeList: []timeSpan{},
			DialogFlowID: n("dialogFlowId"), PhoneType: loose.Get(rj, "phoneType").ID(), RobotCount: int(n("robotCount")),
			Description: loose.Get(rj, "description").String(), RedialInterval: int(n("redialInterval")), RedialTimes: int(n("redialTimes")),
		},
	}
	for e := range rj.Get("inactiveTimeList").Elems {
		req.RobotCallJob.InactiveTimeList = append(req.RobotCallJob.InactiveTimeList,
			timeSpan{hhmm(loose.Get(e, "startTime").ID()), hhmm(loose.Get(e, "endTime").ID())})
	}
	for e := range rj.Get("redialCondition").Elems {
		if s := loose.Of(e).ID(); s != "" {
			req.RobotCallJob.RedialCondition = append(req.RobotCallJob.RedialCondition, s)
		}
	}
	req.JobPhoneNumberIDList = []int64{}
	quota := 0
	for e := range d.Get("jobPhoneNumberList").Elems {
		if id, ok := loose.Get(e, "tenantPhoneNumberId").Int(); ok {
			req.JobPhoneNumberIDList = append(req.JobPhoneNumberIDList, id)
		}
		if q, ok := loose.Get(e, "concurrencyQuota").Int(); ok {
			quota += int(q)
		}
	}
	req.ConcurrencyQuota = quota
	if quota == 0 {
		req.ConcurrencyQuota = req.RobotCallJob.RobotCount
	}
	return req, true
}

// hhmm cuts "HH:mm:ss", as job details write times, to the "HH:mm" requests use.
func hhmm(s string) string {
	if len(s) == len("15:04:05") && s[2] == ':' && s[5] == ':' {
		return s[:5]
	}
	return s
}

// oneTimeCall is the body of job/oneTimeCall, as the vendor's sample code sends it.
type oneTimeCall struct {
	DialogFlowID         int64            `json:"dialogFlowId"`
	JobPhoneNumberIDList []int64          `json:"jobPhoneNumberIdList"`
	PhoneType            string           `json:"phoneType"`
	CustomerPersons      []customerPerson `json:"customerPersons"`
}

// SingleCall places one call now (job/oneTimeCall, documented only by the vendor's
// sample code). The call goes out on the command's callerId, which must be one of the
// account's caller lines (phone/getPhoneList), or else on the first of them, with that
// line's type. A task's customer (taskId and customerId) cannot be called this way.
func (c jobClient) SingleCall(ctx context.Context, s *command.CallSingle) (platform.Reply, error) {
	if s == nil {
		return platform.Reply{}, invalid("no call")
	}
	if s.TaskID != "" || s.CustomerID != "" {
		return platform.Reply{}, fmt.Errorf("yiwise: calling a task's customer (taskId, customerId) has no API: %w", platform.ErrUnsupported)
	}
	if strings.TrimSpace(s.Phone) == "" {
		return platform.Reply{}, invalid("phone is required")
	}
	flow, err := dialogFlow(s.Script)
	if err != nil {
		return platform.Reply{}, err
	}
	var callerID int64
	if s.CallerID != "" {
		if callerID, err = number("callerId", string(s.CallerID)); err != nil {
			return platform.Reply{}, err
		}
	}
	lines, err := c.lineList(ctx)
	if err != nil {
		return platform.Reply{}, err
	}
	if len(lines) == 0 {
		return platform.Reply{}, invalid("the account has no caller line (phone/getPhoneList is empty)")
	}
	l := lines[0]
	if s.CallerID != "" {
		i := slices.IndexFunc(lines, func(l line) bool { return l.id == callerID })
		if i < 0 {
			return platform.Reply{}, invalid("callerId %d is not one of the account's caller lines (phone/getPhoneList)", callerID)
		}
		l = lines[i]
	}
	body := oneTimeCall{
		DialogFlowID: flow, JobPhoneNumberIDList: []int64{l.id}, PhoneType: l.phoneType,
		CustomerPersons: []customerPerson{{Name: s.Name, PhoneNumber: s.Phone, Properties: s.Variables}},
	}
	env, err := c.do(ctx, EndpointJobOneTimeCall, http.MethodPost, nil, body)
	if err != nil {
		return platform.Reply{}, err
	}
	// The answer is not documented: a call record or job id is taken where it is.
	d := env.data()
	id := loose.Get(d, "callRecordId").ID()
	if id == "" {
		id = taskIDOf(d)
	}
	return platform.Reply{ID: id, RequestID: env.RequestID}, nil
}
