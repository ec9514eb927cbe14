package devenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/simulator"
	"github.com/callbridge/callbridge/internal/simulator/core"
)

// SimEvents returns an OnEvent hook that prints the simulators' API calls, calls and
// task changes as vendor lines. label names the vendor in the account column
// ("byai" → "byai-demo" in dev; nil keeps the vendor name). Callback attempts are
// left to CallbackClient, which knows the attempt number and the record.
func (p *Printer) SimEvents(label func(vendor string) string) func(simulator.Event) {
	if label == nil {
		label = func(v string) string { return v }
	}
	return func(e simulator.Event) {
		who := label(e.Vendor)
		switch e.Kind {
		case core.KindAPI:
			d := fmt.Sprintf("%s → %d", e.Name, e.Code)
			if e.Detail != "" {
				d += " " + e.Detail
			}
			if e.TaskID != 0 {
				d += fmt.Sprintf("  task %d", e.TaskID)
			}
			p.Line(KindVendor, "api", who, d, e.Code != 200)
		case core.KindCall:
			d := fmt.Sprintf("call %d  task %d  %s", e.CallID, e.TaskID, e.Name)
			if e.Detail != "" {
				d += "  intent " + e.Detail
			}
			p.Line(KindVendor, "call", who, d, false)
		case core.KindTask:
			p.Line(KindVendor, "task", who, fmt.Sprintf("task %d  %s (%s)", e.TaskID, e.Name, e.Detail), false)
		}
	}
}

// CallbackClient returns the HTTP client a simulator posts its callbacks with: it
// prints one webhook line per attempt with the record, the attempt number and the
// receiver's answer. (The simulators' own webhook events carry no attempt number.)
func (p *Printer) CallbackClient(account string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &callbackTracer{
		base: http.DefaultTransport.(*http.Transport).Clone(), p: p, account: account, attempts: map[[32]byte]int{}}}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections release the keep-alive
// connections (and their goroutines) at shutdown.
func (t *callbackTracer) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type callbackTracer struct {
	base    http.RoundTripper
	p       *Printer
	account string

	mu       sync.Mutex
	attempts map[[32]byte]int
}

func (t *callbackTracer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	cb := describeCallback(body)
	t.mu.Lock()
	t.attempts[cb.key]++
	n := t.attempts[cb.key]
	t.mu.Unlock()

	resp, err := t.base.RoundTrip(req)
	if err != nil {
		// Deliveries canceled at shutdown are not worth a line.
		if req.Context().Err() == nil {
			t.p.Line(KindWebhook, cb.kind, t.account, fmt.Sprintf("%s  attempt %d → %v", cb.record, n, err), true)
		}
		return nil, err
	}
	// Read the reply to print it, then hand the same bytes to the sender.
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{bytes.NewReader(reply), resp.Body}
	text := strings.TrimSpace(string(reply))
	ok := resp.StatusCode/100 == 2 && text == "success"
	if ok {
		// Delivered: forget it, so a long simulate session does not grow the map.
		t.mu.Lock()
		delete(t.attempts, cb.key)
		t.mu.Unlock()
	}
	if len(text) > 60 {
		text = text[:60] + "…"
	}
	t.p.Line(KindWebhook, cb.kind, t.account, fmt.Sprintf("%s  attempt %d → %d %s", cb.record, n, resp.StatusCode, text), !ok)
	return resp, nil
}

// callback is what a webhook line says about a callback body.
type callback struct {
	kind   string   // the vendor's dataType
	record string   // "call 1540000001  task 360001"
	key    [32]byte // the same for every attempt of one delivery
}

// describeCallback reads the vendor's type and record ids from a callback body:
// Yiwise {dataType, data}, BYAI {code, data: {dataType, data}} or BYAI legacy
// {code, data: {sceneInstance, …}}.
func describeCallback(body []byte) callback {
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		return callback{kind: "unparsable", record: fmt.Sprintf("%d bytes", len(body)), key: sha256.Sum256(body)}
	}
	// BYAI stamps each attempt with its own dateTime and sign: the rest identifies it.
	stable, _ := json.Marshal(stripKeys(top, "dateTime", "sign"))
	cb := callback{kind: "callback", key: sha256.Sum256(stable)}

	if dt, ok := top["dataType"].(string); ok { // Yiwise
		cb.kind = dt
		d, _ := top["data"].(map[string]any)
		switch dt {
		case "ROBOT_CALL_RECORD":
			cb.record = fmt.Sprintf("call %v  task %v  %v", d["callRecordId"], d["robotCallJobId"], d["resultStatus"])
		default:
			cb.record = fmt.Sprintf("task %v  %v", d["robotCallJobId"], d["status"])
		}
		return cb
	}
	outer, _ := top["data"].(map[string]any)
	inner := outer
	if dt, ok := outer["dataType"].(string); ok {
		cb.kind = dt
		inner, _ = outer["data"].(map[string]any)
	} else {
		cb.kind = "CALL_INSTANCE_RESULT"
	}
	switch {
	case inner["sceneInstance"] != nil:
		si, _ := inner["sceneInstance"].(map[string]any)
		cb.record = "call " + field(si, "callInstanceId", "inboundInstanceId")
		if task := field(si, "callJobId"); task != "?" {
			cb.record += "  task " + task
		}
	case inner["taskResult"] != nil:
		// A taskResult-only record is a person changing the intent level in the CRM.
		tr, _ := inner["taskResult"].([]any)
		if len(tr) > 0 {
			r, _ := tr[0].(map[string]any)
			cb.record = fmt.Sprintf("call %v  intent changed to %v", r["sceneInstanceId"], r["resultValue"])
		}
	case inner["callJobId"] != nil:
		cb.record = fmt.Sprintf("task %v  status %v", inner["callJobId"], inner["status"])
	}
	return cb
}

// field is the first of keys present in m, as text; "?" when none is.
func field(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return "?"
}

func stripKeys(v any, keys ...string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			skip := false
			for _, drop := range keys {
				skip = skip || k == drop
			}
			if !skip {
				out[k] = stripKeys(e, keys...)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripKeys(e, keys...)
		}
		return out
	}
	return v
}
