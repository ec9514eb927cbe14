package yiwise

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

const (
	// importBatchSize is how many customers one importTaskCustomer call carries.
	importBatchSize = 100
	defaultTimeout  = 10 * time.Second
	defaultVersion  = "v1"
	// maxResponse bounds how much of a vendor response is read.
	maxResponse = 8 << 20
	jsonType    = "application/json;charset=utf-8"
	// codeOK is the envelope code of success.
	codeOK = 200
)

// client is the Yiwise API client of one account.
type client struct {
	acct *platform.Account
	hc   *http.Client
	now  func() time.Time
	// job is true on API=job: the current job/* endpoints and request shapes.
	job bool

	// tenantID caches the account's tenant id (it never changes), read once from
	// company/getCompanies or tenant/getTenant for robotCallJob.tenantId.
	tenantMu sync.Mutex
	tenantID int64
}

// jobClient is the client of an API=job account: everything client does, and the
// one-time call (job/oneTimeCall) that only that family has.
type jobClient struct{ *client }

var (
	_ platform.Client       = (*client)(nil)
	_ platform.TaskUpdater  = (*client)(nil)
	_ platform.Querier      = (*client)(nil)
	_ platform.CallLister   = (*client)(nil)
	_ platform.SingleCaller = jobClient{}
)

// NewClient returns the API client of acct, sending signed requests through hc (nil
// means http.DefaultClient). hc itself is not modified.
func NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	c := newClient(acct, hc, time.Now)
	if c.job {
		return jobClient{c}
	}
	return c
}

func newClient(acct *platform.Account, hc *http.Client, now func() time.Time) *client {
	if acct == nil {
		acct = &platform.Account{}
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &client{acct: acct, now: now, job: settingsOf(acct).API == APIJob}
	signed := *hc
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	signed.Transport = &signer{acct: acct, now: now, next: next}
	// Every hop carries the app secret, so redirects are not followed: a 3xx is an error.
	signed.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &signed
	return c
}

// signer adds Yiwise's authentication headers to every request it sends through next.
type signer struct {
	acct *platform.Account
	now  func() time.Time
	next http.RoundTripper
}

func (s *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context()) // a RoundTripper must not change the caller's request
	for k, v := range signedHeaders(s.acct, s.now()) {
		r.Header[k] = v
	}
	return s.next.RoundTrip(r)
}

// signedHeaders returns the authentication headers for acct at now, spelled as the
// vendor's documents spell them: six on v1; on API=job the four the vendor's current
// sample sends (appKey, version, timestamp, signature), the secret and the tenant sign
// being inputs of the signature only.
func signedHeaders(acct *platform.Account, now time.Time) http.Header {
	set := settingsOf(acct)
	version := set.APIVersion
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	if set.API == APIJob {
		return http.Header{
			"appKey":    {acct.AppKey},
			"version":   {version},
			"timestamp": {ts},
			"signature": {Sign(acct.AppKey, acct.AppSecret, set.TenantSign, version, ts)},
		}
	}
	return http.Header{
		"appKey":     {acct.AppKey},
		"appSecret":  {acct.AppSecret},
		"tenantSign": {set.TenantSign},
		"version":    {version},
		"timestamp":  {ts},
		"signature":  {Sign(acct.AppKey, acct.AppSecret, set.TenantSign, version, ts)},
	}
}

// ImportBatchSize is the most customers one ImportCustomers call takes.
func (c *client) ImportBatchSize() int { return importBatchSize }

type phoneKey struct {
	Key   int64  `json:"key"`
	Value string `json:"value"`
}

type robotCallJob struct {
	Name              string `json:"name"`
	Mode              string `json:"mode"`
	StartTime         string `json:"startTime"`
	DailyStartTime    string `json:"dailyStartTime"`
	DailyEndTime      string `json:"dailyEndTime"`
	InactiveStartTime string `json:"inactiveStartTime"`
	InactiveEndTime   string `json:"inactiveEndTime"`
	DialogFlowID      int64  `json:"dialogFlowId"`
	PhoneType         string `json:"phoneType"`
	RobotCount        int    `json:"robotCount"`
	Description       string `json:"description,omitempty"`
	TenantID          int64  `json:"tenantId"`
}

type createTaskRequest struct {
	JobPhoneNumberList []phoneKey   `json:"jobPhoneNumberList"`
	RobotCallJob       robotCallJob `json:"robotCallJob"`
}

var modes = map[string]string{"scheduled": "AUTO", "manual": "MANUAL"}

