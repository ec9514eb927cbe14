package outbound

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

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
