package byai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

// Endpoint names, the keys of platform.Account.Paths. Each defaults to
// "/openapi/v1/" + name.
const (
	EndpointCreateTask     = "task/createTask"
	EndpointImportCustomer = "task/importTaskCustomer"
	EndpointStart          = "task/start"
	EndpointPause          = "task/pause"
	EndpointStop           = "task/stop"
	EndpointDelete         = "task/delete"
	EndpointUpdate         = "task/update"
	EndpointTaskDetail     = "task/getTaskDetail"
	EndpointTasks          = "task/getTasks"
	EndpointSingleCall     = "task/singleCallByMobile"
	EndpointPhones         = "company/getPhones"
)

const (
	// importBatchSize is what one importTaskCustomer call carries.
	importBatchSize = 100
	defaultTimeout  = 10 * time.Second
	// maxResponse bounds a response body read into memory.
	maxResponse = 8 << 20
	contentJSON = "application/json;charset=utf-8"
	// findPageSize is the vendor's page-size limit on list queries.
	findPageSize = 50
)

// lineTypes maps command lineType to BYAI callType.
var lineTypes = map[string]int{"mobile": 0, "landline": 1, "unfixed": 2}

// taskTypes maps command mode to BYAI taskType.
var taskTypes = map[string]int{"scheduled": 1, "manual": 2}

// NewClient returns a client for acct's API that sends requests through hc (nil means
// a default client), signing each one.
func NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return newClient(acct, hc, time.Now)
}

type client struct {
	acct *platform.Account
	hc   *http.Client
	now  func() time.Time
}

var _ platform.Client = (*client)(nil)

func newClient(acct *platform.Account, hc *http.Client, now func() time.Time) *client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &signer{appKey: acct.AppKey, appSecret: acct.AppSecret, now: now, next: next}
	return &client{acct: acct, hc: &c, now: now}
}

// signer adds BYAI's authentication headers to every request, redirects included.
type signer struct {
	appKey, appSecret string
	now               func() time.Time
	next              http.RoundTripper
}

func (s *signer) RoundTrip(r *http.Request) (*http.Response, error) {
	dt := s.now().UTC().Format(DateTimeLayout)
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("appkey", s.appKey)
	r.Header.Set("datetime", dt)
	r.Header.Set("sign", Sign(s.appKey, s.appSecret, dt))
	return s.next.RoundTrip(r)
}

// envelope is the vendor's answer to every call.
type envelope struct {
	Code      loose.Scalar    `json:"code"`
	Data      json.RawMessage `json:"data"`
	ResultMsg loose.Scalar    `json:"resultMsg"`
	RequestID loose.Scalar    `json:"requestId"`
	status    int
}

func (e *envelope) reply() platform.Reply { return platform.Reply{RequestID: string(e.RequestID)} }

// badData is a successful answer whose data the client cannot use.
func (e *envelope) badData(endpoint, msg string) error {
	return &platform.Error{Endpoint: endpoint, HTTPStatus: e.status, Message: msg, RequestID: string(e.RequestID)}
}

// do sends one request and returns the envelope of a successful answer.
func (c *client) do(ctx context.Context, endpoint, method string, query url.Values, body any) (*envelope, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", endpoint, err)
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimRight(c.acct.BaseURL, "/") + c.acct.Path(endpoint, "/openapi/v1/"+endpoint)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	timeout := c.acct.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		return nil, &platform.Error{Endpoint: endpoint, Err: err}
	}
	req.Header.Set("Accept", contentJSON)
	if body != nil {
		req.Header.Set("Content-Type", contentJSON)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, transportError(ctx, endpoint, err)
	}

	env := &envelope{status: resp.StatusCode}
	code, isEnvelope := 0, false
	if json.Unmarshal(raw, env) == nil {
		if n, ok := env.Code.Int(); ok {
			code, isEnvelope = int(n), true
		}
	}
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	switch {
	case isEnvelope && code != http.StatusOK:
		return nil, &platform.Error{
			Endpoint: endpoint, HTTPStatus: resp.StatusCode, Code: code,
			Message: string(env.ResultMsg), RequestID: string(env.RequestID),
			Retryable: platform.RetryableCode(code),
		}
	case !ok2xx:
		return nil, &platform.Error{
			Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: http.StatusText(resp.StatusCode),
			RequestID: string(env.RequestID), Retryable: platform.RetryableCode(resp.StatusCode),
		}
	case !isEnvelope:
		// Most likely a proxy's page; whether the vendor acted is unknown, as with a
		// transport error.
		return nil, &platform.Error{
			Endpoint: endpoint, HTTPStatus: resp.StatusCode,
			Message: "response is not a vendor envelope", Retryable: true,
		}
	}
	return env, nil
}

