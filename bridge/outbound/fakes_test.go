package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/publish"
)

// fakeLedger is an in-memory Ledger that keeps every Put, so tests can read the
// checkpoints a command wrote.
type fakeLedger struct {
	mu      sync.Mutex
	entries map[string]ledger.Entry
	puts    []ledger.Entry
	// putErr, when set, fails every Put after the first putOK ones.
	putErr error
	putOK  int
	// syncErrs are returned by successive Syncs; nil after they run out.
	syncErrs  []error
	syncs     int
	forgotten []string
	forgetErr error
	clock     time.Time
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{entries: map[string]ledger.Entry{}, clock: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)}
}

func (l *fakeLedger) Get(_ int, id string) (ledger.Entry, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	return e, ok, nil
}

// Put stamps like the real ledger: a time that moves on with every write, and an owner.
func (l *fakeLedger) Put(_ context.Context, e ledger.Entry) (ledger.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.putErr != nil && len(l.puts) >= l.putOK {
		return e, l.putErr
	}
	e.UpdatedAt = l.clock.Add(time.Duration(len(l.puts)+1) * time.Second)
	e.Owner = "fake"
	e.VendorRequestIDs = append([]string(nil), e.VendorRequestIDs...)
	l.entries[e.CommandID] = e
	l.puts = append(l.puts, e)
	return e, nil
}

func (l *fakeLedger) Assign(context.Context, []int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.syncs++
	if len(l.syncErrs) > 0 {
		err := l.syncErrs[0]
		l.syncErrs = l.syncErrs[1:]
		return err
	}
	return nil
}

func (l *fakeLedger) SettledBefore(t time.Time, limit int) []ledger.Ref {
	l.mu.Lock()
	defer l.mu.Unlock()
	var refs []ledger.Ref
	for id, e := range l.entries {
		if e.Done() && e.UpdatedAt.Before(t) && len(refs) < limit {
			refs = append(refs, ledger.Ref{Partition: e.Partition, ID: id})
		}
	}
	return refs
}

func (l *fakeLedger) Forget(_ context.Context, _ int, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forgetErr != nil {
		return l.forgetErr
	}
	delete(l.entries, id)
	l.forgotten = append(l.forgotten, id)
	return nil
}

// seed records e as a previous run left it.
func (l *fakeLedger) seed(e ledger.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[e.CommandID] = e
}

// pendings lists the Pending value of every write, in order.
func (l *fakeLedger) pendings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ps []string
	for _, e := range l.puts {
		ps = append(ps, e.Pending)
	}
	return ps
}

// fakeClient is a scripted vendor client that records the calls it gets, as
// "create", "find", "import:TASK:N" (N customers) and "ACTION:TASK".
type fakeClient struct {
	mu    sync.Mutex
	calls []string
	// batch is ImportBatchSize; default 2.
	batch int
	// Each func, when set, answers its method; n counts that method's calls from 1.
	create  func(n int) (platform.Reply, error)
	find    func(n int) ([]string, error)
	imports func(n int, customers []command.Customer) (platform.Reply, error)
	control func(n int, c *command.TaskControl) (platform.Reply, error)
}

func (f *fakeClient) record(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	n := 0
	for _, c := range f.calls {
		if kind(c) == kind(call) {
			n++
		}
	}
	return n
}

// kind is a recorded call without its arguments.
func kind(call string) string {
	for i := range call {
		if call[i] == ':' {
			return call[:i]
		}
	}
	return call
}

func (f *fakeClient) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeClient) CreateTask(_ context.Context, c *command.TaskCreate) (platform.Reply, error) {
	n := f.record("create")
	if f.create != nil {
		return f.create(n)
	}
	return platform.Reply{ID: "t-1", RequestID: "rq-create"}, nil
}

func (f *fakeClient) FindTasks(_ context.Context, name string) ([]string, error) {
	n := f.record("find")
	if f.find != nil {
		return f.find(n)
	}
	return nil, nil
}

func (f *fakeClient) ImportBatchSize() int {
	if f.batch == 0 {
		return 2
	}
	return f.batch
}

func (f *fakeClient) ImportCustomers(_ context.Context, taskID string, cs []command.Customer) (platform.Reply, error) {
	n := f.record(fmt.Sprintf("import:%s:%d", taskID, len(cs)))
	if f.imports != nil {
		return f.imports(n, cs)
	}
	return platform.Reply{Accepted: len(cs)}, nil
}

func (f *fakeClient) ControlTask(_ context.Context, c *command.TaskControl) (platform.Reply, error) {
	n := f.record(c.Action + ":" + string(c.TaskID))
	if f.control != nil {
		return f.control(n, c)
	}
	return platform.Reply{}, nil
}

// fakeCaller is a fakeClient that can also place single calls.
type fakeCaller struct {
	*fakeClient
	single func(c *command.CallSingle) (platform.Reply, error)
}

func (f fakeCaller) SingleCall(_ context.Context, c *command.CallSingle) (platform.Reply, error) {
	f.record("call:" + c.Phone)
	if f.single != nil {
		return f.single(c)
	}
	return platform.Reply{ID: "call-1", RequestID: "rq-call"}, nil
}

// fakePublisher records what it publishes; err fails every call.
type fakePublisher struct {
	mu      sync.Mutex
	outs    []event.Out
	vendors []string
	dead    []publish.DeadLetter
	err     error
	// publishErr fails Publish alone, when set.
	publishErr error
}

func (p *fakePublisher) Publish(_ context.Context, vendor, _ string, outs []event.Out) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if p.publishErr != nil {
		return p.publishErr
	}
	p.outs = append(p.outs, outs...)
	p.vendors = append(p.vendors, vendor)
	return nil
}

