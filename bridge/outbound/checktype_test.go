package outbound

import (
	"encoding/json"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

func TestACETypeThatNamesAnotherCommandIsInvalid(t *testing.T) {
	for _, ceType := range []string{"com.example.bogus.v9", command.TypeTaskCreate, "", "callbridge.task.control.v2"} {
		t.Run(ceType, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, client)
			c := &Command{ID: "ctl", Type: event.TopicTaskControl, CEType: ceType, Data: mustJSON(t, taskControl("7", "pause"))}
			if err := h.exec(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			wantError(t, c.Entry.Result, command.ErrInvalidCommand)
			wantCalls(t, client) // the task was not paused
			// A repeat publishes the same recorded result.
			again := &Command{ID: "ctl", Type: event.TopicTaskControl, CEType: command.TypeTaskControl, Data: c.Data}
			if err := h.exec(t.Context(), again); err != nil || !again.Entry.UpdatedAt.Equal(c.Entry.UpdatedAt) {
				t.Fatalf("repeat: %v %+v", err, again.Entry.Result)
			}
			wantCalls(t, client)
		})
	}
}

func TestTheTopicsCETypeRuns(t *testing.T) {
	client := &fakeClient{}
	h := newHarness(t, client)
	wantSuccess(t, h.settled(t, event.TopicTaskControl, "ok", taskControl("7", "pause")))
	if len(client.Calls()) != 1 {
		t.Fatalf("calls %v", client.Calls())
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
