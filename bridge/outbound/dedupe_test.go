package outbound

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
)

func TestASettledCommandIsNotExecutedAgain(t *testing.T) {
	for _, typ := range []string{event.TopicTaskCreate, event.TopicCallSingle, event.TopicTaskControl, event.TopicCustomerImport} {
		t.Run(typ, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, fakeCaller{fakeClient: client})
			data := map[string]any{
				event.TopicTaskCreate:     taskCreate("once", 1, true),
				event.TopicCallSingle:     callSingle("13900000002"),
				event.TopicTaskControl:    taskControl("4", command.ActionPause),
				event.TopicCustomerImport: customerImport("4", 1),
			}[typ]
			first, err := h.run(t, typ, "dup", data)
			if err != nil {
				t.Fatal(err)
			}
			calls, puts := len(client.Calls()), len(h.ledger.puts)
			// Even different data under the same id: the id is the idempotency key.
			again, err := h.run(t, typ, "dup", []byte(`{"junk":true}`))
			if err != nil {
				t.Fatal(err)
			}
			if len(client.Calls()) != calls || len(h.ledger.puts) != puts {
				t.Errorf("the repeat made %d vendor calls and %d ledger writes, want none", len(client.Calls())-calls, len(h.ledger.puts)-puts)
			}
			if !again.UpdatedAt.Equal(first.UpdatedAt) || fmt.Sprint(*again.Result) != fmt.Sprint(*first.Result) {
				t.Errorf("repeat returned %+v at %v, want the recorded %+v at %v", again.Result, again.UpdatedAt, first.Result, first.UpdatedAt)
			}
		})
	}
}

// unknownStore cannot tell whether a command ran (its partition is not loaded).
type unknownStore struct{ Store }

func (unknownStore) Get(int, string) (ledger.Entry, bool, error) {
	return ledger.Entry{}, false, ledger.ErrNotAssigned
}

func TestALedgerThatCannotTellRunsNothing(t *testing.T) {
	ran := false
	h := deduplicate{Store: unknownStore{}}.Middleware(func(context.Context, *Command) error { ran = true; return nil })
	err := h(context.Background(), &Command{ID: "x", Partition: 4})
	if !errors.Is(err, ledger.ErrNotAssigned) || ran {
		t.Fatalf("err %v ran %v: not knowing must leave the record for the next run, not run it", err, ran)
	}
	var failure *command.Error
	if errors.As(err, &failure) {
		t.Fatal("not knowing must not settle the command")
	}
}
