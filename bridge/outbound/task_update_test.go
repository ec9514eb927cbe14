package outbound

import (
	"context"
	"fmt"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// fakeUpdater is a client that can update tasks and add to the blacklist.
type fakeUpdater struct {
	*fakeClient
}

func (f fakeUpdater) UpdateTask(_ context.Context, c *command.TaskUpdate) (platform.Reply, error) {
	if c.Remark != nil {
		return platform.Reply{}, fmt.Errorf("fake: remark: %w", platform.ErrUnsupported)
	}
	f.record("update:" + string(c.TaskID))
	return platform.Reply{RequestID: "rq-update"}, nil
}

func (f fakeUpdater) AddBlacklist(_ context.Context, c *command.BlacklistAdd) (platform.Reply, error) {
	f.record("blacklist:" + c.Phone)
	return platform.Reply{ID: "3221", RequestID: "rq-black"}, nil
}

func TestTaskUpdateAndBlacklistAdd(t *testing.T) {
	update := map[string]any{"account": testAccount, "taskId": "4", "concurrency": 3}
	black := map[string]any{"account": testAccount, "phone": "13900000009"}
	tests := []struct {
		name, typ, pending string
		data               map[string]any
		calls              []string
		code               string
	}{
		{name: "an update is made", typ: event.TopicTaskUpdate, data: update, calls: []string{"update:4"}},
		{name: "an update in flight when the last run stopped is made again", typ: event.TopicTaskUpdate, pending: pendingUpdate, data: update, calls: []string{"update:4"}},
		{name: "a field the vendor cannot change is unsupported before any call", typ: event.TopicTaskUpdate,
			data: map[string]any{"account": testAccount, "taskId": "4", "remark": "x"}, code: command.ErrUnsupportedByVendor},
		{name: "a number is blacklisted", typ: event.TopicBlacklistAdd, data: black, calls: []string{"blacklist:13900000009"}},
		{name: "an add in flight when the last run stopped ends outcome_unknown", typ: event.TopicBlacklistAdd, pending: pendingBlacklist, data: black, code: command.ErrOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, fakeUpdater{client})
			if tt.pending != "" {
				h.ledger.seed(ledger.Entry{CommandID: "c1", CommandType: tt.typ, Account: testAccount, State: ledger.StateStarted, Pending: tt.pending})
			}
			r := h.settled(t, tt.typ, "c1", tt.data)
			wantCalls(t, client, tt.calls...)
			if tt.code != "" {
				wantError(t, r, tt.code)
				return
			}
			wantSuccess(t, r)
		})
	}
}

func TestTaskUpdateAndBlacklistOnAVendorWithoutTheAbilityAreUnsupported(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "not a TaskUpdater", typ: event.TopicTaskUpdate, data: map[string]any{"account": testAccount, "taskId": "4", "name": "x"}, client: &fakeClient{},
			code: command.ErrUnsupportedByVendor, says: "update", vendor: testVendor},
		{name: "not a Blacklister", typ: event.TopicBlacklistAdd, data: map[string]any{"account": testAccount, "phone": "13900000009"}, client: &fakeClient{},
			code: command.ErrUnsupportedByVendor, says: "blacklist", vendor: testVendor},
	})
}
