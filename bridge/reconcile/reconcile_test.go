package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/bridge/reconcile"
	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/platformtest"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/schemas"
)

// source is one vendor whose finished calls the tests reconcile. sources lists them:
// calllab (internal/platform/platformtest) now. Once a vendor's CallLister is merged,
// add its simulator there — start it, make account(name) an account on it and
// finish(n) let it place n calls that end within the last hour, returning each call's
// webhook body (which the test delivers or drops) — and every test below runs against
// it too.
type source struct {
	name string
	// account returns an account of the vendor named name, and a lister of its calls.
	account func(t *testing.T, name string) (*platform.Account, platform.CallLister)
	// finish makes n finished calls of acct and returns their webhook bodies.
	finish func(t *testing.T, acct *platform.Account, n int) [][]byte
}

func sources() []source {
	platformtest.Register()
	return append([]source{calllab()}, simulatedSources()...)
}

func calllab() source {
	apis := map[string]*platformtest.API{}
	var mu sync.Mutex
	seq := 0
	return source{
		name: platformtest.Name,
		account: func(t *testing.T, name string) (*platform.Account, platform.CallLister) {
			api := &platformtest.API{PageSize: 10}
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			mu.Lock()
			apis[name] = api
			mu.Unlock()
			acct := &platform.Account{Name: name, Vendor: platformtest.Name, AppKey: "k", BaseURL: srv.URL,
				ReconcileInterval: time.Hour, ReconcileLookback: 2 * time.Hour}
			v, _ := platform.Lookup(platformtest.Name)
			return acct, v.NewClient(acct, srv.Client()).(platform.CallLister)
		},
		finish: func(t *testing.T, acct *platform.Account, n int) [][]byte {
			mu.Lock()
			api := apis[acct.Name]
			mu.Unlock()
			var bodies [][]byte
			now := time.Now()
			for i := range n {
				mu.Lock()
				seq++
				id := strconv.Itoa(1000 + seq)
				mu.Unlock()
				c := platformtest.Call{ID: id, Task: "task-" + strconv.Itoa(i%3), Phone: "1380000" + fmt.Sprintf("%04d", i),
					Status: "answered", Seconds: int64(10 + i), EndedAt: now.Add(-time.Hour + time.Duration(i)*time.Second).Format(time.RFC3339)}
				api.Add(c)
				bodies = append(bodies, platformtest.Webhook(c))
			}
			return bodies
		},
	}
}

// env is an in-process Kafka with a publisher, as the bridge has.
type env struct {
	k   *kafkatest.Cluster
	pub *publish.Publisher
	w   *kafka.Writer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k := kafkatest.New(t)
	if err := broker.EnsureTopics(context.Background(), broker.Config{Brokers: k.Addrs()}, []broker.TopicSpec{
		{Name: event.TopicCallFinished, Partitions: 3}, reconcile.TopicSpec("", 3, 1)}); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	t.Cleanup(func() { _ = w.Close() })
	return &env{k: k, w: w, pub: &publish.Publisher{Writer: w, Validate: true}}
}