// transportError classifies a failed exchange: worth retrying, unless the caller gave up.
func transportError(ctx context.Context, endpoint string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return &platform.Error{Endpoint: endpoint, Err: err}
	}
	return &platform.Error{Endpoint: endpoint, Err: err, Retryable: true}
}

func (c *client) post(ctx context.Context, endpoint string, body any) (*envelope, error) {
	return c.do(ctx, endpoint, http.MethodPost, nil, body)
}

func (c *client) get(ctx context.Context, endpoint string, query url.Values) (*envelope, error) {
	return c.do(ctx, endpoint, http.MethodGet, query, nil)
}

// number parses an id the vendor wants as a JSON number.
func number(field string, id command.ID) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(id)), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("byai: %w: %s %q is not a vendor id", platform.ErrInvalidInput, field, string(id))
	}
	return n, nil
}

func (c *client) companyID() (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(settingsOf(c.acct).CompanyID), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("byai: %w: account %s has no numeric company id", platform.ErrInvalidInput, c.acct.Name)
	}
	return n, nil
}

// ids reads the company id and a task id, the pair most requests start with.
func (c *client) ids(taskID string) (company, task int64, err error) {
	if task, err = number("taskId", command.ID(taskID)); err != nil {
		return 0, 0, err
	}
	company, err = c.companyID()
	return company, task, err
}

// hhmm writes a time of day as the vendor's "HH:mm"; it also accepts "HH:mm:ss".
func hhmm(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("15:04"), nil
		}
	}
	return "", fmt.Errorf("byai: %w: time of day %q is not HH:mm", platform.ErrInvalidInput, s)
}

// window fills a start/end pair from w; an absent window or side is left out.
func window(w *command.Window, start, end *string) error {
	if w == nil {
		return nil
	}
	for _, f := range []struct {
		in  string
		out *string
	}{{w.Start, start}, {w.End, end}} {
		if strings.TrimSpace(f.in) == "" {
			continue
		}
		v, err := hhmm(f.in)
		if err != nil {
			return err
		}
		*f.out = v
	}
	return nil
}

type repeatCallRule struct {
	PhoneStatus int `json:"phoneStatus"`
	Times       int `json:"times"`
	Interval    int `json:"interval"`
}

type createTaskRequest struct {
	CompanyID        int64            `json:"companyId"`
	TaskName         string           `json:"taskName"`
	TaskType         int              `json:"taskType"`
	StartDate        string           `json:"startDate"`
	WorkingStartTime string           `json:"workingStartTime,omitempty"`
	WorkingEndTime   string           `json:"workingEndTime,omitempty"`
	BreakStartTime   string           `json:"breakStartTime,omitempty"`
	BreakEndTime     string           `json:"breakEndTime,omitempty"`
	UserPhoneIDs     []int64          `json:"userPhoneIds"`
	CallType         int              `json:"callType"`
	ConcurrencyQuota int              `json:"concurrencyQuota,omitempty"`
	RobotDefID       int64            `json:"robotDefId"`
	SceneDefID       int64            `json:"sceneDefId"`
	SceneRecordID    int64            `json:"sceneRecordId"`
	Remark           string           `json:"remark,omitempty"`
	RepeatCall       *bool            `json:"repeatCall,omitempty"`
	RepeatCallRule   []repeatCallRule `json:"repeatCallRule,omitempty"`
}

// script reads BYAI's three dialogue ids.
func readScript(raw json.RawMessage) (robot, scene, record int64, err error) {
	var s script
	if len(raw) > 0 {
		if err = json.Unmarshal(raw, &s); err != nil {
			return 0, 0, 0, fmt.Errorf("byai: script: %w: %v", platform.ErrInvalidInput, err)
		}
	}
	if robot, err = number("script.robotDefId", s.RobotDefID); err != nil {
		return
	}
	if scene, err = number("script.sceneDefId", s.SceneDefID); err != nil {
		return
	}
	record, err = number("script.sceneRecordId", s.SceneRecordID)
	return
}

