package outbound

import (
	"fmt"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
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
