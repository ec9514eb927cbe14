package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
)

// State is a task's life-cycle state, in vendor-neutral terms.
type State int

// Task states.
const (
	StateCreated State = iota
	StateRunning
	StatePaused
	StateStopped
	StateCompleted
	StateDeleted
)

func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateRunning:
		return "running"
	case StatePaused:
		return "paused"
	case StateStopped:
		return "stopped"
	case StateCompleted:
		return "completed"
	case StateDeleted:
		return "deleted"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ErrNotFound marks an unknown (or deleted) task or call.
var ErrNotFound = errors.New("not found")

// StateError is an operation the task's state does not allow.
type StateError struct {
	Op    string
	State State
}

func (e *StateError) Error() string { return fmt.Sprintf("cannot %s a %s task", e.Op, e.State) }

// Customer is one person to call.
type Customer struct {
	ID         int64
	Name       string
	Phone      string
	Properties map[string]string
}

// Task is a snapshot of a task. Slices are shared with the engine but never written
// below their length, so a snapshot stays valid.
type Task struct {
	ID    int64
	Name  string
	State State
	// Concurrency is the number of calls the task may have in flight.
	Concurrency int
	// Meta holds the vendor's own task fields. The engine never looks inside; vendors
	// replace it (never mutate it) so snapshots can share it.
	Meta      any
	Customers []Customer
	// Rejected counts imported customers the vendor refused.
	Rejected int
	// Dialed counts customers whose call has started.
	Dialed int
	// InFlight and MaxInFlight count calls under way, now and at most so far.
	InFlight, MaxInFlight int
	// CallIDs lists finished calls in the order they ended.
	CallIDs           []int64
	Created, Modified time.Time
	// Version counts changes, like the vendors' optimistic-lock version.
	Version int
}

// Pending counts customers not dialed yet.
func (t Task) Pending() int { return len(t.Customers) - t.Dialed }

// Call is a finished call.
type Call struct {
	ID int64
	// TaskID is 0 for single and inbound calls.
	TaskID int64
	// Index is the call's position in its task, from 1.
	Index    int
	Customer Customer
	Inbound  bool
	Outcome  Outcome
	// Meta is the task's (or the single call's) vendor fields when the call ended.
	Meta           any
	Started, Ended time.Time
	// LastOfTask reports that this call completed its task.
	LastOfTask bool
}

// EngineConfig configures an Engine.
type EngineConfig struct {
	Clock clock.Clock
	// TimeScale multiplies simulated durations into clock time; 0 means 1.
	TimeScale float64
	// CallDuration is the simulated time one call takes (before scaling).
	CallDuration time.Duration
	// Rand is the source of every random choice.
	Rand *rand.Rand
	// Statuses is the number of vendor call statuses (index 0 is answered).
	Statuses int
	// FirstTaskID and FirstCallID start the id sequences.
	FirstTaskID, FirstCallID int64
	// OnCall is told about every finished call (t is the zero Task for calls outside
	// a task). It runs without the engine's lock.
	OnCall func(c Call, t Task)
	// OnState is told about every task state change. It runs without the lock.
	OnState func(t Task, from State)
}

// Engine keeps tasks and places their simulated calls: a running task dials its
// customers in order, never more at once than its concurrency; pausing or stopping
// stops new calls (calls under way finish); when every customer has been called the
// task completes.
type Engine struct {
	cfg    EngineConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	tasks    map[int64]*Task
	calls    map[int64]*Call
	nextTask int64
	nextCall int64
	nextCust int64
	notes    []func() // OnState reports owed once the lock is released
}

// NewEngine returns an engine; Close stops it.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.OnCall == nil {
		cfg.OnCall = func(Call, Task) {}
	}
	if cfg.OnState == nil {
		cfg.OnState = func(Task, State) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg: cfg, ctx: ctx, cancel: cancel,
		tasks:    map[int64]*Task{},
		calls:    map[int64]*Call{},
		nextTask: cfg.FirstTaskID - 1,
		nextCall: cfg.FirstCallID - 1,
		nextCust: 10000,
	}
}

// Context is done once the engine is closed; background work should stop then.
func (e *Engine) Context() context.Context { return e.ctx }

// Close stops all calls and timers and waits for them.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// Scale converts a simulated duration into clock time.
func (e *Engine) Scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * e.cfg.TimeScale)
}

// Rand runs fn with the engine's random source, under its lock.
func (e *Engine) Rand(fn func(r *rand.Rand)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.cfg.Rand)
}

// After runs fn once the simulated duration d has passed, unless the engine closes first.
func (e *Engine) After(d time.Duration, fn func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if clock.Sleep(e.ctx, e.cfg.Clock, e.Scale(d)) == nil {
			fn()
		}
	}()
}

