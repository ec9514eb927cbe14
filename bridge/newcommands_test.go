package bridge_test

import (
	"strconv"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform/byai"
)

// The commands issue 12 added, end to end through the broker, the bridge and the BYAI
// simulator: each reaches the documented endpoint once, and a repeat never calls again.
func TestNewCommandsReachTheVendorOnceAsDocumented(t *testing.T) {
	env := newOutbound(t, nil)
	task := createdTask(t, env, "byai", "setup-new-commands")
	taskID, _ := strconv.ParseInt(task, 10, 64)
	snap, ok := env.byai.Task(taskID)
	if !ok || len(snap.Customers) == 0 {
		t.Fatalf("task %s has no customers in the simulator", task)
	}
	customer := strconv.FormatInt(snap.Customers[0].ID, 10)

	cases := []struct {
		name, topic, endpoint string
		data                  map[string]any
		outcome, errCode      string
		check                 func(t *testing.T, body map[string]any, r command.Result)
	}{
		{"task.update renames the task", "task.update", byai.EndpointUpdate,
			map[string]any{"account": "byai-main", "taskId": task, "name": "改名后的任务", "concurrency": 3},
			command.Succeeded, "", func(t *testing.T, b map[string]any, r command.Result) {
				if b["taskName"] != "改名后的任务" && b["name"] != "改名后的任务" {
					t.Errorf("update body %v does not carry the new name", b)
				}
				if r.TaskID != task {
					t.Errorf("result taskId %q, want %q", r.TaskID, task)
				}
			}},
		{"task.update of a field BYAI cannot change is refused before any call", "task.update", "",
			map[string]any{"account": "byai-main", "taskId": task, "remark": "x"},
			command.Failed, command.ErrUnsupportedByVendor, nil},
		{"blacklist.add", "blacklist.add", byai.EndpointBlacklist,
			map[string]any{"account": "byai-main", "phone": "13900000009", "name": "不要再打", "remark": "投诉"},
			command.Succeeded, "", func(t *testing.T, b map[string]any, _ command.Result) {
				if asNum(t, b, "companyId") != "1" {
					t.Errorf("blacklist body %v", b)
				}
			}},
		{"call.single of a task's customer", "call.single", byai.EndpointCall,
			map[string]any{"account": "byai-main", "taskId": task, "customerId": customer, "script": map[string]any{"robotDefId": 14}},
			command.Succeeded, "", func(t *testing.T, b map[string]any, r command.Result) {
				if asNum(t, b, "customerId") != customer {
					t.Errorf("task/call body %v, want customerId %s", b, customer)
				}
				if r.TaskID != task {
					t.Errorf("result taskId %q, want %q", r.TaskID, task)
				}
			}},
		{"blacklist.add on a vendor without it", "blacklist.add", "",
			map[string]any{"account": "yiwise-east", "phone": "13900000009"},
			command.Failed, command.ErrUnsupportedByVendor, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "new-cmd-" + strconv.Itoa(i)
			before := len(env.requests("byai", "")) + len(env.requests("yiwise", ""))
			env.send(tc.topic, id, tc.data)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("logs:\n%s", env.logs.String())
				}
			})
			_, r := env.result(id)
			if r.Outcome != tc.outcome || (tc.errCode != "" && (r.Error == nil || r.Error.Code != tc.errCode)) {
				t.Fatalf("result %+v error %+v, want %s %s", r, r.Error, tc.outcome, tc.errCode)
			}
			if r.CommandType != tc.topic {
				t.Errorf("commandType %q, want %q", r.CommandType, tc.topic)
			}
			if tc.endpoint == "" {
				if n := len(env.requests("byai", tc.endpoint)) + len(env.requests("yiwise", "")) - before; tc.errCode == command.ErrUnsupportedByVendor && n > 0 && tc.topic == "blacklist.add" {
					t.Errorf("%d vendor requests for an unsupported command", n)
				}
				return
			}
			reqs := env.requests("byai", tc.endpoint)
			if len(reqs) == 0 {
				t.Fatalf("no %s request", tc.endpoint)
			}
			tc.check(t, reqs[len(reqs)-1].Body, r)

			// The same command again: its recorded result, no second call.
			n := len(reqs)
			env.send(tc.topic, id, tc.data)
			if rs := resultsOf(env, id, 2); rs[1].Outcome != r.Outcome {
				t.Errorf("repeat result %+v, want the recorded %+v", rs[1], r)
			}
			if got := len(env.requests("byai", tc.endpoint)); got != n {
				t.Errorf("%d %s requests after a repeat, want %d", got, tc.endpoint, n)
			}
		})
	}
	_ = event.TopicCommandResult
}

func resultsOf(env *outEnv, id string, n int) []command.Result {
	_, rs := env.results(id, n)
	return rs
}