// deliver publishes what the webhooks of bodies produce, as the inbound half does.
func (e *env) deliver(t *testing.T, acct *platform.Account, bodies [][]byte) {
	t.Helper()
	v, _ := platform.Lookup(acct.Vendor)
	for _, b := range bodies {
		outs, err := v.ParseWebhook(acct, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.pub.Publish(context.Background(), acct.Vendor, acct.Name, outs); err != nil {
			t.Fatal(err)
		}
	}
}

// webhookIDs are the ids the webhooks of bodies have.
func webhookIDs(t *testing.T, acct *platform.Account, bodies [][]byte) []string {
	t.Helper()
	v, _ := platform.Lookup(acct.Vendor)
	var ids []string
	for _, b := range bodies {
		outs, err := v.ParseWebhook(acct, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			if o.Topic == event.TopicCallFinished {
				ids = append(ids, o.ID)
			}
		}
	}
	return ids
}

// onTopic is what call.finished holds for an account: how often each id is there, and
// which are marked recovered.
type onTopic struct {
	count     map[string]int
	recovered map[string]bool
}

func (e *env) read(t *testing.T, account string, min int) onTopic {
	t.Helper()
	got := onTopic{count: map[string]int{}, recovered: map[string]bool{}}
	for _, m := range kafkatest.ReadAll(t, e.k.Addrs(), event.TopicCallFinished, min, 10*time.Second) {
		var id, acct string
		for _, h := range m.Headers {
			switch h.Key {
			case "ce_id":
				id = string(h.Value)
			case "ce_account":
				acct = string(h.Value)
			}
		}
		if acct != account {
			continue
		}
		got.count[id]++
		var d event.CallFinished
		if err := json.Unmarshal(m.Value, &d); err != nil {
			t.Fatal(err)
		}
		if d.Recovered {
			got.recovered[id] = true
			if err := schemas.Validate("call.finished", m.Value); err != nil {
				t.Errorf("recovered %s: %v", id, err)
			}
		}
	}
	return got
}

// split drops every fourth webhook: it returns the delivered bodies and the dropped.
func split(bodies [][]byte) (delivered, dropped [][]byte) {
	for i, b := range bodies {
		if i%4 == 3 {
			dropped = append(dropped, b)
		} else {
			delivered = append(delivered, b)
		}
	}
	return delivered, dropped
}

// checkRecovered: every call is on the topic exactly once (≤ 1% repeats allowed by the
// contract; these tests allow none), and the dropped ones are marked recovered.
func checkRecovered(t *testing.T, got onTopic, all, dropped []string) {
	t.Helper()
	for _, id := range all {
		if got.count[id] != 1 {
			t.Errorf("call.finished %s is on the topic %d times, want 1", id, got.count[id])
		}
	}
	if len(got.count) != len(all) {
		t.Errorf("%d distinct ids on the topic, want %d", len(got.count), len(all))
	}
	for _, id := range dropped {
		if !got.recovered[id] {
			t.Errorf("call.finished %s (webhook dropped) is not marked recovered", id)
		}
	}
	if len(got.recovered) != len(dropped) {
		t.Errorf("%d recovered events, want %d (calls whose webhooks arrived are not published again)", len(got.recovered), len(dropped))
	}
}

func TestSweepPublishesExactlyTheCallsWhoseWebhooksNeverArrived(t *testing.T) {
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			e := newEnv(t)
			acct, lister := src.account(t, "acct-a")
			bodies := src.finish(t, acct, 60)
			delivered, dropped := split(bodies)
			e.deliver(t, acct, delivered)

			from, to := time.Now().Add(-2*time.Hour), time.Now()
			pub := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished, Accounts: []string{acct.Name}}
			if err := pub.Refresh(context.Background(), from); err != nil {
				t.Fatal(err)
			}
			if pub.Len() != len(delivered) {
				t.Fatalf("published ids read back: %d, want %d", pub.Len(), len(delivered))
			}
			s := &reconcile.Sweep{Account: acct, Lister: lister, Published: pub, Publisher: e.pub}
			c, err := s.Run(context.Background(), from, to, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.Calls != 60 || c.Published != len(dropped) || c.AlreadyPublished != len(delivered) {
				t.Errorf("counts %+v, want 60 calls, %d published, %d already published", c, len(dropped), len(delivered))
			}
			checkRecovered(t, e.read(t, acct.Name, len(bodies)), webhookIDs(t, acct, bodies), webhookIDs(t, acct, dropped))

			// A second sweep of the same window publishes nothing.
			if err := pub.Refresh(context.Background(), from); err != nil {
				t.Fatal(err)
			}
			c, err = s.Run(context.Background(), from, to, "")
			if err != nil || c.Published != 0 {
				t.Errorf("second sweep: %+v, %v; want nothing published", c, err)
			}
			// A fresh reader of the topic (another process) agrees.
			fresh := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished, Accounts: []string{acct.Name}}
			if err := fresh.Refresh(context.Background(), from); err != nil || fresh.Len() != len(bodies) {
				t.Errorf("fresh index: %d ids, %v; want %d", fresh.Len(), err, len(bodies))
			}
		})
	}
}

