package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

func TestChainRunsItsStepsInTheOrderGiven(t *testing.T) {
	var order []string
	step := func(name string) Middleware {
		return func(next Handler) Handler {
			return func(ctx context.Context, c *Command) error {
				order = append(order, name+" in")
				err := next(ctx, c)
				order = append(order, name+" out")
				return err
			}
		}
	}
	h := chain(step("a"), step("b"))(func(context.Context, *Command) error {
		order = append(order, "handler")
		return nil
	})
	if err := h(context.Background(), &Command{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a in", "b in", "handler", "b out", "a out"}
	if !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

func TestCommandsThatCannotRunSettleWithoutReachingTheVendor(t *testing.T) {
	tests := []struct {
		name, typ string
		data      any
		client    platform.Client // nil: the account has no client
		code      string
		says      string
		vendor    string
	}{
		{name: "data that is not JSON", typ: event.TopicCallSingle, data: []byte(`{"account":`), code: command.ErrInvalidCommand, says: "does not decode"},
		{name: "data that is not an object", typ: event.TopicTaskCreate, data: []byte(`[1,2]`), code: command.ErrInvalidCommand, says: "does not decode"},
		{name: "an account that is not a string", typ: event.TopicCallSingle, data: []byte(`{"account":7}`), code: command.ErrInvalidCommand, says: "account"},
		{name: "no data", typ: event.TopicTaskControl, data: []byte(nil), code: command.ErrInvalidCommand, says: "does not decode"},
		{name: "a schema violation names the field", typ: event.TopicTaskControl, data: map[string]any{"account": testAccount, "taskId": "abc", "action": "start"},
			code: command.ErrInvalidCommand, says: "taskId", vendor: testVendor},
		{name: "an unknown field", typ: event.TopicCustomerImport, data: map[string]any{"account": testAccount, "taskId": 1, "customers": customers(1), "colour": "red"},
			code: command.ErrInvalidCommand, says: "colour", vendor: testVendor},
		{name: "an unknown account", typ: event.TopicCallSingle, data: map[string]any{"account": "nobody", "phone": "13900000005", "script": script},
			code: command.ErrUnknownAccount, says: `"nobody"`},
		{name: "an account whose vendor is not registered", typ: event.TopicTaskControl, data: taskControl("1", command.ActionStart), client: nil,
			code: command.ErrUnknownAccount, says: testAccount, vendor: testVendor},
		{name: "a single call on a vendor without the ability", typ: event.TopicCallSingle, data: callSingle("13900000005"), client: &fakeClient{},
			code: command.ErrUnsupportedByVendor, says: "single-call", vendor: testVendor},
	}
	for _, tt := range tests {
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

func TestDispatchRefusesWhatNoSagaRuns(t *testing.T) {
	tests := []struct {
		name, typ, data, says string
	}{
		{"an unknown command type", "task.explode", `{}`, "unknown command topic task.explode"},
		{"data that does not fit its type", event.TopicTaskControl, `{"taskId":1.5}`, "id must be an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Command{Type: tt.typ, Data: []byte(tt.data), Client: &fakeClient{}, Account: &platform.Account{}}
			err := dispatcher{Store: newFakeLedger()}.Handle(context.Background(), c)
			var ce *command.Error
			if !errors.As(err, &ce) || ce.Code != command.ErrInvalidCommand || !strings.Contains(ce.Message, tt.says) {
				t.Errorf("err %v, want invalid_command saying %q", err, tt.says)
			}
		})
	}
}

func TestFinalVendorFailuresSettleAndRetryableOnesAreRetriedFirst(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		attempts  int
		code      string
		retryable bool
		vendor    int
	}{
		{"a 500 is retried until attempts run out", vendorErr(http.StatusInternalServerError), 3, command.ErrRetriesExhausted, true, 500},
		{"a 429 is retried until attempts run out", vendorErr(http.StatusTooManyRequests), 3, command.ErrRetriesExhausted, true, 429},
		{"a 401 is final at once", vendorErr(http.StatusUnauthorized), 1, command.ErrAuthFailed, false, 401},
		{"a 403 is final at once", vendorErr(http.StatusForbidden), 1, command.ErrAuthFailed, false, 403},
		{"a 404 is final at once", vendorErr(http.StatusNotFound), 1, command.ErrVendorRejected, false, 404},
		{"a 412 is final at once", vendorErr(http.StatusPreconditionFailed), 1, command.ErrVendorRejected, false, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{control: func(int, *command.TaskControl) (platform.Reply, error) { return platform.Reply{}, tt.err }}
			h := newHarness(t, client)
			r := h.settled(t, event.TopicTaskControl, "ctl", taskControl("4", command.ActionPause))
			wantError(t, r, tt.code)
			if r.Attempts != tt.attempts || len(client.Calls()) != tt.attempts {
				t.Errorf("attempts %d, calls %d, want %d", r.Attempts, len(client.Calls()), tt.attempts)
			}
			if r.Error.Retryable != tt.retryable || r.Error.VendorCode == nil || *r.Error.VendorCode != tt.vendor {
				t.Errorf("error %+v, want retryable %v and vendor code %d", r.Error, tt.retryable, tt.vendor)
			}
			if len(r.VendorRequestIDs) != 1 {
				t.Errorf("request ids %q, want the failure's", r.VendorRequestIDs)
			}
		})
	}
}

func TestARetriedStepSucceedsWithItsAttemptsCounted(t *testing.T) {
	client := &fakeClient{control: func(n int, _ *command.TaskControl) (platform.Reply, error) {
		if n < 3 {
			return platform.Reply{}, vendorErr(http.StatusBadGateway)
		}
		return platform.Reply{RequestID: "rq-ok"}, nil
	}}
	h := newHarness(t, client)
	r := h.settled(t, event.TopicTaskControl, "ctl", taskControl("4", command.ActionStop))
	wantSuccess(t, r)
	if r.Attempts != 3 || !slices.Equal(r.VendorRequestIDs, []string{"rq-ok"}) {
		t.Errorf("attempts %d request ids %q, want 3 and the success's", r.Attempts, r.VendorRequestIDs)
	}
}

func TestWhenNothingCanBeRecordedTheCommandIsLeftToTheNextRun(t *testing.T) {
	t.Run("a checkpoint that cannot be written stops before the vendor call", func(t *testing.T) {
		client := &fakeClient{}
		h := newHarness(t, client)
		h.ledger.putErr = errBroker
		_, err := h.run(t, event.TopicTaskControl, "ctl", taskControl("4", command.ActionStart))
		if !errors.Is(err, errBroker) {
			t.Fatalf("err %v, want the ledger's", err)
		}
		wantCalls(t, client)
		if _, ok := h.ledger.Get("ctl"); ok {
			t.Error("something was recorded")
		}
	})
	t.Run("a result that cannot be written is not settled", func(t *testing.T) {
		client := &fakeClient{}
		h := newHarness(t, client)
		h.ledger.putErr, h.ledger.putOK = errBroker, 1 // the checkpoint lands, the result does not
		_, err := h.run(t, event.TopicTaskControl, "ctl", taskControl("4", command.ActionStart))
		if !errors.Is(err, errBroker) {
			t.Fatalf("err %v, want the ledger's", err)
		}
		if e, _ := h.ledger.Get("ctl"); e.Done() || e.Pending != command.ActionStart {
			t.Errorf("recorded %+v, want the start still pending", e)
		}
	})
	t.Run("a vendor call cut short leaves its step pending", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		client := &fakeClient{}
		h := newHarness(t, fakeCaller{fakeClient: client, single: func(*command.CallSingle) (platform.Reply, error) {
			cancel() // the process stops while the vendor has the request
			return platform.Reply{}, &platform.Error{Endpoint: "call", Err: context.Canceled}
		}})
		c := &Command{ID: "cs", Type: event.TopicCallSingle, Data: []byte(`{"account":"acct","phone":"13900000009","script":{"dialogFlowId":1}}`)}
		err := h.exec(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want the interruption", err)
		}
		if e, _ := h.ledger.Get("cs"); e.Done() || e.Pending != ledger.PendingCall {
			t.Errorf("recorded %+v, want the call pending", e)
		}
	})
}

func TestSettleTurnsOnlyCommandErrorsIntoResults(t *testing.T) {
	rejected := &command.Error{Code: command.ErrVendorRejected, Message: "no"}
	tests := []struct {
		name    string
		err     error
		settled bool
		outcome string
	}{
		{"nil is success", nil, true, command.Succeeded},
		{"a command error is a failure", rejected, true, command.Failed},
		{"a wrapped command error is a failure", fmt.Errorf("step: %w", rejected), true, command.Failed},
		{"any other error records nothing", errBroker, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLedger()
			h := settle{Store: l}.Middleware(func(context.Context, *Command) error { return tt.err })
			c := &Command{ID: "s", Entry: ledger.Entry{CommandID: "s", State: ledger.StateStarted, Pending: "x"}}
			err := h(context.Background(), c)
			if !tt.settled {
				if !errors.Is(err, tt.err) || len(l.puts) != 0 {
					t.Errorf("err %v and %d writes, want the error and none", err, len(l.puts))
				}
				return
			}
			if err != nil || !c.Entry.Done() || c.Entry.Pending != "" || c.Entry.Result.Outcome != tt.outcome || c.Entry.UpdatedAt.IsZero() {
				t.Errorf("err %v entry %+v, want settled %s and stamped", err, c.Entry, tt.outcome)
			}
			if tt.outcome == command.Failed && c.Entry.Result.Error != rejected {
				t.Errorf("error %+v, want the command error itself", c.Entry.Result.Error)
			}
		})
	}
}