// CreateTask adds a task in state created.
func (e *Engine) CreateTask(name string, concurrency int, meta any) Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextTask++
	now := e.cfg.Clock.Now()
	t := &Task{ID: e.nextTask, Name: name, Concurrency: concurrency, Meta: meta, Created: now, Modified: now}
	e.tasks[t.ID] = t
	return snap(t)
}

// Task returns a snapshot of task id, deleted ones included.
func (e *Engine) Task(id int64) (Task, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[id]
	if !ok {
		return Task{}, false
	}
	return snap(t), true
}

// Tasks returns the tasks that are not deleted, newest first.
func (e *Engine) Tasks() []Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Task
	for _, t := range e.tasks {
		if t.State != StateDeleted {
			out = append(out, snap(t))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// Call returns the finished call id.
func (e *Engine) Call(id int64) (Call, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.calls[id]
	if !ok {
		return Call{}, false
	}
	return *c, true
}

// Calls returns the finished calls of a task, in the order they ended.
func (e *Engine) Calls(taskID int64) []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[taskID]
	if !ok {
		return nil
	}
	out := make([]Call, 0, len(t.CallIDs))
	for _, id := range t.CallIDs {
		out = append(out, *e.calls[id])
	}
	return out
}

// Import adds customers to a live task (rejected counts those the vendor refused)
// and dials them at once if the task runs.
func (e *Engine) Import(id int64, customers []Customer, rejected int) error {
	return e.change(id, "import into", func(t *Task) error {
		for _, c := range customers {
			e.nextCust++
			c.ID = e.nextCust
			t.Customers = append(t.Customers, c)
		}
		t.Rejected += rejected
		return nil
	})
}

// Update changes a live task through fn (its concurrency, name or Meta), then dials
// more customers if the concurrency grew. An error from fn leaves the task unchanged.
func (e *Engine) Update(id int64, fn func(t *Task) error) error {
	return e.change(id, "update", func(t *Task) error {
		c := *t
		if err := fn(&c); err != nil {
			return err
		}
		*t = c
		return nil
	})
}

// Start runs a task: created, paused and completed-with-new-customers tasks start;
// a running task stays running; a stopped task cannot start again.
func (e *Engine) Start(id int64) error {
	return e.change(id, "start", func(t *Task) error {
		switch {
		case t.State == StateRunning:
		case t.State == StateStopped, t.State == StateCompleted && t.Pending() == 0:
			return &StateError{Op: "start", State: t.State}
		default:
			e.setState(t, StateRunning)
		}
		return nil
	})
}

// Pause stops a running task from placing new calls; pausing a paused task is a no-op.
func (e *Engine) Pause(id int64) error {
	return e.change(id, "pause", func(t *Task) error {
		switch t.State {
		case StatePaused:
		case StateRunning:
			e.setState(t, StatePaused)
		default:
			return &StateError{Op: "pause", State: t.State}
		}
		return nil
	})
}

// Stop terminates a task for good; stopping a stopped or completed task is a no-op.
func (e *Engine) Stop(id int64) error {
	return e.change(id, "stop", func(t *Task) error {
		if t.State != StateStopped && t.State != StateCompleted {
			e.setState(t, StateStopped)
		}
		return nil
	})
}

// Delete removes a task; calls under way still finish.
func (e *Engine) Delete(id int64) error {
	return e.change(id, "delete", func(t *Task) error {
		e.setState(t, StateDeleted)
		return nil
	})
}

// change applies fn to a live task under the lock, dials what the new state allows,
// and then reports state changes.
func (e *Engine) change(id int64, op string, fn func(t *Task) error) error {
	e.mu.Lock()
	t, ok := e.tasks[id]
	if !ok || t.State == StateDeleted {
		e.mu.Unlock()
		return fmt.Errorf("%s task %d: %w", op, id, ErrNotFound)
	}
	err := fn(t)
	if err == nil {
		t.Version++
		t.Modified = e.cfg.Clock.Now()
		e.dispatch(t)
	}
	e.unlockAndNotify(nil)
	return err
}

// setState moves t to s and queues the OnState report. Called with the lock held.
func (e *Engine) setState(t *Task, s State) {
	from := t.State
	t.State = s
	ts := snap(t)
	e.notes = append(e.notes, func() { e.cfg.OnState(ts, from) })
}

// unlockAndNotify releases the lock, then runs first (if any) and the queued reports,
// so that hooks may call back into the engine.
func (e *Engine) unlockAndNotify(first func()) {
	notes := e.notes
	e.notes = nil
	e.mu.Unlock()
	if first != nil {
		first()
	}
	for _, n := range notes {
		n()
	}
}

// dispatch starts as many calls as t may have and completes t when nothing is left.
// Called with the lock held.
func (e *Engine) dispatch(t *Task) {
	limit := max(t.Concurrency, 1)
	for t.State == StateRunning && !e.closed && t.InFlight < limit && t.Dialed < len(t.Customers) {
		c := t.Customers[t.Dialed]
		t.Dialed++
		t.InFlight++
		t.MaxInFlight = max(t.MaxInFlight, t.InFlight)
		e.startCall(t.ID, t.Dialed, c, t.Meta)
	}
	if t.State == StateRunning && t.InFlight == 0 && t.Pending() == 0 {
		e.setState(t, StateCompleted)
	}
}

// SingleCall places one call outside any task and returns its id at once; the call
// is reported through OnCall when it ends.
func (e *Engine) SingleCall(c Customer, meta any) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextCust++
	c.ID = e.nextCust
	return e.startCall(0, 1, c, meta)
}

