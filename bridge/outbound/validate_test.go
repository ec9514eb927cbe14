package outbound

import (
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

func TestASchemaViolationSettlesAsInvalidCommandNamingTheField(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "a task id that is not a number", typ: event.TopicTaskControl, data: map[string]any{"account": testAccount, "taskId": "abc", "action": "start"},
			code: command.ErrInvalidCommand, says: "taskId", vendor: testVendor},
		{name: "an unknown action", typ: event.TopicTaskControl, data: map[string]any{"account": testAccount, "taskId": "1", "action": "explode"},
			code: command.ErrInvalidCommand, says: "action", vendor: testVendor},
		{name: "an unknown field", typ: event.TopicCustomerImport, data: map[string]any{"account": testAccount, "taskId": 1, "customers": customers(1), "colour": "red"},
			code: command.ErrInvalidCommand, says: "colour", vendor: testVendor},
		{name: "a missing phone", typ: event.TopicCallSingle, data: map[string]any{"account": testAccount, "script": script},
			code: command.ErrInvalidCommand, says: "phone", vendor: testVendor},
		// Validation comes before the account is looked up.
		{name: "a violation on an unknown account", typ: event.TopicCallSingle, data: map[string]any{"account": "nobody", "script": script},
			code: command.ErrInvalidCommand, says: "phone"},
	})
}
