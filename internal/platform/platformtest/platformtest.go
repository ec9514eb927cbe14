// Package platformtest is a small vendor for tests of what the optional vendor
// abilities feed (`callbridge vendor`, reconciliation): "calllab", with a JSON API
// served by API (an httptest handler) that keeps finished calls, can page them back
// (platform.CallLister), answers queries (platform.Querier), makes the webhook body of
// each call, and can be told to fail. Only tests import it; Register links it.
package platformtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

// Name is the vendor's registered name.
const Name = "calllab"

var once sync.Once

// Register registers the vendor once per process.
func Register() { once.Do(func() { platform.Register(Vendor{}) }) }

// Vendor is calllab.
type Vendor struct{}

func (Vendor) Name() string                             { return Name }
func (Vendor) Settings() []platform.Setting             { return nil }
func (Vendor) Configure(map[string]string) (any, error) { return nil, nil }
func (Vendor) ScriptSchema() json.RawMessage {
	return json.RawMessage(`{"type":"object","required":["dialogFlowId"],"additionalProperties":false,"properties":{"dialogFlowId":{"$ref":"#/$defs/id"}}}`)
}

// Call is one finished call as the API keeps and sends it.
type Call struct {
	ID      string `json:"id"`
	Task    string `json:"task"`
	Phone   string `json:"phone"`
	Status  string `json:"status"`
	Seconds int64  `json:"seconds"`
	EndedAt string `json:"endedAt"` // RFC 3339
}

// Webhook is the body calllab POSTs when call ended.
func Webhook(c Call) []byte {
	b, _ := json.Marshal(map[string]any{"event": "call_end", "call": c})
	return b
}

