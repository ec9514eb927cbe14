package core

import (
	"fmt"
	"time"
)

// Event kinds.
const (
	// KindAPI is one API request answered; Name is the endpoint, Code the envelope code
	// or HTTP status.
	KindAPI = "api"
	// KindCall is one simulated call finished; Name is the vendor status.
	KindCall = "call"
	// KindTask is a task state change; Name is the new state.
	KindTask = "task"
	// KindWebhook is one callback delivery attempt; Name is the callback type, Code the
	// receiver's HTTP status.
	KindWebhook = "webhook"
)

// Event is something a simulated vendor did, for `callbridge dev` output and tests.
type Event struct {
	Time   time.Time
	Vendor string
	Kind   string
	Name   string
	Code   int
	TaskID int64
	CallID int64
	Detail string
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s %s", e.Vendor, e.Kind, e.Name)
	if e.Code != 0 {
		s += fmt.Sprintf(" code=%d", e.Code)
	}
	if e.TaskID != 0 {
		s += fmt.Sprintf(" task=%d", e.TaskID)
	}
	if e.CallID != 0 {
		s += fmt.Sprintf(" call=%d", e.CallID)
	}
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}

// Emitter stamps events and hands them to the configured hooks.
type Emitter struct {
	Vendor  string
	Now     func() time.Time
	OnEvent func(Event)
	Logf    func(format string, args ...any)
}

// Emit publishes e. It never includes credentials: events carry only names and ids.
func (m *Emitter) Emit(e Event) {
	if m.OnEvent == nil && m.Logf == nil {
		return
	}
	e.Vendor = m.Vendor
	if e.Time.IsZero() && m.Now != nil {
		e.Time = m.Now()
	}
	if m.OnEvent != nil {
		m.OnEvent(e)
	}
	if m.Logf != nil {
		m.Logf("%s", e.String())
	}
}