func TestDryRunProducesNothing(t *testing.T) {
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			e := newEnv(t)
			acct, lister := src.account(t, "acct-a")
			bodies := src.finish(t, acct, 30)
			delivered, dropped := split(bodies)
			e.deliver(t, acct, delivered)
			from := time.Now().Add(-2 * time.Hour)
			pub := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished}
			if err := pub.Refresh(context.Background(), from); err != nil {
				t.Fatal(err)
			}
			var would []string
			s := &reconcile.Sweep{Account: acct, Lister: lister, Published: pub, DryRun: true, Missing: func(o event.Out) { would = append(would, o.ID) }}
			c, err := s.Run(context.Background(), from, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			want := webhookIDs(t, acct, dropped)
			slices.Sort(want)
			slices.Sort(would)
			if !slices.Equal(would, want) || c.Published != len(dropped) {
				t.Errorf("dry run lists %v (count %d), want %v", would, c.Published, want)
			}
			time.Sleep(200 * time.Millisecond)
			if got := e.read(t, acct.Name, 0); len(got.count) != len(delivered) || len(got.recovered) != 0 {
				t.Errorf("dry run produced: %d ids on the topic, %d recovered; want %d and 0", len(got.count), len(got.recovered), len(delivered))
			}
		})
	}
}

// listerFunc adapts a function to platform.CallLister.
type listerFunc func(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error)

func (f listerFunc) ListCalls(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
	return f(ctx, from, to, cursor)
}

func engineConfig(e *env, instance string, accts []*platform.Account, listers map[string]platform.CallLister) reconcile.Config {
	return reconcile.Config{Brokers: e.k.Addrs(), Group: "test-reconcile", Accounts: accts, Listers: listers, Publisher: e.pub,
		Settle: time.Millisecond, RetryWait: 50 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout: 6 * time.Second, InstanceID: instance}
}

func run(t *testing.T, cfg reconcile.Config) (stop func()) {
	t.Helper()
	eng, err := reconcile.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine %s: %v", cfg.InstanceID, err)
			}
			_ = eng.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitRecovered waits until want ids of account are on the topic as recovered.
func waitRecovered(t *testing.T, e *env, account string, want int) onTopic {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := e.read(t, account, 0)
		if len(got.recovered) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestACrashMidSweepResumesWithoutGapsOrRepeats(t *testing.T) {
	if testing.Short() {
		t.Log("runs in -short too: a few seconds")
	}
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			e := newEnv(t)
			acct, lister := src.account(t, "acct-a")
			bodies := src.finish(t, acct, 60)
			delivered, dropped := split(bodies)
			e.deliver(t, acct, delivered)

			// The first instance crashes after its second page was published and
			// checkpointed: its third request never returns.
			var mu sync.Mutex
			var cursors1, cursors2 []string
			crashed := make(chan struct{})
			var crashOnce sync.Once
			first := listerFunc(func(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
				mu.Lock()
				cursors1 = append(cursors1, cursor)
				n := len(cursors1)
				mu.Unlock()
				if n == 3 {
					crashOnce.Do(func() { close(crashed) })
					<-ctx.Done()
					return platform.CallPage{}, ctx.Err()
				}
				return lister.ListCalls(ctx, from, to, cursor)
			})
			stop := run(t, engineConfig(e, "one", []*platform.Account{acct}, map[string]platform.CallLister{acct.Name: first}))
			select {
			case <-crashed:
			case <-time.After(30 * time.Second):
				t.Fatal("the first instance never reached its third page")
			}
			stop()
			if got := e.read(t, acct.Name, 0); len(got.recovered) == 0 || len(got.recovered) >= len(dropped) {
				t.Fatalf("before the crash %d calls were recovered, want some but not all %d", len(got.recovered), len(dropped))
			}

			second := listerFunc(func(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
				mu.Lock()
				cursors2 = append(cursors2, cursor)
				mu.Unlock()
				return lister.ListCalls(ctx, from, to, cursor)
			})
			run(t, engineConfig(e, "two", []*platform.Account{acct}, map[string]platform.CallLister{acct.Name: second}))
			got := waitRecovered(t, e, acct.Name, len(dropped))
			checkRecovered(t, got, webhookIDs(t, acct, bodies), webhookIDs(t, acct, dropped))
			mu.Lock()
			defer mu.Unlock()
			if len(cursors2) == 0 || cursors2[0] != cursors1[2] {
				t.Errorf("the second instance started at cursor %q, want the first's checkpoint %q (cursors %q then %q)", first0(cursors2), cursors1[2], cursors1, cursors2)
			}
		})
	}
}