func (c *client) CreateTask(ctx context.Context, t *command.TaskCreate) (platform.Reply, error) {
	req := createTaskRequest{TaskName: t.Name, Remark: t.Remark, ConcurrencyQuota: t.Concurrency, UserPhoneIDs: []int64{}}
	var err error
	if req.CompanyID, err = c.companyID(); err != nil {
		return platform.Reply{}, err
	}
	var ok bool
	if req.TaskType, ok = taskTypes[t.Mode]; !ok {
		return platform.Reply{}, fmt.Errorf("byai: %w: mode %q", platform.ErrInvalidInput, t.Mode)
	}
	if req.CallType, ok = lineTypes[t.LineType]; !ok {
		return platform.Reply{}, fmt.Errorf("byai: %w: lineType %q", platform.ErrInvalidInput, t.LineType)
	}
	start := c.now()
	if t.StartAt != "" {
		if start, err = time.Parse(time.RFC3339, t.StartAt); err != nil {
			return platform.Reply{}, fmt.Errorf("byai: %w: startAt %q is not RFC 3339", platform.ErrInvalidInput, t.StartAt)
		}
	}
	req.StartDate = start.In(c.acct.Loc()).Format(time.DateOnly)
	if err := window(t.DailyWindow, &req.WorkingStartTime, &req.WorkingEndTime); err != nil {
		return platform.Reply{}, err
	}
	if err := window(t.BreakWindow, &req.BreakStartTime, &req.BreakEndTime); err != nil {
		return platform.Reply{}, err
	}
	for _, id := range t.CallerIDs {
		n, err := number("callerIds", id)
		if err != nil {
			return platform.Reply{}, err
		}
		req.UserPhoneIDs = append(req.UserPhoneIDs, n)
	}
	if req.RobotDefID, req.SceneDefID, req.SceneRecordID, err = readScript(t.Script); err != nil {
		return platform.Reply{}, err
	}
	if r := t.Redial; r != nil {
		req.RepeatCall = &r.Enabled
		for _, rule := range r.Rules {
			status := slices.Index(callStatuses, rule.Status)
			if status < 0 {
				return platform.Reply{}, fmt.Errorf("byai: %w: redial status %q has no BYAI code", platform.ErrInvalidInput, rule.Status)
			}
			req.RepeatCallRule = append(req.RepeatCallRule, repeatCallRule{PhoneStatus: status, Times: rule.Times, Interval: rule.IntervalMinutes})
		}
	}
	env, err := c.post(ctx, EndpointCreateTask, req)
	if err != nil {
		return platform.Reply{}, err
	}
	reply := env.reply()
	var id loose.Scalar
	_ = loose.Decode(env.Data, &id)
	if reply.ID = id.ID(); reply.ID == "" {
		return reply, env.badData(EndpointCreateTask, "created task without returning its id")
	}
	return reply, nil
}

func (c *client) ImportBatchSize() int { return importBatchSize }

type customerInfo struct {
	Name       string            `json:"name"`
	Phone      string            `json:"phone"`
	Properties map[string]string `json:"properties,omitempty"`
}

