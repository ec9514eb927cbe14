package outbound

import (
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

func TestUndecodableDataSettlesAsInvalidCommand(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "data that is not JSON", typ: event.TopicCallSingle, data: []byte(`{"account":`), code: command.ErrInvalidCommand, says: "does not decode"},
		{name: "data that is not an object", typ: event.TopicTaskCreate, data: []byte(`[1,2]`), code: command.ErrInvalidCommand, says: "does not decode"},
		{name: "an account that is not a string", typ: event.TopicCallSingle, data: []byte(`{"account":7}`), code: command.ErrInvalidCommand, says: "account"},
		{name: "no data", typ: event.TopicTaskControl, data: []byte(nil), code: command.ErrInvalidCommand, says: "does not decode"},
	})
}
