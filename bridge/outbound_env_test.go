package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// outEnv is a running bridge (both halves) against the in-process broker and both
// vendor simulators.
type outEnv struct {
	*testEnv
	byai   *byaisim.Server
	yiwise *yiwisesim.Server
	vars   map[string]string
	writer *kafka.Writer
	stop   func()
}

func newOutbound(t testing.TB, extra map[string]string) *outEnv {
	t.Helper()
	k := newCluster(t)
	by := byaisim.New(byaisim.Config{AppKey: "WtSMaXXXXXXXXtvy", AppSecret: "aXSFnnZbHXXXXXXXXXXXXXXXMguz1Q", CompanyID: 1, Options: core.Options{TimeScale: 1000}})
	yw := yiwisesim.New(yiwisesim.Config{AppKey: "gvlfIPLJTMEAHgyM", AppSecret: "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", TenantSign: "zhongna", Options: core.Options{TimeScale: 1000}})
	bySrv, ywSrv := httptest.NewServer(by), httptest.NewServer(yw)
	t.Cleanup(func() { bySrv.Close(); ywSrv.Close(); by.Close(); yw.Close() })
	vars := baseVars(k.Addrs(), bySrv.URL, ywSrv.URL)
	vars["CALLBRIDGE_RETRY_INITIAL_BACKOFF"] = "5ms"
	vars["CALLBRIDGE_RETRY_MAX_BACKOFF"] = "20ms"
	for key, v := range extra {
		vars[key] = v
	}
	e := &outEnv{testEnv: start(t, k, vars), byai: by, yiwise: yw, vars: vars}
	e.stop = e.run(e.testEnv)
	e.writer = &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Murmur2Balancer{}}
	t.Cleanup(func() { e.writer.Close() })
	return e
}

// run runs a bridge until the returned stop is called (also at cleanup).
func (e *outEnv) run(te *testEnv) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := te.bridge.Run(ctx, ln); err != nil {
			e.t.Errorf("bridge run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	e.t.Cleanup(stop)
	return stop
}

// send produces a command CloudEvent with the given id to the command's topic.
func (e *outEnv) send(typ, id string, data any, opts ...func(*cloudevents.Event, *kafka.Message)) {
	e.t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		e.t.Fatal(err)
	}
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/platform/test")
	ev.SetType("callbridge." + typ)
	ev.SetTime(time.Now())
	if err := ev.SetData(cloudevents.ApplicationJSON, json.RawMessage(b)); err != nil {
		e.t.Fatal(err)
	}
	msg, err := cekafka.ToKafka(context.Background(), ev, e.cfg.TopicPrefix+typ)
	if err != nil {
		e.t.Fatal(err)
	}
	msg.Key = []byte("key-" + id)
	for _, o := range opts {
		o(&ev, &msg)
	}
	if err := e.writer.WriteMessages(context.Background(), msg); err != nil {
		e.t.Fatal(err)
	}
}

// results waits for n results of command id and returns their events and data.
func (e *outEnv) results(id string, n int) ([]*cloudevents.Event, []command.Result) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var evs []*cloudevents.Event
		var rs []command.Result
		for _, ev := range e.events(event.TopicCommandResult, 0) {
			var r command.Result
			if err := json.Unmarshal(ev.Data(), &r); err != nil {
				e.t.Fatal(err)
			}
			if r.CommandID == id {
				evs, rs = append(evs, ev), append(rs, r)
			}
		}
		if len(rs) >= n || time.Now().After(deadline) {
			if len(rs) < n {
				e.t.Fatalf("%d results for %s after 30s, want %d", len(rs), id, n)
			}
			return evs, rs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// result waits for the one result of command id.
func (e *outEnv) result(id string) (*cloudevents.Event, command.Result) {
	e.t.Helper()
	evs, rs := e.results(id, 1)
	return evs[0], rs[0]
}

// vendorRequests lists the simulator requests to an endpoint, for either vendor.
type vendorRequest struct {
	Endpoint, Method, Path, Query string
	Header                        map[string][]string
	Body                          map[string]any
}

func (e *outEnv) requests(vendor, endpoint string) []vendorRequest {
	var out []vendorRequest
	add := func(ep, method, path, query string, h map[string][]string, body []byte) {
		if endpoint != "" && ep != endpoint {
			return
		}
		r := vendorRequest{Endpoint: ep, Method: method, Path: path, Query: query, Header: h}
		if len(body) > 0 {
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			_ = d.Decode(&r.Body)
		}
		out = append(out, r)
	}
	switch vendor {
	case "byai":
		for _, r := range e.byai.Requests() {
			add(r.Endpoint, r.Method, r.Path, r.RawQuery, r.Header, r.Body)
		}
	case "yiwise":
		for _, r := range e.yiwise.Requests() {
			add(r.Endpoint, r.Method, r.Path, r.RawQuery, r.Header, r.Body)
		}
	}
	return out
}