func (c *client) ImportCustomers(ctx context.Context, taskID string, customers []command.Customer) (platform.Reply, error) {
	company, task, err := c.ids(taskID)
	if err != nil {
		return platform.Reply{}, err
	}
	if len(customers) > importBatchSize {
		return platform.Reply{}, fmt.Errorf("byai: %w: %d customers in one batch, at most %d", platform.ErrInvalidInput, len(customers), importBatchSize)
	}
	if len(customers) == 0 {
		return platform.Reply{}, nil
	}
	list := make([]customerInfo, len(customers))
	for i, cu := range customers {
		// The vendor asks for no properties at all when the script has no variables.
		list[i] = customerInfo{Name: cu.Name, Phone: cu.Phone, Properties: cu.Properties}
	}
	env, err := c.post(ctx, EndpointImportCustomer, map[string]any{
		"taskId": task, "companyId": company, "customerInfoList": list,
	})
	if err != nil {
		return platform.Reply{}, err
	}
	reply := env.reply()
	var counts struct {
		SuccessNum loose.Scalar `json:"successNum"`
		FailNum    loose.Scalar `json:"failNum"`
	}
	_ = loose.Decode(env.Data, &counts)
	accepted, okA := counts.SuccessNum.Int()
	rejected, okR := counts.FailNum.Int()
	switch {
	case okA && okR:
	case okA:
		rejected = max(int64(len(customers))-accepted, 0)
	case okR:
		accepted = max(int64(len(customers))-rejected, 0)
	default:
		// Older releases answer data null: the whole batch was taken.
		accepted, rejected = int64(len(customers)), 0
	}
	reply.Accepted, reply.Rejected = int(accepted), int(rejected)
	return reply, nil
}

func (c *client) control(ctx context.Context, endpoint, taskID string) (platform.Reply, error) {
	n, err := number("taskId", command.ID(taskID))
	if err != nil {
		return platform.Reply{}, err
	}
	env, err := c.post(ctx, endpoint, map[string]int64{"taskId": n})
	if err != nil {
		return platform.Reply{}, err
	}
	return env.reply(), nil
}

// ControlTask calls the endpoint of c.Action.
func (c *client) ControlTask(ctx context.Context, tc *command.TaskControl) (platform.Reply, error) {
	id := string(tc.TaskID)
	switch tc.Action {
	case command.ActionStart:
		return c.control(ctx, EndpointStart, id)
	case command.ActionPause:
		return c.control(ctx, EndpointPause, id)
	case command.ActionStop:
		return c.control(ctx, EndpointStop, id)
	case command.ActionDelete:
		return c.deleteTask(ctx, id)
	case command.ActionSetConcurrency:
		return c.setConcurrency(ctx, id, tc.Concurrency)
	}
	return platform.Reply{}, fmt.Errorf("byai: action %q: %w", tc.Action, platform.ErrInvalidInput)
}