func (p *fakePublisher) DeadLetter(_ context.Context, d publish.DeadLetter, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.dead = append(p.dead, d)
	return nil
}

const (
	testAccount = "acct"
	testVendor  = "fakevendor"
)

// harness is the chain over fakes: one account, testAccount, served by client.
type harness struct {
	ledger *fakeLedger
	exec   Handler
}

func newHarness(t *testing.T, client platform.Client) *harness {
	t.Helper()
	l := newFakeLedger()
	cfg := Config{
		Accounts: map[string]*platform.Account{testAccount: {Name: testAccount, Vendor: testVendor}},
		Ledger:   l,
		Retry:    RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond},
	}
	clients := map[string]platform.Client{}
	if client != nil {
		clients[testAccount] = client
	}
	return &harness{ledger: l, exec: newChain(cfg, clients)}
}

// run executes one command; data is marshalled unless it is already []byte.
func (h *harness) run(t *testing.T, typ, id string, data any) (ledger.Entry, error) {
	t.Helper()
	b, ok := data.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(data); err != nil {
			t.Fatal(err)
		}
	}
	c := &Command{ID: id, Type: typ, CEType: typePrefix + typ, Data: b}
	err := h.exec(context.Background(), c)
	return c.Entry, err
}

// settled runs a command that must settle, and returns its recorded result.
func (h *harness) settled(t *testing.T, typ, id string, data any) *command.Result {
	t.Helper()
	e, err := h.run(t, typ, id, data)
	if err != nil {
		t.Fatalf("%s %s: %v, want a settled result", typ, id, err)
	}
	rec, ok := h.ledger.get(id)
	if !ok || !rec.Done() || e.Result == nil {
		t.Fatalf("%s %s: recorded %+v, returned %+v, want a settled entry", typ, id, rec, e)
	}
	if !e.UpdatedAt.Equal(rec.UpdatedAt) {
		t.Errorf("returned entry stamped %v, recorded %v: a repeat would publish a different result", e.UpdatedAt, rec.UpdatedAt)
	}
	return e.Result
}

func wantError(t *testing.T, r *command.Result, code string) {
	t.Helper()
	if r.Outcome != command.Failed || r.Error == nil || r.Error.Code != code {
		t.Fatalf("result outcome %s error %+v, want failed with %s", r.Outcome, r.Error, code)
	}
}

func wantSuccess(t *testing.T, r *command.Result) {
	t.Helper()
	if r.Outcome != command.Succeeded || r.Error != nil {
		t.Fatalf("result outcome %s error %+v, want success", r.Outcome, r.Error)
	}
}

func wantCalls(t *testing.T, f *fakeClient, want ...string) {
	t.Helper()
	got := f.Calls()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("vendor calls %q, want %q", got, want)
	}
}

// Command data that passes the schemas.

var script = map[string]any{"dialogFlowId": 7}

func customers(n int) []map[string]any {
	cs := make([]map[string]any, n)
	for i := range cs {
		cs[i] = map[string]any{"name": fmt.Sprintf("c%d", i), "phone": fmt.Sprintf("1390000%04d", i)}
	}
	return cs
}

func taskCreate(name string, n int, start bool) map[string]any {
	d := map[string]any{"account": testAccount, "name": name, "mode": "manual", "callerIds": []string{"1"},
		"lineType": "mobile", "script": script, "start": start}
	if n > 0 {
		d["customers"] = customers(n)
	}
	return d
}

func customerImport(task string, n int) map[string]any {
	return map[string]any{"account": testAccount, "taskId": task, "customers": customers(n)}
}

func callSingle(phone string) map[string]any {
	return map[string]any{"account": testAccount, "phone": phone, "script": script}
}

func taskControl(task, action string) map[string]any {
	d := map[string]any{"account": testAccount, "taskId": task, "action": action}
	if action == command.ActionSetConcurrency {
		d["concurrency"] = 3
	}
	return d
}

// vendorErr is a vendor's answer with code; 5xx and 429 are retryable.
func vendorErr(code int) error {
	return &platform.Error{Endpoint: "ep", HTTPStatus: code, Message: "no", RequestID: fmt.Sprintf("rq-%d", code), Retryable: platform.RetryableCode(code)}
}

var errBroker = errors.New("broker unreachable")

// refusal is a command the chain settles as failed before any vendor call.
type refusal struct {
	name, typ string
	data      any
	client    platform.Client // the account's client; nil: it has none
	code      string
	says      string // the message mentions it
	vendor    string // the result names it ("" for an unknown account)
}

func checkRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.client)
			r := h.settled(t, tt.typ, "bad", tt.data)
			wantError(t, r, tt.code)
			if !strings.Contains(r.Error.Message, tt.says) {
				t.Errorf("message %q, want it to mention %q", r.Error.Message, tt.says)
			}
			if r.Vendor != tt.vendor || r.CommandType != tt.typ || r.CommandID != "bad" || r.Attempts != 0 {
				t.Errorf("result %+v, want vendor %q, type %s, no attempts", r, tt.vendor, tt.typ)
			}
			if f, ok := tt.client.(*fakeClient); ok {
				wantCalls(t, f)
			}
			if got := h.ledger.pendings(); !slices.Equal(got, []string{ledger.PendingNone}) {
				t.Errorf("ledger writes %q, want only the settled result", got)
			}
		})
	}
}

func (l *fakeLedger) get(id string) (ledger.Entry, bool) {
	e, ok, _ := l.Get(0, id)
	return e, ok
}
