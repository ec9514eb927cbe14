package core

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/webhook"
)

// Options are the settings every simulated vendor has.
type Options struct {
	// WebhookURL receives every callback; "" sends none.
	WebhookURL string
	// HTTPClient posts callbacks; nil means a client with a 10s timeout.
	HTTPClient *http.Client

	// Clock is the time source (signature freshness, call and retry timing, body
	// times); nil means the real clock.
	Clock clock.Clock
	// TimeScale multiplies every simulated duration (calls, callback retry delays):
	// 1 is real time, 0.001 makes a vendor minute last 60ms; 0 means 1.
	TimeScale float64
	// CallDuration is the simulated time one call takes; 0 means 40s.
	CallDuration time.Duration
	// Seed makes outcomes reproducible; 0 picks a random seed.
	Seed uint64
	// MaxSkew is how far a request's signed time (BYAI's datetime header, Yiwise's
	// timestamp) may be from the clock; 0 means 15 minutes.
	MaxSkew time.Duration
	// MaxImportBatch refuses (412) imports of more customers at once; 0 means no limit.
	MaxImportBatch int
	// LoseCallWebhooks makes every Nth finished call's webhook never be sent, as when
	// the vendor gave up after its day of retries (the call is still in the query
	// APIs, for reconciliation); 0 sends them all.
	LoseCallWebhooks int

	// OnEvent receives every API request, call, task change and callback attempt.
	OnEvent func(Event)
	// Logf, when set, prints the same events one per line. Credentials are never logged.
	Logf func(format string, args ...any)
}

// SimConfig assembles a simulated vendor.
type SimConfig struct {
	// Vendor is "byai" or "yiwise".
	Vendor string
	// Prefix, Paths, Authorize and Envelope configure the API (see APIConfig).
	Prefix    string
	Paths     map[string]string
	Authorize func(http.Header) bool
	Envelope  func(Reply) any
	// Statuses, FirstTaskID, FirstCallID, OnCall and OnState configure the engine.
	Statuses                 int
	FirstTaskID, FirstCallID int64
	OnCall                   func(c Call, t Task)
	OnState                  func(t Task, from State)
	// Seal, when set, wraps every callback as the vendor's sealed callbacks are sent.
	Seal func(body []byte) webhook.Sealed

	Options
}

// Sim is the machinery a simulated vendor is made of.
type Sim struct {
	Engine  *Engine
	API     *API
	Sender  *webhook.Sender
	Emitter *Emitter
	Clock   clock.Clock

	webhookURL string
	seal       func([]byte) webhook.Sealed
	loseEvery  int
	calls      atomic.Int64
}

// NewSim builds a simulated vendor serving endpoints.
func NewSim(c SimConfig, endpoints []Endpoint) *Sim {
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.CallDuration <= 0 {
		c.CallDuration = 40 * time.Second
	}
	s := &Sim{Clock: c.Clock, webhookURL: c.WebhookURL, seal: c.Seal, loseEvery: c.LoseCallWebhooks}
	s.Emitter = &Emitter{Vendor: c.Vendor, Now: c.Clock.Now, OnEvent: c.OnEvent, Logf: c.Logf}
	s.Engine = NewEngine(EngineConfig{
		Clock: c.Clock, TimeScale: c.TimeScale, CallDuration: c.CallDuration, Rand: NewRand(c.Seed),
		Statuses: c.Statuses, FirstTaskID: c.FirstTaskID, FirstCallID: c.FirstCallID,
		OnCall: c.OnCall, OnState: c.OnState,
	})
	s.Sender = webhook.New(webhook.Config{
		Client: c.HTTPClient, Clock: c.Clock, TimeScale: c.TimeScale,
		OnAttempt: func(a webhook.Attempt) {
			detail := "delivered"
			if !a.OK {
				detail = a.Err.Error()
			}
			s.Emitter.Emit(Event{Kind: KindWebhook, Name: a.Kind, Code: a.Status, Detail: detail})
		},
	})
	s.API = NewAPI(APIConfig{
		Prefix: c.Prefix, Paths: c.Paths, Endpoints: endpoints,
		Authorize: c.Authorize, Envelope: c.Envelope, Clock: c.Clock, Emit: s.Emitter.Emit,
	})
	return s
}

