// Package simtest helps tests drive the simulators: a webhook receiver, a pump that
// moves a fake clock until something happens, a JSON shape comparison for callback
// bodies, and the signature vectors.
package simtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/simulator/clock"
)

// Receiver is a webhook endpoint that records every body and answers "success",
// unless Reply says otherwise.
type Receiver struct {
	*httptest.Server

	mu     sync.Mutex
	bodies [][]byte
	hits   int
	reply  func(n int) (int, string)
	notify chan struct{}
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{notify: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// Reply makes the receiver answer the nth request (from 1) with the given status and body.
func (r *Receiver) Reply(fn func(n int) (status int, body string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reply = fn
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.hits++
	status, text := http.StatusOK, "success"
	if r.reply != nil {
		status, text = r.reply(r.hits)
	}
	if status >= 200 && status < 300 && strings.TrimSpace(text) == "success" {
		r.bodies = append(r.bodies, body)
	}
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// Bodies returns the bodies acknowledged so far.
func (r *Receiver) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// Hits returns the number of requests received, acknowledged or not.
func (r *Receiver) Hits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

// Wait waits until at least n bodies were acknowledged and returns them.
func (r *Receiver) Wait(t testing.TB, n int) [][]byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if b := r.Bodies(); len(b) >= n {
			return b
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("receiver got %d callbacks, want %d", len(r.Bodies()), n)
		}
	}
}

// Pump moves fc forward by step whenever a timer waits on it, until cond holds;
// it fails the test after 10s of real time.
func Pump(t testing.TB, fc *clock.Fake, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met while pumping the fake clock")
		}
		if fc.Waiters() > 0 {
			fc.Advance(step)
		}
		time.Sleep(time.Millisecond)
	}
}

// Shape compares the JSON shape of got with sample: objects must have the same keys
// (for arrays of objects, each element must have every key all sample elements share
// and no key none has), and values both non-null must be of the same JSON kind. It
// returns the differences, empty when the shapes match.
func Shape(sample, got []byte) []string {
	var s, g any
	if err := json.Unmarshal(sample, &s); err != nil {
		return []string{"sample: " + err.Error()}
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return []string{"got: " + err.Error()}
	}
	var diffs []string
	compare("$", s, g, &diffs)
	return diffs
}

func compare(path string, s, g any, diffs *[]string) {
	if s == nil || g == nil {
		return
	}
	if kind(s) != kind(g) {
		*diffs = append(*diffs, fmt.Sprintf("%s: %s, sample has %s", path, kind(g), kind(s)))
		return
	}
	switch s := s.(type) {
	case map[string]any:
		compareObject(path, []map[string]any{s}, g.(map[string]any), diffs)
	case []any:
		var objs []map[string]any
		for _, e := range s {
			if o, ok := e.(map[string]any); ok {
				objs = append(objs, o)
			}
		}
		for i, e := range g.([]any) {
			p := fmt.Sprintf("%s[%d]", path, i)
			if o, ok := e.(map[string]any); ok && len(objs) > 0 {
				compareObject(p, objs, o, diffs)
			} else if len(s) > 0 {
				compare(p, s[0], e, diffs)
			}
		}
	}
}

// compareObject checks g against the union and intersection of the samples' keys.
func compareObject(path string, samples []map[string]any, g map[string]any, diffs *[]string) {
	union := map[string]any{}
	count := map[string]int{}
	for _, s := range samples {
		for k, v := range s {
			count[k]++
			if union[k] == nil {
				union[k] = v
			}
		}
	}
	for _, k := range sortedKeys(count) {
		if _, ok := g[k]; !ok && count[k] == len(samples) {
			*diffs = append(*diffs, fmt.Sprintf("%s: missing key %q", path, k))
		}
	}
	for _, k := range sortedKeys(g) {
		if _, known := count[k]; !known {
			*diffs = append(*diffs, fmt.Sprintf("%s: extra key %q", path, k))
			continue
		}
		compare(path+"."+k, union[k], g[k], diffs)
	}
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Root is the repository root (where go.mod is).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Testdata reads a file under the repository's testdata directory.
func Testdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Root(), "testdata", rel))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return b
}

// FirstVector returns the first data row of a signature vector file
// ("byai.tsv" or "yiwise.tsv"), keyed by the header's column names.
func FirstVector(t testing.TB, file string) map[string]string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(string(Testdata(t, filepath.Join("signatures", file)))))
	var header []string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		return row
	}
	t.Fatalf("%s has no data row", file)
	return nil
}

// RunTask has a simulated vendor call customers through the product's own client:
// create (create's name and fields as given), import in the client's batch size,
// start, then pump fc by step until completed reports the task done. It returns the
// task's id.
func RunTask(t testing.TB, client platform.Client, create command.TaskCreate, customers []command.Customer,
	fc *clock.Fake, step time.Duration, completed func(taskID int64) bool) string {
	t.Helper()
	ctx := context.Background()
	reply, err := client.CreateTask(ctx, &create)
	if err != nil {
		t.Fatalf("create %q: %v", create.Name, err)
	}
	for cs := customers; len(cs) > 0; {
		batch := cs[:min(len(cs), client.ImportBatchSize())]
		cs = cs[len(batch):]
		if _, err := client.ImportCustomers(ctx, reply.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(reply.ID), Action: command.ActionStart}); err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(reply.ID, 10, 64)
	Pump(t, fc, step, func() bool { return completed(id) })
	return reply.ID
}
