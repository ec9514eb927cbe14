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
	EndpointCompanies      = "company/getCompanys"
	EndpointRobots         = "company/getRobots"
	EndpointBlacklist      = "company/addBlackList"
	EndpointSeats          = "company/seat/statistics"
	EndpointCall           = "task/call"
	EndpointDoneCalls      = "task/queryDoneTaskPhones"
	EndpointNotDialed      = "task/notDialedCustomerList"
	EndpointCallDetail     = "task/phoneLogInfo"
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
var lineTypes = map[string]int{"mobile": 0, "landline": 1, "unfixed": 2, "sip": 6}

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

// replyWithID is reply with the id the answer's data holds (a task's, a call's), ""
// when it holds none.
func (e *envelope) replyWithID() platform.Reply {
	r := e.reply()
	var id loose.Scalar
	_ = loose.Decode(e.Data, &id)
	r.ID = id.ID()
	return r
}

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

// companyID is the company a request acts for: the command's companyId, else the one
// the saga put in ctx (platform.WithCompanyID), else the account's COMPANY_ID.
func (c *client) companyID(ctx context.Context, explicit command.ID) (int64, error) {
	if explicit == "" {
		explicit = platform.CompanyID(ctx)
	}
	if explicit != "" {
		return number("companyId", explicit)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(settingsOf(c.acct).CompanyID), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("byai: %w: account %s has no numeric company id", platform.ErrInvalidInput, c.acct.Name)
	}
	return n, nil
}

// ids reads the company id and a task id, the pair most requests start with.
func (c *client) ids(ctx context.Context, explicit command.ID, taskID string) (company, task int64, err error) {
	if task, err = number("taskId", command.ID(taskID)); err != nil {
		return 0, 0, err
	}
	company, err = c.companyID(ctx, explicit)
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
	SceneDefID       *int64           `json:"sceneDefId,omitempty"`
	SceneRecordID    *int64           `json:"sceneRecordId,omitempty"`
	Remark           string           `json:"remark,omitempty"`
	RepeatCall       *bool            `json:"repeatCall,omitempty"`
	RepeatCallRule   []repeatCallRule `json:"repeatCallRule,omitempty"`
}

// readScript reads BYAI's dialogue ids. Only robotDefId is required: the vendor's own
// demo no longer sends sceneDefId and sceneRecordId, which are nil when absent.
func readScript(raw json.RawMessage) (robot int64, scene, record *int64, err error) {
	var s script
	if len(raw) > 0 {
		if err = json.Unmarshal(raw, &s); err != nil {
			return 0, nil, nil, fmt.Errorf("byai: script: %w: %v", platform.ErrInvalidInput, err)
		}
	}
	if robot, err = number("script.robotDefId", s.RobotDefID); err != nil {
		return
	}
	opt := func(field string, id command.ID) (*int64, error) {
		if id == "" {
			return nil, nil
		}
		n, err := number(field, id)
		return &n, err
	}
	if scene, err = opt("script.sceneDefId", s.SceneDefID); err != nil {
		return
	}
	record, err = opt("script.sceneRecordId", s.SceneRecordID)
	return
}

