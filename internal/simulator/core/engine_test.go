package core

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
)

func newTestEngine(t *testing.T) (*Engine, *clock.Fake, *[]string) {
	t.Helper()
	fc := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	var log []string
	e := NewEngine(EngineConfig{
		Clock: fc, CallDuration: time.Second, Rand: NewRand(1), Statuses: 12, FirstTaskID: 1, FirstCallID: 1,
		OnState: func(t Task, from State) {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, from.String()+">"+t.State.String())
		},
	})
	t.Cleanup(e.Close)
	return e, fc, &log
}

func TestTaskStateTransitions(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(e *Engine, id int64)
		op      func(e *Engine, id int64) error
		want    State
		refused bool
	}{
		{"start a created task", nil, (*Engine).Start, StateRunning, false},
		{"start a running task again", func(e *Engine, id int64) { _ = e.Start(id) }, (*Engine).Start, StateRunning, false},
		{"start a stopped task", func(e *Engine, id int64) { _ = e.Stop(id) }, (*Engine).Start, StateStopped, true},
		{"pause a created task", nil, (*Engine).Pause, StateCreated, true},
		{"pause a paused task", func(e *Engine, id int64) { _ = e.Start(id); _ = e.Pause(id) }, (*Engine).Pause, StatePaused, false},
		{"resume a paused task", func(e *Engine, id int64) { _ = e.Start(id); _ = e.Pause(id) }, (*Engine).Start, StateRunning, false},
		{"stop a created task", nil, (*Engine).Stop, StateStopped, false},
		{"delete a running task", func(e *Engine, id int64) { _ = e.Start(id) }, (*Engine).Delete, StateDeleted, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, _ := newTestEngine(t)
			id := e.CreateTask("t", 1, nil).ID
			if err := e.Import(id, []Customer{{Phone: "13800000000"}, {Phone: "13800000001"}}, 0); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(e, id)
			}
			err := tt.op(e, id)
			var se *StateError
			if refused := errors.As(err, &se); refused != tt.refused {
				t.Fatalf("err = %v, refused want %v", err, tt.refused)
			}
			if got, _ := e.Task(id); got.State != tt.want {
				t.Fatalf("state %v, want %v", got.State, tt.want)
			}
		})
	}
}

func TestStartingAnEmptyTaskCompletesIt(t *testing.T) {
	e, _, log := newTestEngine(t)
	id := e.CreateTask("empty", 1, nil).ID
	if err := e.Start(id); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Task(id); got.State != StateCompleted {
		t.Fatalf("state %v, want completed", got.State)
	}
	if err := e.Start(id); err == nil {
		t.Fatal("restarting a completed task with nobody left to call succeeded")
	}
	if want := []string{"created>running", "running>completed"}; len(*log) != 2 || (*log)[0] != want[0] || (*log)[1] != want[1] {
		t.Fatalf("state reports %v, want %v", *log, want)
	}
}

func TestDeletedTasksAreNotFound(t *testing.T) {
	e, _, _ := newTestEngine(t)
	id := e.CreateTask("t", 1, nil).ID
	_ = e.Delete(id)
	for name, op := range map[string]func(int64) error{"start": e.Start, "pause": e.Pause, "stop": e.Stop, "delete": e.Delete} {
		if err := op(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s a deleted task: %v, want ErrNotFound", name, err)
		}
	}
	if len(e.Tasks()) != 0 {
		t.Error("Tasks lists a deleted task")
	}
}

func TestTaskErrorMapsToVendorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{ErrNotFound, CodeNotFound},
		{&StateError{Op: "start", State: StateStopped}, CodeBadParam},
		{errors.New("boom"), CodeUnknown},
	}
	for _, tt := range tests {
		if got := TaskError(tt.err).Code; got != tt.code {
			t.Errorf("TaskError(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
	if msg := TaskError(&StateError{Op: "start", State: StateStopped}).Msg; msg != "任务当前状态为已终止，不能启动" {
		t.Errorf("message %q", msg)
	}
}
