package outbound

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

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
		if _, ok := h.ledger.get("ctl"); ok {
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
		if e, _ := h.ledger.get("ctl"); e.Done() || e.Pending != command.ActionStart {
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
		c := &Command{ID: "cs", Type: event.TopicCallSingle, CEType: command.TypeCallSingle, Data: []byte(`{"account":"acct","phone":"13900000009","script":{"dialogFlowId":1}}`)}
		err := h.exec(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want the interruption", err)
		}
		if e, _ := h.ledger.get("cs"); e.Done() || e.Pending != ledger.PendingCall {
			t.Errorf("recorded %+v, want the call pending", e)
		}
	})
}