var phoneTypes = map[string]string{"mobile": "MOBILE", "landline": "LANDLINE", "unfixed": "UNFIXED_CALL"}

// CreateTask creates a task (task/createTask) and returns its id.
func (c *client) CreateTask(ctx context.Context, t *command.TaskCreate) (platform.Reply, error) {
	if c.job {
		return c.createJob(ctx, t)
	}
	req, err := c.createTaskRequest(t)
	if err != nil {
		return platform.Reply{}, err
	}
	// jobPhoneNumberList values are the lines' numbers, robotCallJob.tenantId the
	// tenant's id, as the document's example and the vendor's sample send them.
	if req.RobotCallJob.TenantID, err = c.tenant(ctx); err != nil {
		return platform.Reply{}, err
	}
	lines, err := c.lines(ctx)
	if err != nil {
		return platform.Reply{}, err
	}
	for i := range req.JobPhoneNumberList {
		k := req.JobPhoneNumberList[i].Key
		l, ok := lines[k]
		if !ok {
			return platform.Reply{}, invalid("callerIds: line %d is not one of the account's (company/getPhones)", k)
		}
		req.JobPhoneNumberList[i].Value = l.number
	}
	env, err := c.do(ctx, EndpointCreateTask, http.MethodPost, nil, req)
	if err != nil {
		return platform.Reply{}, err
	}
	return createdTask(env, EndpointCreateTask)
}

// createdTask is the reply to a successful create on endpoint: the task id its data
// holds. Without one the task may well exist, so the caller has to look it up by name.
func createdTask(env *envelope, endpoint string) (platform.Reply, error) {
	id := taskIDOf(env.data())
	if id == "" {
		return platform.Reply{RequestID: env.RequestID}, &platform.Error{
			Endpoint: endpoint, HTTPStatus: env.httpStatus, Code: codeOK,
			Message: "success without a task id in data", RequestID: env.RequestID,
		}
	}
	return platform.Reply{ID: id, RequestID: env.RequestID}, nil
}

func (c *client) createTaskRequest(t *command.TaskCreate) (*createTaskRequest, error) {
	if t == nil {
		return nil, invalid("no task")
	}
	if t.Redial != nil && t.Redial.Enabled {
		// createTask has no redial settings: a task created without them would quietly
		// not redial what the command asked it to.
		return nil, fmt.Errorf("yiwise: createJob has no redial settings (send redial.enabled false or no redial): %w", platform.ErrUnsupported)
	}
	mode, phoneType, flow, lineIDs, err := taskBasics(t)
	if err != nil {
		return nil, err
	}
	callers := make([]phoneKey, 0, len(lineIDs))
	for _, n := range lineIDs {
		callers = append(callers, phoneKey{Key: n})
	}
	loc := c.acct.Loc()
	start := c.now()
	if t.StartAt != "" {
		start, err = time.Parse(time.RFC3339, t.StartAt)
		if err != nil {
			return nil, invalid("startAt %q is not RFC 3339", t.StartAt)
		}
	}
	dailyStart, dailyEnd, err := window("dailyWindow", t.DailyWindow, "09:00", "20:00")
	if err != nil {
		return nil, err
	}
	// The API requires a break; noon to one is the vendor's own default.
	breakStart, breakEnd, err := window("breakWindow", t.BreakWindow, "12:00", "13:00")
	if err != nil {
		return nil, err
	}
	robots := t.Concurrency
	if robots <= 0 {
		robots = 1
	}
	return &createTaskRequest{
		JobPhoneNumberList: callers,
		RobotCallJob: robotCallJob{
			Name:              t.Name,
			Mode:              mode,
			StartTime:         start.In(loc).Format(localLayout),
			DailyStartTime:    dailyStart,
			DailyEndTime:      dailyEnd,
			InactiveStartTime: breakStart,
			InactiveEndTime:   breakEnd,
			DialogFlowID:      flow,
			PhoneType:         phoneType,
			RobotCount:        robots,
			Description:       t.Remark,
		},
	}, nil
}

type customerPerson struct {
	Name        string            `json:"name"`
	PhoneNumber string            `json:"phoneNumber"`
	Properties  map[string]string `json:"properties,omitempty"`
}

type importRequest struct {
	RobotCallJobID  int64            `json:"robotCallJobId"`
	CustomerPersons []customerPerson `json:"customerPersons"`
}

