package outbound

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/ledger"
)

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
