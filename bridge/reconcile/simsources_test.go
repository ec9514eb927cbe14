package reconcile_test

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// simulated is one vendor's simulator as a source: the simulator places real
// (simulated) calls and POSTs their webhooks to a receiver, which finish hands to the
// test to deliver or drop. Its clock runs half an hour behind, so that the calls end
// within the lookback but not so recently that a sweep leaves them to their webhooks
// (and it accepts the client's real-time signatures with an hour's skew).
type simulated struct {
	mu   sync.Mutex
	envs map[string]*simAccount
	// start runs the simulator for an account and returns the account, its client and
	// what a task.create for it needs.
	start func(t *testing.T, name string, fc *clock.Fake, webhookURL string) (*platform.Account, platform.Client, command.TaskCreate, func(int64) core.State)
}

type simAccount struct {
	fc     *clock.Fake
	rcv    *simtest.Receiver
	client platform.Client
	create command.TaskCreate
	state  func(int64) core.State
	seen   int
	tasks  int
}

func (s *simulated) source(name string) source {
	return source{
		name: name,
		account: func(t *testing.T, account string) (*platform.Account, platform.CallLister) {
			fc := clock.NewFake(time.Now().Add(-30 * time.Minute))
			rcv := simtest.NewReceiver(t)
			acct, client, create, state := s.start(t, account, fc, rcv.URL)
			acct.ReconcileInterval, acct.ReconcileLookback = time.Hour, 2*time.Hour
			s.mu.Lock()
			s.envs[account] = &simAccount{fc: fc, rcv: rcv, client: client, create: create, state: state}
			s.mu.Unlock()
			return acct, client.(platform.CallLister)
		},
		finish: func(t *testing.T, acct *platform.Account, n int) [][]byte {
			// Tasks of at most 20 calls: the vendors page by task, so the tests that
			// need several pages get them without hundreds of calls.
			var calls [][]byte
			for n > 0 {
				k := min(n, 20)
				calls = append(calls, s.runTask(t, acct, k)...)
				n -= k
			}
			return calls
		},
	}
}

// runTask has the simulator call n customers of a new task and returns the webhook
// bodies of their calls.
func (s *simulated) runTask(t *testing.T, acct *platform.Account, n int) [][]byte {
	t.Helper()
	s.mu.Lock()
	e := s.envs[acct.Name]
	e.tasks++
	s.mu.Unlock()
	create := e.create
	create.Name = "回访-" + acct.Name + "-" + strconv.Itoa(e.tasks)
	var cs []command.Customer
	for i := range n {
		cs = append(cs, command.Customer{Name: "客户" + strconv.Itoa(i), Phone: "139" + strconv.Itoa(10000000+e.tasks*1000+i)})
	}
	simtest.RunTask(t, e.client, create, cs, e.fc, time.Second, func(id int64) bool { return e.state(id) == core.StateCompleted })
	// Every call's webhook, whatever else the vendor sent along.
	v, _ := platform.Lookup(acct.Vendor)
	for want := e.seen + n; ; want++ {
		bodies := e.rcv.Wait(t, want)[e.seen:]
		var calls [][]byte
		for _, b := range bodies {
			outs, err := v.ParseWebhook(acct, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if o.Topic == event.TopicCallFinished {
					calls = append(calls, b)
				}
			}
		}
		if len(calls) >= n {
			e.seen += len(bodies)
			return calls
		}
	}
}

func simulatedSources() []source {
	by := &simulated{envs: map[string]*simAccount{}, start: func(t *testing.T, name string, fc *clock.Fake, webhookURL string) (*platform.Account, platform.Client, command.TaskCreate, func(int64) core.State) {
		sim := byaisim.New(byaisim.Config{AppKey: "k", AppSecret: "s", CompanyID: 1,
			Options: core.Options{WebhookURL: webhookURL, Clock: fc, TimeScale: 0.001, CallDuration: 30 * time.Second, Seed: 11, MaxSkew: time.Hour}})
		srv := httptest.NewServer(sim)
		t.Cleanup(func() { srv.Close(); sim.Close() })
		settings, err := byai.Vendor{}.Configure(map[string]string{"COMPANY_ID": "1"})
		if err != nil {
			t.Fatal(err)
		}
		acct := &platform.Account{Name: name, Vendor: byai.Name, AppKey: "k", AppSecret: "s", BaseURL: srv.URL, Settings: settings}
		create := command.TaskCreate{Mode: "manual", LineType: "mobile", CallerIDs: []command.ID{"1"}, Concurrency: 5,
			Script: command.Script(`{"robotDefId":"14","sceneDefId":"34","sceneRecordId":"34"}`)}
		return acct, byai.Vendor{}.NewClient(acct, srv.Client()), create, func(id int64) core.State { tk, _ := sim.Task(id); return tk.State }
	}}
	yw := func(api string) *simulated {
		return &simulated{envs: map[string]*simAccount{}, start: func(t *testing.T, name string, fc *clock.Fake, webhookURL string) (*platform.Account, platform.Client, command.TaskCreate, func(int64) core.State) {
			sim := yiwisesim.New(yiwisesim.Config{AppKey: "k", AppSecret: "s", TenantSign: "t", API: api,
				Options: core.Options{WebhookURL: webhookURL, Clock: fc, TimeScale: 0.001, CallDuration: 30 * time.Second, Seed: 11, MaxSkew: time.Hour}})
			srv := httptest.NewServer(sim)
			t.Cleanup(func() { srv.Close(); sim.Close() })
			settings, err := yiwise.Vendor{}.Configure(map[string]string{"TENANT_SIGN": "t", "API_VERSION": "v1", "API": api})
			if err != nil {
				t.Fatal(err)
			}
			acct := &platform.Account{Name: name, Vendor: yiwise.Name, AppKey: "k", AppSecret: "s", BaseURL: srv.URL, Settings: settings}
			create := command.TaskCreate{Mode: "manual", LineType: "mobile", CallerIDs: []command.ID{"276"}, Concurrency: 5,
				Script: command.Script(`{"dialogFlowId":"136"}`)}
			return acct, yiwise.Vendor{}.NewClient(acct, srv.Client()), create, func(id int64) core.State { tk, _ := sim.Task(id); return tk.State }
		}}
	}
	return []source{by.source("byaisim"), yw("v1").source("yiwisesim-v1"), yw("job").source("yiwisesim-job")}
}