// ImportCustomers adds at most ImportBatchSize customers to a task
// (task/importTaskCustomer, job/importCustomer). An empty batch sends nothing.
func (c *client) ImportCustomers(ctx context.Context, taskID string, customers []command.Customer) (platform.Reply, error) {
	id, err := number("taskId", taskID)
	if err != nil {
		return platform.Reply{}, err
	}
	if len(customers) > importBatchSize {
		return platform.Reply{}, invalid("%d customers in one batch, at most %d", len(customers), importBatchSize)
	}
	if len(customers) == 0 {
		return platform.Reply{}, nil
	}
	persons := make([]customerPerson, len(customers))
	for i, cu := range customers {
		persons[i] = customerPerson{Name: cu.Name, PhoneNumber: cu.Phone, Properties: cu.Properties}
	}
	env, err := c.do(ctx, c.pick(EndpointImportCustomer, EndpointJobImport), http.MethodPost, nil, importRequest{RobotCallJobID: id, CustomerPersons: persons})
	if err != nil {
		return platform.Reply{}, err
	}
	// The documents answer data null; should the vendor report counts, they win.
	reply := platform.Reply{RequestID: env.RequestID, Accepted: len(customers)}
	data := env.data()
	if success, fail := data.Get("successNum"), data.Get("failNum"); success.Exists() || fail.Exists() {
		reply.Accepted = int(count(loose.Of(success)))
		reply.Rejected = int(count(loose.Of(fail)))
	}
	return reply, nil
}

type taskRequest struct {
	RobotCallJobID int64 `json:"robotCallJobId"`
}

// ControlTask starts, pauses, stops or deletes a task (task/start, pause, stop,
// delete) or sets its AI seat count (task/update).
func (c *client) ControlTask(ctx context.Context, tc *command.TaskControl) (platform.Reply, error) {
	id := string(tc.TaskID)
	switch tc.Action {
	case command.ActionStart:
		return c.control(ctx, c.pick(EndpointStart, EndpointJobStart), id)
	case command.ActionPause:
		return c.control(ctx, c.pick(EndpointPause, EndpointJobPause), id)
	case command.ActionStop:
		return c.control(ctx, c.pick(EndpointStop, EndpointJobStop), id)
	case command.ActionDelete:
		return c.control(ctx, c.pick(EndpointDelete, EndpointJobDelete), id)
	case command.ActionSetConcurrency:
		return c.setConcurrency(ctx, id, tc.Concurrency)
	}
	return platform.Reply{}, fmt.Errorf("yiwise: action %q: %w", tc.Action, platform.ErrInvalidInput)
}

func (c *client) control(ctx context.Context, endpoint, taskID string) (platform.Reply, error) {
	id, err := number("taskId", taskID)
	if err != nil {
		return platform.Reply{}, err
	}
	env, err := c.do(ctx, endpoint, http.MethodPost, nil, taskRequest{RobotCallJobID: id})
	if err != nil {
		return platform.Reply{}, err
	}
	return platform.Reply{ID: taskID, RequestID: env.RequestID}, nil
}

type updateRequest struct {
	RobotCallJobID int64 `json:"robotCallJobId"`
	RobotCount     int   `json:"robotCount"`
}

func (c *client) setConcurrency(ctx context.Context, taskID string, concurrency int) (platform.Reply, error) {
	id, err := number("taskId", taskID)
	if err != nil {
		return platform.Reply{}, err
	}
	if concurrency <= 0 {
		return platform.Reply{}, invalid("concurrency %d is not positive", concurrency)
	}
	env, err := c.do(ctx, c.pick(EndpointUpdate, EndpointJobUpdateAiCount), http.MethodPost, nil, updateRequest{RobotCallJobID: id, RobotCount: concurrency})
	if err != nil {
		return platform.Reply{}, err
	}
	return platform.Reply{ID: taskID, RequestID: env.RequestID}, nil
}

