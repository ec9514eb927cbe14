package byai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

// Cursor is where ListCalls goes on: the task it reads (tasks are read in ascending id)
// and the largest callIndex of it already read (queryDoneTaskPhones' index; -1 none).
// It is the vendor's own positions, so it stays valid across restarts.
type Cursor struct {
	Task  int64 `json:"task"`
	Index int64 `json:"index"`
}

// Encode writes the cursor as ListCalls returns it.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a ListCalls cursor; "" is the first page.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{Task: 0, Index: -1}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, fmt.Errorf("byai: %w: cursor: %v", platform.ErrInvalidInput, err)
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Task < 0 || c.Index < -1 {
		return Cursor{}, fmt.Errorf("byai: %w: cursor is not one ListCalls wrote", platform.ErrInvalidInput)
	}
	return c, nil
}

// ListCalls reads back the outbound calls that ended within [from, to): one page of
// one task's finished calls (queryDoneTaskPhones after the cursor's index), each with
// its detail (phoneLogInfo), turned into the call.finished event its callback would
// have produced by the callback's own parser (same id, key and data; data says
// recovered). Tasks are visited in ascending id. Single calls outside a task are in
// no task's list and cannot be read back.
func (c *client) ListCalls(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
	cur, err := ParseCursor(cursor)
	if err != nil {
		return platform.CallPage{}, err
	}
	company, err := c.companyID(ctx, "")
	if err != nil {
		return platform.CallPage{}, err
	}
	tasks, err := c.taskIDs(ctx, company)
	if err != nil {
		return platform.CallPage{}, err
	}
	i, _ := slices.BinarySearch(tasks, cur.Task)
	if i == len(tasks) {
		return platform.CallPage{}, nil
	}
	if tasks[i] != cur.Task {
		cur = Cursor{Task: tasks[i], Index: -1}
	}
	items, next, err := c.doneCalls(ctx, cur.Task, cur.Index)
	if err != nil {
		return platform.CallPage{}, err
	}
	page := platform.CallPage{Calls: []event.Out{}}
	loc := c.acct.Loc()
	for _, raw := range items {
		d := parseDone(raw)
		if end, ok := localTime(d.EndTime, loc); ok && (end.Before(from) || !end.Before(to)) {
			continue
		}
		out, ok, err := c.callDetail(ctx, d.CallInstanceID.ID(), from, to)
		if err != nil {
			return platform.CallPage{}, err
		}
		if ok {
			page.Calls = append(page.Calls, out)
		}
	}
	switch {
	case len(items) >= findPageSize && next > cur.Index:
		page.Next = Cursor{Task: cur.Task, Index: next}.Encode()
	case i+1 < len(tasks):
		page.Next = Cursor{Task: tasks[i+1], Index: -1}.Encode()
	}
	return page, nil
}

// taskIDs lists every task's id, ascending.
func (c *client) taskIDs(ctx context.Context, company int64) ([]int64, error) {
	all, err := c.allTasks(ctx, company)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, raw := range all {
		var t taskItem
		_ = loose.Decode(raw, &t)
		if n, ok := t.CallJobID.Int(); ok {
			ids = append(ids, n)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// callDetail reads one call's detail as its call.finished event; ok is false for a
// call that did not end within [from, to) after all.
func (c *client) callDetail(ctx context.Context, callID string, from, to time.Time) (event.Out, bool, error) {
	if callID == "" {
		return event.Out{}, false, nil
	}
	env, err := c.get(ctx, EndpointCallDetail, url.Values{"callInstanceId": {callID}})
	if err != nil {
		return event.Out{}, false, err
	}
	out, err := RecoveredCall(c.acct, env.Data, c.now())
	if err != nil {
		return event.Out{}, false, env.badData(EndpointCallDetail, err.Error())
	}
	cf := out.Data.(*event.CallFinished)
	if cf.EndedAt != nil {
		if end, err := time.Parse(time.RFC3339, *cf.EndedAt); err == nil && (end.Before(from) || !end.Before(to)) {
			return event.Out{}, false, nil
		}
	}
	return out, true, nil
}

// RecoveredCall turns phoneLogInfo's data ({sceneInstance, taskResult, phoneLog}, the
// call record a callback carries) into the call.finished event the callback would have
// produced, marked recovered.
func RecoveredCall(acct *platform.Account, data json.RawMessage, now time.Time) (event.Out, error) {
	body := make([]byte, 0, len(data)+24)
	body = append(body, `{"code":200,"data":`...)
	body = append(body, data...)
	body = append(body, '}')
	outs, err := parseWebhook(acct, body, now)
	if err != nil {
		return event.Out{}, err
	}
	if len(outs) != 1 || outs[0].Topic != event.TopicCallFinished {
		return event.Out{}, fmt.Errorf("call detail is not one call record")
	}
	out := outs[0]
	cf, ok := out.Data.(*event.CallFinished)
	if !ok || cf.Direction != "outbound" {
		return event.Out{}, fmt.Errorf("call detail is not an outbound call")
	}
	// The record must outlive body, which the parser's raw shares.
	cf.Raw = append(json.RawMessage(nil), cf.Raw...)
	cf.Recovered = true
	return out, nil
}