// Send delivers a callback built by render (called for each attempt), unless no
// webhook URL is configured.
func (s *Sim) Send(kind string, render func() []byte) {
	if s.webhookURL == "" {
		return
	}
	s.Sender.Send(s.Engine.Context(), webhook.Delivery{URL: s.webhookURL, Kind: kind, Render: render, Seal: s.seal})
}

// SendCall delivers a finished call's callback as Send does, unless LoseCallWebhooks
// makes this one of the calls whose webhook is lost.
func (s *Sim) SendCall(kind string, c Call, render func() []byte) {
	if n := s.calls.Add(1); s.loseEvery > 0 && n%int64(s.loseEvery) == 0 {
		s.Emitter.Emit(Event{Kind: KindWebhook, Name: kind, TaskID: c.TaskID, CallID: c.ID, Detail: "lost: never sent (LoseCallWebhooks)"})
		return
	}
	s.Send(kind, render)
}

// Close stops calls and callback deliveries and waits for them.
func (s *Sim) Close() {
	s.Engine.Close()
	s.Sender.Wait()
}

// Reset forgets recorded requests, injected faults, tasks and calls.
func (s *Sim) Reset() {
	s.API.Reset()
	s.Engine.Reset()
}

// Fresh reports whether a signed timestamp is within maxSkew of the clock (15 minutes
// when maxSkew is 0), as both vendors require.
func (s *Sim) Fresh(at time.Time, maxSkew time.Duration) bool {
	if maxSkew <= 0 {
		maxSkew = 15 * time.Minute
	}
	d := s.Clock.Now().Sub(at)
	return d <= maxSkew && d >= -maxSkew
}

// Hooks are the methods both vendors' servers expose for serving, inspection and
// fault injection; each Server embeds them.
type Hooks struct{ sim *Sim }

// Hooks returns the hooks of s.
func (s *Sim) Hooks() Hooks { return Hooks{s} }

// ServeHTTP answers one API request.
func (h Hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.sim.API.ServeHTTP(w, r) }

// WebhookURL is where callbacks go; "" when none are sent.
func (s *Sim) WebhookURL() string { return s.webhookURL }

// Close stops calls and callback deliveries and waits for them.
func (h Hooks) Close() { h.sim.Close() }

// Requests returns every request received, oldest first, as the vendor saw it.
func (h Hooks) Requests() []Request { return h.sim.API.Requests() }

// FailNext makes the next n requests of endpoint (name like "task/start", or path)
// fail: 401, 403, 404 and 412 as the vendor envelope code with HTTP 200, any other
// code (429, 500, 503 …) as the HTTP status.
func (h Hooks) FailNext(endpoint string, code, n int) {
	h.sim.API.InjectFault(endpoint, FaultFor(code), n)
}

// InjectFault makes the next n requests of endpoint fail with f (delays, lost
// replies after the operation was applied, custom envelope codes).
func (h Hooks) InjectFault(endpoint string, f Fault, n int) { h.sim.API.InjectFault(endpoint, f, n) }

// Task returns a snapshot of task id (deleted tasks included); Meta is the vendor's
// own *TaskMeta.
func (h Hooks) Task(id int64) (Task, bool) { return h.sim.Engine.Task(id) }

// Calls returns the finished calls of task id.
func (h Hooks) Calls(taskID int64) []Call { return h.sim.Engine.Calls(taskID) }

// WebhookStats returns the callback delivery counters.
func (h Hooks) WebhookStats() webhook.Stats { return h.sim.Sender.Stats() }

// Reset forgets recorded requests, injected faults, tasks and calls.
func (h Hooks) Reset() { h.sim.Reset() }