func first0(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

func TestTwoInstancesNeverSweepOneAccountTogether(t *testing.T) {
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			e := newEnv(t)
			type span struct {
				instance   string
				start, end time.Time
			}
			var mu sync.Mutex
			spans := map[string][]span{} // account → ListCalls calls
			var accts []*platform.Account
			all, dropped := map[string][]string{}, map[string][]string{}
			base := map[string]platform.CallLister{}
			for i := range 4 {
				acct, lister := src.account(t, "acct-"+strconv.Itoa(i))
				bodies := src.finish(t, acct, 40)
				d, x := split(bodies)
				e.deliver(t, acct, d)
				all[acct.Name], dropped[acct.Name] = webhookIDs(t, acct, bodies), webhookIDs(t, acct, x)
				accts = append(accts, acct)
				base[acct.Name] = lister
			}
			listers := func(instance string) map[string]platform.CallLister {
				out := map[string]platform.CallLister{}
				for name, l := range base {
					out[name] = listerFunc(func(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
						start := time.Now()
						time.Sleep(30 * time.Millisecond) // a slow vendor, so overlaps would show
						p, err := l.ListCalls(ctx, from, to, cursor)
						mu.Lock()
						spans[name] = append(spans[name], span{instance, start, time.Now()})
						mu.Unlock()
						return p, err
					})
				}
				return out
			}
			run(t, engineConfig(e, "one", accts, listers("one")))
			run(t, engineConfig(e, "two", accts, listers("two")))
			for _, a := range accts {
				got := waitRecovered(t, e, a.Name, len(dropped[a.Name]))
				checkRecovered(t, got, all[a.Name], dropped[a.Name])
			}
			mu.Lock()
			defer mu.Unlock()
			for name, ss := range spans {
				for i, a := range ss {
					for _, b := range ss[i+1:] {
						if a.instance != b.instance && a.start.Before(b.end) && b.start.Before(a.end) {
							t.Errorf("account %s: instances %s and %s listed its calls at the same time", name, a.instance, b.instance)
						}
					}
				}
			}
		})
	}
}

func TestPublishedKeepsWhatTheWidestWindowNeeds(t *testing.T) {
	platformtest.Register()
	e := newEnv(t)
	src := calllab()
	acct, _ := src.account(t, "acct-a")
	bodies := src.finish(t, acct, 5)
	e.deliver(t, acct, bodies)
	ids := webhookIDs(t, acct, bodies)
	p := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished, Skew: time.Millisecond}
	ctx := context.Background()
	if err := p.Refresh(ctx, time.Now().Add(-time.Hour)); err != nil || p.Len() != 5 {
		t.Fatalf("wide: %d ids, %v", p.Len(), err)
	}
	// A window that starts after the records were produced forgets them…
	if err := p.Refresh(ctx, time.Now().Add(time.Second)); err != nil || p.Len() != 0 {
		t.Fatalf("narrow: %d ids, %v", p.Len(), err)
	}
	// …and a wider one again reads the topic from its start rather than trust the tail.
	if err := p.Refresh(ctx, time.Now().Add(-time.Hour)); err != nil || p.Len() != 5 || !p.Has(ids[0]) {
		t.Fatalf("wide again: %d ids, %v", p.Len(), err)
	}
	if p.Has("not-an-id") || p.Has(event.CallFinishedID(platformtest.Name, "acct-a", "never")) {
		t.Error("Has reports an id that was never published")
	}
}