// startCall reserves a call id and simulates the call in the background. Called with
// the lock held.
func (e *Engine) startCall(taskID int64, index int, c Customer, meta any) int64 {
	e.nextCall++
	id := e.nextCall
	if e.closed {
		return id
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if clock.Sleep(e.ctx, e.cfg.Clock, e.Scale(e.cfg.CallDuration)) != nil {
			return
		}
		e.finishCall(&Call{ID: id, TaskID: taskID, Index: index, Customer: c, Meta: meta})
	}()
	return id
}

func (e *Engine) finishCall(call *Call) {
	e.mu.Lock()
	e.record(call, e.cfg.Statuses)
	var ts Task
	if t, ok := e.tasks[call.TaskID]; ok {
		call.Meta = t.Meta
		t.InFlight--
		t.CallIDs = append(t.CallIDs, call.ID)
		t.Modified = call.Ended
		wasRunning := t.State == StateRunning
		e.dispatch(t)
		call.LastOfTask = wasRunning && t.State == StateCompleted
		ts = snap(t)
	}
	c := *call
	// The call is reported before the completion it caused.
	e.unlockAndNotify(func() { e.cfg.OnCall(c, ts) })
}

// record draws the call's outcome, stamps its times and stores it. Called with the lock held.
func (e *Engine) record(call *Call, statuses int) {
	call.Outcome = NewOutcome(e.cfg.Rand, statuses)
	call.Ended = e.cfg.Clock.Now()
	call.Started = call.Ended.Add(-time.Duration(call.Outcome.Duration+call.Outcome.Ring) * time.Second)
	e.calls[call.ID] = call
}

// Inbound simulates a customer calling in (always answered), reports it through
// OnCall and returns it.
func (e *Engine) Inbound(c Customer, meta any) Call {
	e.mu.Lock()
	e.nextCall++
	e.nextCust++
	c.ID = e.nextCust
	call := &Call{ID: e.nextCall, Index: 1, Customer: c, Inbound: true, Meta: meta}
	e.record(call, 1)
	cc := *call
	e.mu.Unlock()
	e.cfg.OnCall(cc, Task{})
	return cc
}

// Reset forgets every task and call; ids keep counting so none is reused. Calls under
// way still finish and are reported without their task.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tasks = map[int64]*Task{}
	e.calls = map[int64]*Call{}
}

func snap(t *Task) Task {
	c := *t
	c.Customers = t.Customers[:len(t.Customers):len(t.Customers)]
	c.CallIDs = t.CallIDs[:len(t.CallIDs):len(t.CallIDs)]
	return c
}

// Customer finds an imported customer of a live task by id.
func (e *Engine) Customer(id int64) (taskID int64, c Customer, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.tasks {
		if t.State == StateDeleted {
			continue
		}
		for _, cu := range t.Customers {
			if cu.ID == id {
				return t.ID, cu, true
			}
		}
	}
	return 0, Customer{}, false
}

// CallCustomer calls customer c of task taskID now, outside the task's own dialling
// (a vendor's "call this task customer" API), and returns the call id; the call ends
// like the task's own calls, in its task.
func (e *Engine) CallCustomer(taskID int64, c Customer, meta any) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[taskID]
	if !ok || t.State == StateDeleted {
		return 0, ErrNotFound
	}
	if meta == nil {
		meta = t.Meta
	}
	t.InFlight++
	t.MaxInFlight = max(t.MaxInFlight, t.InFlight)
	return e.startCall(taskID, len(t.CallIDs)+t.InFlight, c, meta), nil
}
