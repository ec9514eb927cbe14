package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/clock"
)

var t0 = time.Date(2019, 1, 12, 8, 9, 32, 0, time.UTC)

const scale = 0.001 // a vendor minute is 60ms

func scaled(m int) time.Duration { return time.Duration(float64(time.Duration(m)*time.Minute) * scale) }

// receiver answers the nth request (from 1) with answer(n) and reports the fake time of each hit.
func receiver(t *testing.T, fc *clock.Fake, answer func(n int) (int, string)) (*httptest.Server, <-chan time.Time) {
	t.Helper()
	hits := make(chan time.Time, 64)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- fc.Now()
		code, body := answer(int(n.Add(1)))
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func nextHit(t *testing.T, hits <-chan time.Time) time.Time {
	t.Helper()
	select {
	case at := <-hits:
		return at
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery attempt arrived")
		return time.Time{}
	}
}

// advanceToNextTimer waits for the sender to park on the clock, checks when it will
// wake, and moves the clock there.
func advanceToNextTimer(t *testing.T, fc *clock.Fake, want time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fc.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("sender never waited for a retry: %v", err)
	}
	if d := fc.Deadlines(); d[0] != want {
		t.Fatalf("next retry scheduled at +%v, want +%v", d[0].Sub(t0), want.Sub(t0))
	}
	fc.Set(want)
}

func TestRetriesOnTheVendorScheduleUntilSuccess(t *testing.T) {
	fc := clock.NewFake(t0)
	srv, hits := receiver(t, fc, func(n int) (int, string) {
		if n <= 3 {
			return http.StatusInternalServerError, "boom"
		}
		return http.StatusOK, "success"
	})
	s := New(Config{Clock: fc, TimeScale: scale})
	s.Send(context.Background(), Delivery{URL: srv.URL, Kind: "TEST", Body: []byte(`{}`)})

	// Attempts at t0, then after 1, 2 and 4 scaled minutes.
	want := []time.Time{t0, t0.Add(scaled(1)), t0.Add(scaled(3)), t0.Add(scaled(7))}
	for i, at := range want {
		if i > 0 {
			advanceToNextTimer(t, fc, at)
		}
		if got := nextHit(t, hits); got != at {
			t.Fatalf("attempt %d at +%v, want +%v", i+1, got.Sub(t0), at.Sub(t0))
		}
	}
	s.Wait()
	if got, want := s.Stats(), (Stats{Attempts: 4, Successes: 1, Failures: 3}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if fc.Waiters() != 0 {
		t.Fatal("a timer is still pending after success")
	}
}

func TestGivesUpAfterTenAttempts(t *testing.T) {
	fc := clock.NewFake(t0)
	srv, hits := receiver(t, fc, func(int) (int, string) { return http.StatusServiceUnavailable, "" })
	var last atomic.Value
	s := New(Config{Clock: fc, TimeScale: scale, OnAttempt: func(a Attempt) { last.Store(a) }})
	s.Send(context.Background(), Delivery{URL: srv.URL, Kind: "TEST", Body: []byte(`{}`)})

	at := t0
	for n := 1; n <= 10; n++ {
		if n > 1 {
			at = at.Add(scaled(1 << (n - 2)))
			advanceToNextTimer(t, fc, at)
		}
		if got := nextHit(t, hits); got != at {
			t.Fatalf("attempt %d at +%v, want +%v", n, got.Sub(t0), at.Sub(t0))
		}
	}
	s.Wait()
	if got, want := s.Stats(), (Stats{Attempts: 10, Failures: 10, GaveUp: 1}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if a := last.Load().(Attempt); !a.GaveUp || a.N != 10 || a.Status != http.StatusServiceUnavailable {
		t.Fatalf("last attempt = %+v, want the 10th, given up, HTTP 503", a)
	}
	select {
	case <-hits:
		t.Fatal("an 11th attempt was made")
	default:
	}
}

func TestOnlyA2xxSuccessBodyCountsAsDelivered(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"200 success", 200, "success", true},
		{"success with surrounding whitespace", 200, " success\r\n", true},
		{"other 2xx with success", 202, "success", true},
		{"200 with another body", 200, `{"code":200}`, false},
		{"200 with empty body", 200, "", false},
		{"success in different case", 200, "SUCCESS", false},
		{"5xx with success body", 500, "success", false},
		{"4xx", 404, "not found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := clock.NewFake(t0)
			srv, _ := receiver(t, fc, func(int) (int, string) { return tt.status, tt.body })
			s := New(Config{Clock: fc, MaxAttempts: 1})
			s.Send(context.Background(), Delivery{URL: srv.URL, Body: []byte(`{}`)})
			s.Wait()
			if got := s.Stats().Successes == 1; got != tt.ok {
				t.Fatalf("delivered = %v, want %v (stats %+v)", got, tt.ok, s.Stats())
			}
		})
	}
}

func TestPostsTheJSONBody(t *testing.T) {
	var got struct {
		method, ctype, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		got.method, got.ctype, got.body = r.Method, r.Header.Get("Content-Type"), string(b[:n])
		_, _ = w.Write([]byte("success"))
	}))
	defer srv.Close()
	s := New(Config{})
	s.Send(context.Background(), Delivery{URL: srv.URL, Body: []byte(`{"a":1}`)})
	s.Wait()
	if got.method != http.MethodPost || got.ctype != "application/json;charset=UTF-8" || got.body != `{"a":1}` {
		t.Fatalf("receiver saw %+v", got)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	fc := clock.NewFake(t0)
	srv, hits := receiver(t, fc, func(int) (int, string) { return 500, "" })
	s := New(Config{Clock: fc, TimeScale: scale})
	ctx, cancel := context.WithCancel(context.Background())
	s.Send(ctx, Delivery{URL: srv.URL, Body: []byte(`{}`)})
	nextHit(t, hits)
	bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer bcancel()
	if err := fc.BlockUntil(bctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	s.Wait()
	if st := s.Stats(); st.Canceled != 1 || st.Attempts != 1 || st.Pending != 0 {
		t.Fatalf("stats = %+v, want one attempt then canceled", st)
	}
}

func TestDeliveriesRunConcurrently(t *testing.T) {
	var mu sync.Mutex
	arrived := 0
	both := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == 2 {
			close(both)
		}
		mu.Unlock()
		// Each request waits for the other: only concurrent deliveries get through.
		select {
		case <-both:
			_, _ = w.Write([]byte("success"))
		case <-time.After(5 * time.Second):
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	s := New(Config{MaxAttempts: 1})
	s.Send(context.Background(), Delivery{URL: srv.URL, Body: []byte(`{}`)})
	s.Send(context.Background(), Delivery{URL: srv.URL, Body: []byte(`{}`)})
	s.Wait()
	if st := s.Stats(); st.Successes != 2 {
		t.Fatalf("stats = %+v, want both delivered", st)
	}
}
