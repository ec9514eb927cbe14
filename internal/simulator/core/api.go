package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
)

// Vendor envelope codes and their documented messages.
const (
	CodeOK           = 200
	CodeUnauthorized = 401
	CodeForbidden    = 403
	CodeNotFound     = 404
	CodeBadParam     = 412
	CodeUnknown      = 500
)

// Messages are the vendors' resultMsg for each error code.
var Messages = map[int]string{
	CodeUnauthorized: "校验数据错误",
	CodeForbidden:    "权限不足",
	CodeNotFound:     "资源未找到",
	CodeBadParam:     "参数错误",
	CodeUnknown:      "未知错误",
}

// Reply is a handler's answer: the envelope's code, resultMsg and data.
type Reply struct {
	Code int
	Msg  string
	Data any
	// TaskID and CallID name what the request touched, for the event log.
	TaskID, CallID int64
}

// OK is a successful reply.
func OK(msg string, data any) Reply { return Reply{Code: CodeOK, Msg: msg, Data: data} }

// Fail is an error reply with the documented message for code.
func Fail(code int) Reply { return Reply{Code: code, Msg: Messages[code]} }

// Endpoint is one API operation.
type Endpoint struct {
	// Name is the path below the vendor's prefix, e.g. "task/createTask".
	Name string
	// Method is GET (parameters in the query) or POST (a JSON body).
	Method string
	// Handle answers an authenticated request.
	Handle func(p *Params) Reply
}

// Request is one HTTP request as the simulated vendor received it.
type Request struct {
	// Endpoint is the endpoint name, empty for an unknown path.
	Endpoint string
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// At is the simulator clock's time of arrival.
	At time.Time
}

// Fault is an injected failure of an endpoint.
type Fault struct {
	// HTTPStatus, when not 0 or 200, answers with that HTTP status and a plain body.
	HTTPStatus int
	// Code, when HTTPStatus is 0 or 200, answers HTTP 200 with this envelope code.
	Code int
	// Msg overrides the envelope's resultMsg.
	Msg string
	// Delay holds the answer back this long in real time (to provoke client timeouts);
	// with no status or code set, the request is then answered normally.
	Delay time.Duration
	// Apply performs the request before failing, as when a reply is lost on the way back.
	Apply bool
}

// fails reports whether f changes the answer; a fault with only a Delay slows the
// request down and then answers it normally.
func (f Fault) fails() bool {
	return f.Code != 0 || f.HTTPStatus != 0 && f.HTTPStatus != http.StatusOK
}

// FaultFor turns FailNext's single code into a Fault: the vendor codes 401, 403, 404
// and 412 come in the envelope with HTTP 200, as the vendors send them; anything else
// (429, 500, 502, 503 …) is an HTTP status.
func FaultFor(code int) Fault {
	switch code {
	case CodeUnauthorized, CodeForbidden, CodeNotFound, CodeBadParam:
		return Fault{Code: code}
	}
	return Fault{HTTPStatus: code}
}

// API is the HTTP side of a simulated vendor: routing, authentication, request
// recording, fault injection and the envelope. The vendor packages supply endpoints,
// the header check and the envelope shape.
type API struct {
	routes    map[string]Endpoint // by path
	authorize func(http.Header) bool
	envelope  func(Reply) any
	clock     clock.Clock
	emit      func(Event)
	maxReqs   int

	mu     sync.Mutex
	reqs   []Request
	faults map[string][]Fault // by endpoint name
}

// APIConfig configures an API.
type APIConfig struct {
	// Prefix is prepended to endpoint names, e.g. "/openapi/v1/".
	Prefix string
	// Paths overrides the path of an endpoint by name.
	Paths map[string]string
	// Endpoints are the operations served.
	Endpoints []Endpoint
	// Authorize checks the signed headers.
	Authorize func(http.Header) bool
	// Envelope wraps a reply in the vendor's JSON envelope.
	Envelope func(Reply) any
	// Clock stamps recorded requests.
	Clock clock.Clock
	// Emit receives one "api" event per request; may be nil.
	Emit func(Event)
	// MaxRequests bounds the recorded requests (the oldest are dropped); 0 means 10000.
	MaxRequests int
}

// NewAPI returns the HTTP handler of a simulated vendor.
func NewAPI(c APIConfig) *API {
	a := &API{
		routes:    map[string]Endpoint{},
		authorize: c.Authorize,
		envelope:  c.Envelope,
		clock:     c.Clock,
		emit:      c.Emit,
		maxReqs:   c.MaxRequests,
		faults:    map[string][]Fault{},
	}
	if a.maxReqs <= 0 {
		a.maxReqs = 10000
	}
	for _, e := range c.Endpoints {
		path := c.Prefix + e.Name
		if p, ok := c.Paths[e.Name]; ok && p != "" {
			path = "/" + strings.TrimPrefix(p, "/")
		}
		a.routes[path] = e
	}
	return a
}