func (c *client) CreateTask(ctx context.Context, t *command.TaskCreate) (platform.Reply, error) {
	req := createTaskRequest{TaskName: t.Name, Remark: t.Remark, ConcurrencyQuota: t.Concurrency, UserPhoneIDs: []int64{}}
	var err error
	if req.CompanyID, err = c.companyID(ctx, t.CompanyID); err != nil {
		return platform.Reply{}, err
	}
	var ok bool
	if req.TaskType, ok = taskTypes[t.Mode]; !ok {
		return platform.Reply{}, fmt.Errorf("byai: %w: mode %q", platform.ErrInvalidInput, t.Mode)
	}
	if req.CallType, ok = lineTypes[t.LineType]; !ok {
		return platform.Reply{}, fmt.Errorf("byai: %w: lineType %q", platform.ErrInvalidInput, t.LineType)
	}
	if t.LineType == "sip" && len(t.CallerIDs) > 0 {
		// company.md (getPhones): callType follows the caller line's phoneType. A SIP
		// account may number its lines' type otherwise than 6; ask rather than assume.
		if req.CallType, err = c.lineCallType(ctx, req.CompanyID, t.CallerIDs); err != nil {
			return platform.Reply{}, err
		}
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
	reply := env.replyWithID()
	if reply.ID == "" {
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
	company, task, err := c.ids(ctx, "", taskID)
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
	req := map[string]any{"taskId": task, "companyId": company, "customerInfoList": list}
	if f := settingsOf(c.acct).ForceTransferCustomer; f != nil {
		req["forceTransferCustomer"] = boolInt(*f)
	}
	env, err := c.post(ctx, EndpointImportCustomer, req)
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
		if tc.Concurrency < 1 {
			return platform.Reply{}, fmt.Errorf("byai: %w: concurrency %d", platform.ErrInvalidInput, tc.Concurrency)
		}
		n := tc.Concurrency
		return c.UpdateTask(ctx, &command.TaskUpdate{TaskID: tc.TaskID, Concurrency: &n, CompanyID: tc.CompanyID})
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

type singleCallRequest struct {
	Mobile        string            `json:"mobile"`
	CompanyID     int64             `json:"companyId"`
	Variables     map[string]string `json:"variables"`
	SceneDefID    *int64            `json:"sceneDefId,omitempty"`
	SceneRecordID *int64            `json:"sceneRecordId,omitempty"`
	RobotDefID    int64             `json:"robotDefId"`
	UserName      string            `json:"userName,omitempty"`
}

// taskCallRequest is task/call: a call of a customer already in a task. The table
// types mobile as int; the customer id is what names the customer, so mobile is sent
// (as a number) only when the command has one.
type taskCallRequest struct {
	CustomerID    int64             `json:"customerId"`
	Mobile        *json.Number      `json:"mobile,omitempty"`
	CompanyID     int64             `json:"companyId"`
	Variables     map[string]string `json:"variables"`
	SceneDefID    *int64            `json:"sceneDefId,omitempty"`
	SceneRecordID *int64            `json:"sceneRecordId,omitempty"`
	RobotDefID    int64             `json:"robotDefId"`
}

// SingleCall calls a number (task/singleCallByMobile), or, given taskId and
// customerId, a customer of a task (task/call).
func (c *client) SingleCall(ctx context.Context, s *command.CallSingle) (platform.Reply, error) {
	if s.CallerID != "" {
		// Neither singleCallByMobile nor task/call takes a line: the call goes out on the
		// line the vendor picks, so a chosen one is refused rather than ignored.
		return platform.Reply{}, fmt.Errorf("byai: a single call cannot choose its caller line (callerId): %w", platform.ErrUnsupported)
	}
	if s.CustomerID != "" || s.TaskID != "" {
		return c.taskCall(ctx, s)
	}
	if strings.TrimSpace(s.Phone) == "" {
		return platform.Reply{}, fmt.Errorf("byai: %w: no phone", platform.ErrInvalidInput)
	}
	req := singleCallRequest{Mobile: strings.TrimSpace(s.Phone), UserName: s.Name, Variables: s.Variables}
	// The vendor requires the field even when the script has no variables.
	if req.Variables == nil {
		req.Variables = map[string]string{}
	}
	var err error
	if req.CompanyID, err = c.companyID(ctx, s.CompanyID); err != nil {
		return platform.Reply{}, err
	}
	if req.RobotDefID, req.SceneDefID, req.SceneRecordID, err = readScript(s.Script); err != nil {
		return platform.Reply{}, err
	}
	env, err := c.post(ctx, EndpointSingleCall, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return env.replyWithID(), nil
}

func (c *client) FindTasks(ctx context.Context, name string) ([]string, error) {
	company, err := c.companyID(ctx, "")
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
