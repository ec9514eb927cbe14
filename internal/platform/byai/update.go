package byai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

var (
	_ platform.SingleCaller = (*client)(nil)
	_ platform.TaskUpdater  = (*client)(nil)
	_ platform.Blacklister  = (*client)(nil)
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// phoneTypes reads getPhones: each caller line's phoneType by userPhoneId.
func (c *client) phoneTypes(ctx context.Context, company int64) (map[string]int64, error) {
	env, err := c.get(ctx, EndpointPhones, url.Values{"companyId": {strconv.FormatInt(company, 10)}})
	if err != nil {
		return nil, err
	}
	var phones []phoneLine
	_ = loose.Decode(env.Data, &phones)
	types := map[string]int64{}
	for _, p := range phones {
		if t, ok := p.PhoneType.Int(); ok {
			types[p.UserPhoneID.ID()] = t
		}
	}
	return types, nil
}

// lineCallType is the callType of a task calling from lines: the phoneType of its
// first line the company has (company.md: callType follows the line's phoneType).
func (c *client) lineCallType(ctx context.Context, company int64, lines []command.ID) (int, error) {
	types, err := c.phoneTypes(ctx, company)
	if err != nil {
		return 0, err
	}
	for _, l := range lines {
		if t, ok := types[strings.TrimSpace(string(l))]; ok {
			return int(t), nil
		}
	}
	return 0, &platform.Error{Endpoint: EndpointPhones, HTTPStatus: 200, Message: "the task's caller lines are not among the company's phones"}
}

type taskDetail struct {
	JobName          loose.Scalar `json:"jobName"`
	JobType          loose.Scalar `json:"jobType"`
	StartDate        loose.Scalar `json:"startDate"`
	WorkingStartTime loose.Scalar `json:"workingStartTime"`
	WorkingEndTime   loose.Scalar `json:"workingEndTime"`
	BreakStartTime   loose.Scalar `json:"breakStartTime"`
	BreakEndTime     loose.Scalar `json:"breakEndTime"`
	CallPhones       []struct {
		UserPhoneID loose.Scalar `json:"userPhoneId"`
	} `json:"callPhones"`
}

type phoneLine struct {
	UserPhoneID loose.Scalar `json:"userPhoneId"`
	PhoneType   loose.Scalar `json:"phoneType"`
}

// updateTaskRequest is task/update, every field of its table.
type updateTaskRequest struct {
	CompanyID        int64  `json:"companyId"`
	TaskID           int64  `json:"taskId"`
	TaskName         string `json:"taskName"`
	TaskType         int64  `json:"taskType"`
	UserPhoneIDs     string `json:"userPhoneIds"`
	CallType         int64  `json:"callType"`
	ConcurrencyQuota int64  `json:"concurrencyQuota"`
	ConcurrencyPhone int64  `json:"concurrencyPhone,omitempty"`
	StartDate        string `json:"startDate,omitempty"`
	WorkingStartTime string `json:"workingStartTime,omitempty"`
	WorkingEndTime   string `json:"workingEndTime,omitempty"`
	BreakStartTime   string `json:"breakStartTime,omitempty"`
	BreakEndTime     string `json:"breakEndTime,omitempty"`
}

// CheckUpdate says which fields of u BYAI's task/update cannot change: redial and
// remark are not among its parameters.
func CheckUpdate(u *command.TaskUpdate) error {
	var no []string
	if u.Redial != nil {
		no = append(no, "redial")
	}
	if u.Remark != nil {
		no = append(no, "remark")
	}
	if len(no) > 0 {
		return fmt.Errorf("byai: task/update cannot change %s: %w", strings.Join(no, ", "), platform.ErrUnsupported)
	}
	return nil
}

// UpdateTask changes a task through task/update, which wants the whole task: what the
// command leaves out is read back from the task's detail (getTaskDetail), and callType,
// unless lineType is given, from its caller line's phoneType (getPhones), which the
// vendor says callType must follow. Fields the vendor cannot change fail before any
// call. Each request is made once; the whole is safe to repeat, since it writes
// absolute values.
func (c *client) UpdateTask(ctx context.Context, u *command.TaskUpdate) (platform.Reply, error) {
	if err := CheckUpdate(u); err != nil {
		return platform.Reply{}, err
	}
	company, task, err := c.ids(ctx, u.CompanyID, string(u.TaskID))
	if err != nil {
		return platform.Reply{}, err
	}
	// Everything the command says is checked before the first request.
	req := updateTaskRequest{CompanyID: company, TaskID: task}
	var lines []string
	for _, id := range u.CallerIDs {
		n, err := number("callerIds", id)
		if err != nil {
			return platform.Reply{}, err
		}
		lines = append(lines, strconv.FormatInt(n, 10))
	}
	callType := int64(-1)
	if u.LineType != nil {
		t, ok := lineTypes[*u.LineType]
		if !ok {
			return platform.Reply{}, fmt.Errorf("byai: %w: lineType %q", platform.ErrInvalidInput, *u.LineType)
		}
		callType = int64(t)
	}
	if u.Concurrency != nil && *u.Concurrency < 1 {
		return platform.Reply{}, fmt.Errorf("byai: %w: concurrency %d", platform.ErrInvalidInput, *u.Concurrency)
	}
	var startDate string
	if u.StartAt != nil {
		at, err := time.Parse(time.RFC3339, *u.StartAt)
		if err != nil {
			return platform.Reply{}, fmt.Errorf("byai: %w: startAt %q is not RFC 3339", platform.ErrInvalidInput, *u.StartAt)
		}
		startDate = at.In(c.acct.Loc()).Format(time.DateOnly)
	}
	var daily, brk [2]string
	if err := window(u.DailyWindow, &daily[0], &daily[1]); err != nil {
		return platform.Reply{}, err
	}
	if err := window(u.BreakWindow, &brk[0], &brk[1]); err != nil {
		return platform.Reply{}, err
	}

	companyQ := strconv.FormatInt(company, 10)
	env, err := c.get(ctx, EndpointTaskDetail, url.Values{"companyId": {companyQ}, "taskId": {strconv.FormatInt(task, 10)}})
	if err != nil {
		return platform.Reply{}, err
	}
	var d taskDetail
	_ = loose.Decode(env.Data, &d)
	var ok bool
	if req.TaskType, ok = d.JobType.Int(); !ok {
		return platform.Reply{}, env.badData(EndpointTaskDetail, "task detail has no jobType")
	}
	if len(lines) == 0 {
		for _, p := range d.CallPhones {
			if id := p.UserPhoneID.ID(); id != "" {
				lines = append(lines, id)
			}
		}
	}
	if len(lines) == 0 {
		return platform.Reply{}, env.badData(EndpointTaskDetail, "task detail has no caller lines")
	}
	if callType < 0 {
		ids := make([]command.ID, len(lines))
		for i, l := range lines {
			ids[i] = command.ID(l)
		}
		t, err := c.lineCallType(ctx, company, ids)
		if err != nil {
			return platform.Reply{}, err
		}
		callType = int64(t)
	}
	req.TaskName = string(d.JobName)
	if u.Name != nil {
		req.TaskName = *u.Name
	}
	req.UserPhoneIDs, req.CallType = strings.Join(lines, ","), callType
	req.ConcurrencyQuota = detailConcurrency(env.Data)
	if u.Concurrency != nil {
		req.ConcurrencyQuota = int64(*u.Concurrency)
	}
	if req.ConcurrencyQuota < 1 {
		// The detail does not say the task's seats (its document has no such field).
		req.ConcurrencyQuota = 1
	}
	req.StartDate = d.StartDate.ID()
	if startDate != "" {
		req.StartDate = startDate
	}
	for _, f := range []struct {
		in  loose.Scalar
		set string
		out *string
	}{
		{d.WorkingStartTime, daily[0], &req.WorkingStartTime}, {d.WorkingEndTime, daily[1], &req.WorkingEndTime},
		{d.BreakStartTime, brk[0], &req.BreakStartTime}, {d.BreakEndTime, brk[1], &req.BreakEndTime},
	} {
		if f.set != "" {
			*f.out = f.set
			continue
		}
		if v := f.in.ID(); v != "" {
			// Pass on what the vendor wrote when it is not a time we know how to shorten.
			if *f.out, err = hhmm(v); err != nil {
				*f.out = v
			}
		}
	}
	env, err = c.post(ctx, EndpointUpdate, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return env.reply(), nil
}

// detailConcurrency reads the task's seats where a detail carries them
// (concurrencyQuota, as the create and update requests name it); 0 when absent.
func detailConcurrency(data json.RawMessage) int64 {
	var d struct {
		ConcurrencyQuota loose.Scalar `json:"concurrencyQuota"`
	}
	_ = loose.Decode(data, &d)
	n, _ := d.ConcurrencyQuota.Int()
	return n
}

// AddBlacklist adds one number to the company's default blacklist group
// (company/addBlackList); the reply's ID is the blacklist entry's id.
func (c *client) AddBlacklist(ctx context.Context, b *command.BlacklistAdd) (platform.Reply, error) {
	phone := strings.TrimSpace(b.Phone)
	if phone == "" {
		return platform.Reply{}, fmt.Errorf("byai: %w: no phone", platform.ErrInvalidInput)
	}
	company, err := c.companyID(ctx, b.CompanyID)
	if err != nil {
		return platform.Reply{}, err
	}
	type request struct {
		Name      string `json:"name,omitempty"`
		Mobile    string `json:"mobile"`
		Remark    string `json:"remark,omitempty"`
		CompanyID int64  `json:"companyId"`
	}
	env, err := c.post(ctx, EndpointBlacklist, request{Name: b.Name, Mobile: phone, Remark: b.Remark, CompanyID: company})
	if err != nil {
		return platform.Reply{}, err
	}
	return env.replyWithID(), nil
}

// taskCall is task/call: it calls customer CustomerID of task TaskID now.
func (c *client) taskCall(ctx context.Context, s *command.CallSingle) (platform.Reply, error) {
	if s.TaskID == "" || s.CustomerID == "" {
		return platform.Reply{}, fmt.Errorf("byai: %w: a task customer's call needs taskId and customerId", platform.ErrInvalidInput)
	}
	if _, err := number("taskId", s.TaskID); err != nil {
		return platform.Reply{}, err
	}
	var req taskCallRequest
	var err error
	if req.CustomerID, err = number("customerId", s.CustomerID); err != nil {
		return platform.Reply{}, err
	}
	if p := strings.TrimPrefix(strings.TrimSpace(s.Phone), "+"); p != "" {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return platform.Reply{}, fmt.Errorf("byai: %w: phone is not a number", platform.ErrInvalidInput)
		}
		n := json.Number(p)
		req.Mobile = &n
	}
	if req.CompanyID, err = c.companyID(ctx, s.CompanyID); err != nil {
		return platform.Reply{}, err
	}
	if req.RobotDefID, req.SceneDefID, req.SceneRecordID, err = readScript(s.Script); err != nil {
		return platform.Reply{}, err
	}
	req.Variables = s.Variables
	if req.Variables == nil {
		req.Variables = map[string]string{}
	}
	env, err := c.post(ctx, EndpointCall, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return env.replyWithID(), nil
}