// ServeHTTP answers one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	ep, known := a.routes[r.URL.Path]
	a.record(r, ep.Name, body)
	if !known {
		a.springError(w, r, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != ep.Method {
		a.springError(w, r, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	// Like Spring's @RequestBody, a POST must declare a JSON body.
	if ep.Method == http.MethodPost && !strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "json") {
		a.springError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	fault, faulty := a.takeFault(ep.Name)
	if faulty && fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	fails := faulty && fault.fails()
	if fails && !fault.Apply {
		a.writeFault(w, ep.Name, fault)
		return
	}
	rep := a.handle(r, ep, body)
	if fails {
		a.writeFault(w, ep.Name, fault)
		return
	}
	a.writeReply(w, ep.Name, rep)
}

func (a *API) handle(r *http.Request, ep Endpoint, body []byte) Reply {
	if !a.authorize(r.Header) {
		return Fail(CodeUnauthorized)
	}
	var p *Params
	if ep.Method == http.MethodGet {
		p = ParseQuery(r.URL.Query())
	} else {
		var err error
		if p, err = ParseJSON(body); err != nil {
			return Fail(CodeBadParam)
		}
	}
	rep := ep.Handle(p)
	if errors.Is(p.Err(), ErrBadParam) && rep.Code == CodeOK {
		// A handler that forgot to check Err must not succeed on bad input.
		return Fail(CodeBadParam)
	}
	return rep
}

func (a *API) writeReply(w http.ResponseWriter, name string, rep Reply) {
	if rep.Msg == "" {
		rep.Msg = Messages[rep.Code]
	}
	writeJSON(w, http.StatusOK, a.envelope(rep))
	a.event(Event{Kind: KindAPI, Name: name, Code: rep.Code, TaskID: rep.TaskID, CallID: rep.CallID, Detail: rep.Msg})
}

func (a *API) writeFault(w http.ResponseWriter, name string, f Fault) {
	if f.HTTPStatus != 0 && f.HTTPStatus != http.StatusOK {
		http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
		a.event(Event{Kind: KindAPI, Name: name, Code: f.HTTPStatus, Detail: "injected HTTP failure"})
		return
	}
	rep := Fail(f.Code)
	if f.Msg != "" {
		rep.Msg = f.Msg
	}
	writeJSON(w, http.StatusOK, a.envelope(rep))
	a.event(Event{Kind: KindAPI, Name: name, Code: rep.Code, Detail: "injected failure: " + rep.Msg})
}

// MustJSON marshals v the way the vendors' Java servers do (no HTML escaping of
// <, > and &). It panics on values that cannot be marshalled: the simulators only
// marshal their own plain structs.
func MustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("simulator: marshal: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// springError answers like the vendors' Spring servers do for a path or method they
// do not serve: an HTTP error status with Spring's JSON body, no envelope.
func (a *API) springError(w http.ResponseWriter, r *http.Request, status int, text string) {
	writeJSON(w, status, map[string]any{
		"timestamp": a.clock.Now().UTC().Format("2006-01-02T15:04:05.000+0000"),
		"status":    status,
		"error":     text,
		"message":   "",
		"path":      r.URL.Path,
	})
	a.event(Event{Kind: KindAPI, Name: r.Method + " " + r.URL.Path, Code: status, Detail: text})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := MustJSON(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *API) event(e Event) {
	if a.emit != nil {
		a.emit(e)
	}
}

func (a *API) record(r *http.Request, name string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) >= a.maxReqs {
		a.reqs = append(a.reqs[:0], a.reqs[len(a.reqs)-a.maxReqs+1:]...)
	}
	a.reqs = append(a.reqs, Request{
		Endpoint: name,
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		At:       a.clock.Now(),
	})
}

// Requests returns the recorded requests, oldest first.
func (a *API) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.reqs...)
}

// InjectFault makes the next n requests of endpoint (its name, e.g. "task/start", or
// its path) fail with f. Faults queue up behind those already injected.
func (a *API) InjectFault(endpoint string, f Fault, n int) {
	if ep, ok := a.routes[endpoint]; ok {
		endpoint = ep.Name // a path was given
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		a.faults[endpoint] = append(a.faults[endpoint], f)
	}
}

func (a *API) takeFault(endpoint string) (Fault, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.faults[endpoint]
	if len(q) == 0 {
		return Fault{}, false
	}
	a.faults[endpoint] = q[1:]
	return q[0], true
}

// Reset forgets recorded requests and pending faults.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = nil
	a.faults = map[string][]Fault{}
}