func (c *client) deleteTask(ctx context.Context, taskID string) (platform.Reply, error) {
	n, err := number("taskId", command.ID(taskID))
	if err != nil {
		return platform.Reply{}, err
	}
	// The delete document alone types taskId as a String.
	env, err := c.post(ctx, EndpointDelete, map[string]string{"taskId": strconv.FormatInt(n, 10)})
	if err != nil {
		return platform.Reply{}, err
	}
	return env.reply(), nil
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

type updateTaskRequest struct {
	CompanyID        int64  `json:"companyId"`
	TaskID           int64  `json:"taskId"`
	TaskName         string `json:"taskName"`
	TaskType         int64  `json:"taskType"`
	UserPhoneIDs     string `json:"userPhoneIds"`
	CallType         int64  `json:"callType"`
	ConcurrencyQuota int    `json:"concurrencyQuota"`
	StartDate        string `json:"startDate,omitempty"`
	WorkingStartTime string `json:"workingStartTime,omitempty"`
	WorkingEndTime   string `json:"workingEndTime,omitempty"`
	BreakStartTime   string `json:"breakStartTime,omitempty"`
	BreakEndTime     string `json:"breakEndTime,omitempty"`
}

// SetConcurrency rewrites the task through task/update, which wants the whole task:
// the rest is read back from its detail, and callType from its caller line's phoneType,
// which the vendor says callType must follow.
func (c *client) setConcurrency(ctx context.Context, taskID string, concurrency int) (platform.Reply, error) {
	company, task, err := c.ids(taskID)
	if err != nil {
		return platform.Reply{}, err
	}
	if concurrency < 1 {
		return platform.Reply{}, fmt.Errorf("byai: %w: concurrency %d", platform.ErrInvalidInput, concurrency)
	}
	companyQ := strconv.FormatInt(company, 10)
	env, err := c.get(ctx, EndpointTaskDetail, url.Values{"companyId": {companyQ}, "taskId": {strconv.FormatInt(task, 10)}})
	if err != nil {
		return platform.Reply{}, err
	}
	var d taskDetail
	_ = loose.Decode(env.Data, &d)
	taskType, ok := d.JobType.Int()
	if !ok {
		return platform.Reply{}, env.badData(EndpointTaskDetail, "task detail has no jobType")
	}
	var lines []string
	for _, p := range d.CallPhones {
		if id := p.UserPhoneID.ID(); id != "" {
			lines = append(lines, id)
		}
	}
	if len(lines) == 0 {
		return platform.Reply{}, env.badData(EndpointTaskDetail, "task detail has no caller lines")
	}

	env, err = c.get(ctx, EndpointPhones, url.Values{"companyId": {companyQ}})
	if err != nil {
		return platform.Reply{}, err
	}
	var phones []phoneLine
	_ = loose.Decode(env.Data, &phones)
	phoneTypes := map[string]int64{}
	for _, p := range phones {
		if t, ok := p.PhoneType.Int(); ok {
			phoneTypes[p.UserPhoneID.ID()] = t
		}
	}
	// A task has one callType: its first caller line decides it.
	callType, found := int64(0), false
	for _, l := range lines {
		if callType, found = phoneTypes[l]; found {
			break
		}
	}
	if !found {
		return platform.Reply{}, env.badData(EndpointPhones, "the task's caller lines are not among the company's phones")
	}

	req := updateTaskRequest{
		CompanyID: company, TaskID: task, TaskName: string(d.JobName), TaskType: taskType,
		UserPhoneIDs: strings.Join(lines, ","), CallType: callType, ConcurrencyQuota: concurrency,
		StartDate: d.StartDate.ID(),
	}
	for _, f := range []struct {
		in  loose.Scalar
		out *string
	}{
		{d.WorkingStartTime, &req.WorkingStartTime}, {d.WorkingEndTime, &req.WorkingEndTime},
		{d.BreakStartTime, &req.BreakStartTime}, {d.BreakEndTime, &req.BreakEndTime},
	} {
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

type singleCallRequest struct {
	Mobile        string            `json:"mobile"`
	CompanyID     int64             `json:"companyId"`
	Variables     map[string]string `json:"variables"`
	SceneDefID    int64             `json:"sceneDefId"`
	SceneRecordID int64             `json:"sceneRecordId"`
	RobotDefID    int64             `json:"robotDefId"`
	UserName      string            `json:"userName,omitempty"`
}

func (c *client) SingleCall(ctx context.Context, s *command.CallSingle) (platform.Reply, error) {
	if strings.TrimSpace(s.Phone) == "" {
		return platform.Reply{}, fmt.Errorf("byai: %w: no phone", platform.ErrInvalidInput)
	}
	req := singleCallRequest{Mobile: strings.TrimSpace(s.Phone), UserName: s.Name, Variables: s.Variables}
	// The vendor requires the field even when the script has no variables.
	if req.Variables == nil {
		req.Variables = map[string]string{}
	}
	var err error
	if req.CompanyID, err = c.companyID(); err != nil {
		return platform.Reply{}, err
	}
	if req.RobotDefID, req.SceneDefID, req.SceneRecordID, err = readScript(s.Script); err != nil {
		return platform.Reply{}, err
	}
	env, err := c.post(ctx, EndpointSingleCall, req)
	if err != nil {
		return platform.Reply{}, err
	}
	reply := env.reply()
	var id loose.Scalar
	_ = loose.Decode(env.Data, &id)
	reply.ID = id.ID()
	return reply, nil
}

func (c *client) FindTasks(ctx context.Context, name string) ([]string, error) {
	company, err := c.companyID()
	if err != nil {
		return nil, err
	}
	env, err := c.get(ctx, EndpointTasks, url.Values{
		"companyId": {strconv.FormatInt(company, 10)},
		"taskName":  {name},
		"pageNum":   {"1"},
		"pageSize":  {strconv.Itoa(findPageSize)},
	})
	if err != nil {
		return nil, err
	}
	var page struct {
		List []struct {
			CallJobID loose.Scalar `json:"callJobId"`
			JobName   loose.Scalar `json:"jobName"`
		} `json:"list"`
	}
	_ = loose.Decode(env.Data, &page)
	ids := []string{}
	for _, t := range page.List {
		// taskName filters loosely at the vendor; only the exact name is the same task.
		if id := t.CallJobID.ID(); id != "" && string(t.JobName) == name {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