func (Vendor) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	var h struct {
		Event string          `json:"event"`
		Call  json.RawMessage `json:"call"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Event != "call_end" {
		return nil, fmt.Errorf("calllab: %w", platform.ErrUnparseable)
	}
	out, err := callEvent(acct, h.Call)
	if err != nil {
		return nil, err
	}
	return []event.Out{out}, nil
}

// callEvent normalizes one call record, from a webhook or a list page alike.
func callEvent(acct *platform.Account, raw json.RawMessage) (event.Out, error) {
	var c Call
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		return event.Out{}, fmt.Errorf("calllab: call: %w", platform.ErrUnparseable)
	}
	ended, err := time.Parse(time.RFC3339, c.EndedAt)
	if err != nil {
		return event.Out{}, fmt.Errorf("calllab: %w: endedAt: %w", platform.ErrUnparseable, err)
	}
	status := event.StatusUnknown
	if c.Status == event.StatusAnswered || c.Status == event.StatusBusy {
		status = c.Status
	}
	return event.Out{
		Topic: event.TopicCallFinished, Type: event.TypeCallFinished,
		ID:      event.CallFinishedID(Name, acct.Name, c.ID),
		Subject: "call/" + c.ID, Time: ended, Key: c.Task,
		Data: &event.CallFinished{
			Vendor: Name, Account: acct.Name, Direction: "outbound", CallID: c.ID, TaskID: event.Str(c.Task),
			Customer: event.Customer{Phone: event.Str(c.Phone)}, Status: status, VendorStatus: c.Status,
			Answered: status == event.StatusAnswered, Tags: []string{}, Concerns: []string{},
			DurationSeconds: c.Seconds, EndedAt: event.Str(ended.Format(time.RFC3339)),
			Transcript: []event.Utterance{}, Raw: raw,
		},
		Phones: func() []string { return []string{c.Phone} },
	}, nil
}

func (Vendor) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return &Client{acct: acct, hc: hc}
}

// Client is calllab's API client: the core commands are unsupported; it lists calls
// and answers queries.
type Client struct {
	acct *platform.Account
	hc   *http.Client
}

var (
	_ platform.CallLister = (*Client)(nil)
	_ platform.Querier    = (*Client)(nil)
)

func (c *Client) CreateTask(context.Context, *command.TaskCreate) (platform.Reply, error) {
	return platform.Reply{}, platform.ErrUnsupported
}
func (c *Client) FindTasks(context.Context, string) ([]string, error) { return nil, nil }
func (c *Client) ImportBatchSize() int                                { return 100 }
func (c *Client) ImportCustomers(context.Context, string, []command.Customer) (platform.Reply, error) {
	return platform.Reply{}, platform.ErrUnsupported
}
func (c *Client) ControlTask(context.Context, *command.TaskControl) (platform.Reply, error) {
	return platform.Reply{}, platform.ErrUnsupported
}

func (c *Client) get(ctx context.Context, endpoint string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.acct.BaseURL+"/"+endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.acct.AppKey)
	resp, err := c.hc.Do(req)
	if err != nil {
		return &platform.Error{Endpoint: endpoint, Message: err.Error(), Retryable: ctx.Err() == nil, Err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &platform.Error{Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: string(b), Retryable: platform.RetryableCode(resp.StatusCode)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &platform.Error{Endpoint: endpoint, HTTPStatus: resp.StatusCode, Message: "bad reply: " + err.Error()}
	}
	return nil
}

// ListCalls pages GET /calls?from=&to=&cursor=: the cursor is the API's own (an
// offset), valid across restarts.
func (c *Client) ListCalls(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
	var page struct {
		Calls []json.RawMessage `json:"calls"`
		Next  string            `json:"next"`
	}
	q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}, "cursor": {cursor}}
	if err := c.get(ctx, "calls", q, &page); err != nil {
		return platform.CallPage{}, err
	}
	out := platform.CallPage{Next: page.Next}
	for _, raw := range page.Calls {
		ev, err := callEvent(c.acct, raw)
		if err != nil {
			return platform.CallPage{}, &platform.Error{Endpoint: "calls", Message: err.Error()}
		}
		out.Calls = append(out.Calls, ev)
	}
	return out, nil
}

// Queries: phones, and calls TASK_ID.
func (c *Client) Queries() []platform.QuerySpec {
	return []platform.QuerySpec{
		{Name: "phones", Doc: "caller numbers of the account"},
		{Name: "calls", Args: []string{"TASK_ID"}, Doc: "finished calls of a task"},
	}
}

func (c *Client) Query(ctx context.Context, name string, args []string) (*platform.Table, error) {
	switch {
	case name == "phones" && len(args) == 0:
		var raw json.RawMessage
		if err := c.get(ctx, "phones", nil, &raw); err != nil {
			return nil, err
		}
		var phones []struct {
			ID     int    `json:"id"`
			Number string `json:"number"`
			Type   string `json:"type"`
		}
		if err := json.Unmarshal(raw, &phones); err != nil {
			return nil, &platform.Error{Endpoint: "phones", Message: err.Error()}
		}
		t := &platform.Table{Columns: []string{"ID", "NUMBER", "TYPE"}, JSON: raw}
		for _, p := range phones {
			t.Rows = append(t.Rows, []string{strconv.Itoa(p.ID), p.Number, p.Type})
		}
		return t, nil
	case name == "calls" && len(args) == 1:
		var page struct {
			Calls []Call `json:"calls"`
		}
		if err := c.get(ctx, "calls", url.Values{"task": {args[0]}}, &page); err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(page.Calls)
		t := &platform.Table{Columns: []string{"CALL", "STATUS", "SECONDS", "ENDED"}, JSON: raw}
		for _, c := range page.Calls {
			t.Rows = append(t.Rows, []string{c.ID, c.Status, strconv.FormatInt(c.Seconds, 10), c.EndedAt})
		}
		return t, nil
	}
	return nil, fmt.Errorf("calllab: query %q with %d arguments: %w", name, len(args), platform.ErrInvalidInput)
}

// API is calllab's API: GET /calls (a window's calls by end time, PageSize a page,
// or a task's calls with ?task=), GET /phones. Set Fail to make a request fail.
type API struct {
	// PageSize is the calls per page; default 10.
	PageSize int

	mu    sync.Mutex
	calls []Call
	// Fail, if set, is asked before each request; a non-zero status is answered.
	Fail func(r *http.Request) int
	// Requests counts requests by path.
	Requests map[string]int
}

// Add stores finished calls.
func (a *API) Add(cs ...Call) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, cs...)
}

// Count returns how many requests path received.
func (a *API) Count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.Requests[path]
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if a.Requests == nil {
		a.Requests = map[string]int{}
	}
	a.Requests[r.URL.Path]++
	fail := a.Fail
	calls := slices.Clone(a.calls)
	size := a.PageSize
	a.mu.Unlock()
	if fail != nil {
		if code := fail(r); code != 0 {
			http.Error(w, "failing", code)
			return
		}
	}
	if size <= 0 {
		size = 10
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/phones":
		_, _ = io.WriteString(w, `[{"id":7,"number":"02161234567","type":"landline"},{"id":12,"number":"13800000000","type":"mobile"}]`)
	case "/calls":
		if task := q.Get("task"); task != "" {
			calls = slices.DeleteFunc(calls, func(c Call) bool { return c.Task != task })
			_ = json.NewEncoder(w).Encode(map[string]any{"calls": calls})
			return
		}
		from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
		to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
		if err1 != nil || err2 != nil {
			http.Error(w, "bad window", http.StatusBadRequest)
			return
		}
		calls = slices.DeleteFunc(calls, func(c Call) bool {
			t, _ := time.Parse(time.RFC3339, c.EndedAt)
			return t.Before(from) || !t.Before(to)
		})
		start, _ := strconv.Atoi(q.Get("cursor"))
		end := min(start+size, len(calls))
		next := ""
		if end < len(calls) {
			next = strconv.Itoa(end)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"calls": calls[min(start, end):end], "next": next})
	default:
		http.NotFound(w, r)
	}
}