// Two accounts' sweeps share the index and refresh it with windows a moment apart; a
// refresh from the slightly earlier start reads the topic again, and while it does, the
// other sweep must still see every id (it once saw none, and republished everything).
func TestPublishedNeverForgetsWhileASlightlyWiderRefreshRereads(t *testing.T) {
	platformtest.Register()
	e := newEnv(t)
	src := calllab()
	acct, _ := src.account(t, "acct-a")
	bodies := src.finish(t, acct, 20)
	e.deliver(t, acct, bodies)
	ids := webhookIDs(t, acct, bodies)
	p := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished}
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	if err := p.Refresh(ctx, base); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 1; i <= 20 && err == nil; i++ {
			err = p.Refresh(ctx, base.Add(-time.Duration(i)*time.Millisecond))
		}
		done <- err
	}()
	for {
		for _, id := range ids {
			if !p.Has(id) {
				t.Fatalf("published id %s is missing while another window refreshes", id)
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
	}
}

func TestAPagePublishedButNotCheckpointedIsNotPublishedAgain(t *testing.T) {
	for _, src := range sources() {
		t.Run(src.name, func(t *testing.T) {
			e := newEnv(t)
			acct, lister := src.account(t, "acct-a")
			bodies := src.finish(t, acct, 40)
			delivered, dropped := split(bodies)
			e.deliver(t, acct, delivered)
			from, to := time.Now().Add(-2*time.Hour), time.Now()
			ctx := context.Background()

			// The process dies after publishing its second page, before recording it.
			pub := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished}
			if err := pub.Refresh(ctx, from); err != nil {
				t.Fatal(err)
			}
			var saved string
			pages := 0
			crash := errors.New("crash")
			s := &reconcile.Sweep{Account: acct, Lister: lister, Published: pub, Publisher: e.pub,
				Checkpoint: func(_ context.Context, next string, _ reconcile.Counts) error {
					if pages++; pages == 2 {
						return crash
					}
					saved = next
					return nil
				}}
			if _, err := s.Run(ctx, from, to, ""); !errors.Is(err, crash) {
				t.Fatalf("first run: %v", err)
			}

			// Another process resumes at the recorded cursor with its own view of the topic.
			fresh := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished}
			if err := fresh.Refresh(ctx, from); err != nil {
				t.Fatal(err)
			}
			s = &reconcile.Sweep{Account: acct, Lister: lister, Published: fresh, Publisher: e.pub}
			if _, err := s.Run(ctx, from, to, saved); err != nil {
				t.Fatal(err)
			}
			checkRecovered(t, e.read(t, acct.Name, len(bodies)), webhookIDs(t, acct, bodies), webhookIDs(t, acct, dropped))
		})
	}
}

func TestAVendorFailureIsRetriedThenStopsTheSweep(t *testing.T) {
	platformtest.Register()
	e := newEnv(t)
	src := calllab()
	acct, lister := src.account(t, "acct-a")
	src.finish(t, acct, 5)
	pub := &reconcile.Published{Brokers: e.k.Addrs(), Topic: event.TopicCallFinished}
	failures := 2
	flaky := listerFunc(func(ctx context.Context, from, to time.Time, cursor string) (platform.CallPage, error) {
		if failures > 0 {
			failures--
			return platform.CallPage{}, &platform.Error{Endpoint: "calls", HTTPStatus: 503, Retryable: true}
		}
		return lister.ListCalls(ctx, from, to, cursor)
	})
	s := &reconcile.Sweep{Account: acct, Lister: flaky, Published: pub, Publisher: e.pub, Backoff: time.Millisecond}
	if c, err := s.Run(context.Background(), time.Now().Add(-2*time.Hour), time.Now(), ""); err != nil || c.Published != 5 {
		t.Errorf("two 503s then answers: %+v, %v; want 5 published", c, err)
	}
	refused := listerFunc(func(context.Context, time.Time, time.Time, string) (platform.CallPage, error) {
		return platform.CallPage{}, &platform.Error{Endpoint: "calls", HTTPStatus: 401}
	})
	s = &reconcile.Sweep{Account: acct, Lister: refused, Published: pub, Publisher: e.pub, Backoff: time.Millisecond}
	if _, err := s.Run(context.Background(), time.Now().Add(-2*time.Hour), time.Now(), ""); err == nil || !strings.Contains(err.Error(), "acct-a") {
		t.Errorf("401: %v, want the sweep to stop naming the account", err)
	}
}