// FindTasks lists the ids of tasks named exactly name, from the first 50 the
// vendor's name search returns (task/getTasks, job/getJobs).
func (c *client) FindTasks(ctx context.Context, name string) ([]string, error) {
	q := url.Values{"name": {name}, "pageNum": {"1"}, "pageSize": {"50"}}
	env, err := c.do(ctx, c.pick(EndpointGetTasks, EndpointJobGetJobs), http.MethodGet, q, nil)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for task := range env.data().Get("content").Elems {
		if n := task.Get("name"); n.Kind() != jsondoc.String || n.Str() != name {
			continue
		}
		if id := loose.Get(task, "robotCallJobId").ID(); id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// envelope is every Yiwise answer: {code, data, requestId, resultMsg, errorStackTrace}.
type envelope struct {
	Code      loose.Scalar    `json:"code"`
	Data      json.RawMessage `json:"data"`
	RequestID string          `json:"requestId"`
	ResultMsg string          `json:"resultMsg"`

	httpStatus int
}

// data is the answer's data, read loosely; Absent when there is none.
func (e *envelope) data() jsondoc.Value {
	d, err := jsondoc.Parse(e.Data)
	if err != nil {
		return jsondoc.Value{}
	}
	return d.Root()
}

// code reads the envelope code, a number or a numeric string.
func (e *envelope) code() (int, bool) {
	n, ok := e.Code.Int()
	return int(n), ok && n == int64(int(n))
}

// do sends one request to endpoint and returns the envelope of a successful answer;
// any failure is a *platform.Error.
func (c *client) do(ctx context.Context, endpoint, method string, query url.Values, body any) (*envelope, error) {
	u := strings.TrimRight(c.acct.BaseURL, "/") + c.path(endpoint)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var reqBody io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("yiwise %s: encode request: %w", endpoint, err)
		}
		reqBody = bytes.NewReader(b)
	}
	timeout := c.acct.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, u, reqBody)
	if err != nil {
		// A base URL or path that does not make a URL: configuration, not worth retrying.
		return nil, &platform.Error{Endpoint: endpoint, Message: "build request: " + err.Error(), Err: err}
	}
	req.Header.Set("Accept", jsonType)
	if body != nil {
		req.Header.Set("Content-Type", jsonType)
	}

	resp, err := c.hc.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err == nil {
			return c.answer(endpoint, resp, b)
		}
	}
	// The caller gave up: not a vendor failure, and not ours to retry.
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return nil, &platform.Error{Endpoint: endpoint, Message: err.Error(), Err: err}
	}
	return nil, &platform.Error{Endpoint: endpoint, Message: err.Error(), Retryable: true, Err: err}
}

func (c *client) answer(endpoint string, resp *http.Response, b []byte) (*envelope, error) {
	env := &envelope{httpStatus: resp.StatusCode}
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	isEnv := json.Unmarshal(b, env) == nil
	code, hasCode := env.code()
	switch {
	case isEnv && hasCode && code == codeOK && ok2xx:
		return env, nil
	case isEnv && hasCode && code != codeOK:
		return nil, &platform.Error{
			Endpoint: endpoint, HTTPStatus: resp.StatusCode, Code: code,
			Message: env.ResultMsg, RequestID: env.RequestID, Retryable: platform.RetryableCode(code),
		}
	default:
		// No envelope (a gateway's page, a redirect) or a success code on an HTTP
		// error: the HTTP status decides.
		msg := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if ok2xx {
			msg = "answer is not a Yiwise envelope {code, data, resultMsg}"
		}
		return nil, &platform.Error{
			Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: msg,
			RequestID: env.RequestID, Retryable: platform.RetryableCode(resp.StatusCode),
		}
	}
}

func (c *client) path(endpoint string) string {
	p := c.acct.Path(endpoint, "/apiOpen/v1/"+endpoint)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// number reads an id or count that Yiwise takes as a JSON number.
func number(field, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, invalid("%s %q is not an integer", field, truncate(s, 32))
	}
	return n, nil
}

// window reads a daily "HH:mm" window; each missing end takes its default.
func window(field string, w *command.Window, defStart, defEnd string) (string, string, error) {
	start, end := defStart, defEnd
	if w == nil {
		return start, end, nil
	}
	var err error
	if w.Start != "" {
		if start, err = clock(field+".start", w.Start); err != nil {
			return "", "", err
		}
	}
	if w.End != "" {
		if end, err = clock(field+".end", w.End); err != nil {
			return "", "", err
		}
	}
	return start, end, nil
}

func clock(field, s string) (string, error) {
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.Format("15:04"), nil
		}
	}
	return "", invalid("%s %q is not HH:mm", field, truncate(s, 16))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("yiwise: %s: %w", fmt.Sprintf(format, args...), platform.ErrInvalidInput)
}

// pick is the endpoint of the account's family: v1 on v1, job on API=job.
func (c *client) pick(v1, job string) string {
	if c.job {
		return job
	}
	return v1
}

// taskIDOf reads a task id answer: the bare id (task/createTask) or
// {"robotCallJobId": …} (job/create, job/modify).
func taskIDOf(data jsondoc.Value) string {
	if data.Kind() == jsondoc.Object {
		return loose.Get(data, "robotCallJobId").ID()
	}
	return loose.Of(data).ID()
}
