package outbound

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
)

// A resumed command starts from the entry a previous run left: Steps holds the vendor
// calls that returned, Pending the one in flight when it stopped. Each case seeds one
// such entry and pins what the next run asks of the vendor.
func TestAResumedTaskCreateContinuesAfterItsLastRecordedStep(t *testing.T) {
	done2 := ledger.Steps{TaskID: "t-1", Created: true, ImportedBatches: 2, Accepted: 3}
	tests := []struct {
		name    string
		pending string
		steps   ledger.Steps
		// create and find script the vendor (fakeClient's); nil is its default.
		create func(n int) (platform.Reply, error)
		find   func(n int) ([]string, error)
		// calls are the vendor calls the run makes; code the error code, "" success.
		calls  []string
		code   string
		taskID string
		says   string
	}{
		{
			name:   "a fresh saga creates, imports in batches and starts",
			calls:  []string{"create", "import:t-1:2", "import:t-1:1", "start:t-1"},
			taskID: "t-1",
		},
		{
			name:    "a resumed create asks the vendor and creates the task it does not have",
			pending: ledger.PendingCreate,
			calls:   []string{"find", "create", "import:t-1:2", "import:t-1:1", "start:t-1"},
			taskID:  "t-1",
		},
		{
			name:    "a resumed create that finds its task does not create it again",
			pending: ledger.PendingCreate,
			find:    func(int) ([]string, error) { return []string{"t-9"}, nil },
			calls:   []string{"find", "import:t-9:2", "import:t-9:1", "start:t-9"},
			taskID:  "t-9",
		},
		{
			name:    "a resumed create that finds several tasks of its name ends outcome_unknown",
			pending: ledger.PendingCreate,
			find:    func(int) ([]string, error) { return []string{"t-8", "t-9"}, nil },
			calls:   []string{"find"},
			code:    command.ErrOutcomeUnknown,
			says:    "during create",
		},
		{
			name:    "a resumed find asks the vendor again instead of creating",
			pending: ledger.PendingFind,
			find:    func(int) ([]string, error) { return []string{"t-9"}, nil },
			calls:   []string{"find", "import:t-9:2", "import:t-9:1", "start:t-9"},
			taskID:  "t-9",
		},
		{
			name:    "a resumed create whose question fails ends outcome_unknown without creating",
			pending: ledger.PendingCreate,
			find:    func(int) ([]string, error) { return nil, vendorErr(http.StatusForbidden) },
			calls:   []string{"find"},
			code:    command.ErrOutcomeUnknown,
			says:    "asking the vendor failed",
		},
		{
			name:    "a resumed import batch ends outcome_unknown without importing again",
			pending: ledger.PendingImport(1),
			steps:   ledger.Steps{TaskID: "t-1", Created: true, ImportedBatches: 1, Accepted: 2},
			code:    command.ErrOutcomeUnknown,
			says:    "import:1",
		},
		{
			name:   "a saga with batches recorded imports only the rest",
			steps:  ledger.Steps{TaskID: "t-1", Created: true, ImportedBatches: 1, Accepted: 2},
			calls:  []string{"import:t-1:1", "start:t-1"},
			taskID: "t-1",
		},
		{
			name:    "a resumed start is repeated, and nothing before it",
			pending: ledger.PendingStart,
			steps:   done2,
			calls:   []string{"start:t-1"},
			taskID:  "t-1",
		},
		{
			name:   "a saga whose start was recorded calls nothing more",
			steps:  ledger.Steps{TaskID: "t-1", Created: true, ImportedBatches: 2, Accepted: 3, Started: true},
			taskID: "t-1",
		},
		{
			name:   "a create whose reply was lost is found on the retry, not created twice",
			create: func(int) (platform.Reply, error) { return platform.Reply{}, vendorErr(http.StatusBadGateway) },
			find:   func(int) ([]string, error) { return []string{"t-5"}, nil },
			calls:  []string{"create", "find", "import:t-5:2", "import:t-5:1", "start:t-5"},
			taskID: "t-5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{create: tt.create, find: tt.find}
			h := newHarness(t, client)
			seeded := tt.pending != "" || tt.steps != (ledger.Steps{})
			if seeded {
				h.ledger.seed(ledger.Entry{CommandID: "tc", CommandType: event.TopicTaskCreate, Account: testAccount,
					State: ledger.StateStarted, Pending: tt.pending, Steps: tt.steps})
			}
			r := h.settled(t, event.TopicTaskCreate, "tc", taskCreate("campaign", 3, true))
			wantCalls(t, client, tt.calls...)
			if tt.code != "" {
				wantError(t, r, tt.code)
				if !strings.Contains(r.Error.Message, tt.says) {
					t.Errorf("message %q, want it to mention %q", r.Error.Message, tt.says)
				}
				return
			}
			wantSuccess(t, r)
			if r.TaskID != tt.taskID || r.Imported == nil || r.Imported.Accepted != 3 {
				t.Errorf("result task %q imported %+v, want task %s and 3 accepted", r.TaskID, r.Imported, tt.taskID)
			}
		})
	}
}

func TestEveryVendorCallIsCheckpointedBeforeItIsMade(t *testing.T) {
	client := &fakeClient{}
	h := newHarness(t, client)
	h.settled(t, event.TopicTaskCreate, "tc", taskCreate("campaign", 3, true))
	want := []string{ledger.PendingCreate, ledger.PendingImport(0), ledger.PendingImport(1), ledger.PendingStart, ledger.PendingNone}
	if got := h.ledger.pendings(); !slices.Equal(got, want) {
		t.Errorf("pending values written %q, want %q", got, want)
	}
}

func TestAResumedCustomerImport(t *testing.T) {
	tests := []struct {
		name    string
		pending string
		steps   ledger.Steps
		calls   []string
		code    string
	}{
		{name: "a fresh import sends vendor-sized batches", calls: []string{"import:3:2", "import:3:1"}},
		{name: "a resumed first batch ends outcome_unknown", pending: ledger.PendingImport(0), steps: ledger.Steps{TaskID: "3"}, code: command.ErrOutcomeUnknown},
		{name: "a resumed later batch ends outcome_unknown", pending: ledger.PendingImport(1), steps: ledger.Steps{TaskID: "3", ImportedBatches: 1, Accepted: 2}, code: command.ErrOutcomeUnknown},
		{name: "recorded batches are not sent again", steps: ledger.Steps{TaskID: "3", ImportedBatches: 1, Accepted: 2}, calls: []string{"import:3:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, client)
			if tt.pending != "" || tt.steps != (ledger.Steps{}) {
				h.ledger.seed(ledger.Entry{CommandID: "ci", CommandType: event.TopicCustomerImport, Account: testAccount,
					State: ledger.StateStarted, Pending: tt.pending, Steps: tt.steps})
			}
			r := h.settled(t, event.TopicCustomerImport, "ci", customerImport("3", 3))
			wantCalls(t, client, tt.calls...)
			if r.TaskID != "3" || r.Imported == nil {
				t.Errorf("result task %q imported %+v, want task 3 with counts", r.TaskID, r.Imported)
			}
			if tt.code != "" {
				wantError(t, r, tt.code)
				return
			}
			wantSuccess(t, r)
			if r.Imported.Accepted != 3 {
				t.Errorf("accepted %d, want 3", r.Imported.Accepted)
			}
		})
	}
}

func TestAResumedSingleCallIsNeverPlacedAgain(t *testing.T) {
	tests := []struct {
		name    string
		pending string
		calls   []string
		code    string
	}{
		{name: "a fresh call is placed", calls: []string{"call:13900000001"}},
		{name: "a call in flight when the last run stopped ends outcome_unknown", pending: ledger.PendingCall, code: command.ErrOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, fakeCaller{fakeClient: client})
			if tt.pending != "" {
				h.ledger.seed(ledger.Entry{CommandID: "cs", CommandType: event.TopicCallSingle, Account: testAccount,
					State: ledger.StateStarted, Pending: tt.pending})
			}
			r := h.settled(t, event.TopicCallSingle, "cs", callSingle("13900000001"))
			wantCalls(t, client, tt.calls...)
			if tt.code != "" {
				wantError(t, r, tt.code)
				return
			}
			wantSuccess(t, r)
			if r.CallID != "call-1" || !slices.Equal(r.VendorRequestIDs, []string{"rq-call"}) {
				t.Errorf("result call %q request ids %q", r.CallID, r.VendorRequestIDs)
			}
		})
	}
}

func TestASingleCallOnAVendorWithoutTheAbilityIsUnsupported(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "a client that is not a SingleCaller", typ: event.TopicCallSingle, data: callSingle("13900000005"), client: &fakeClient{},
			code: command.ErrUnsupportedByVendor, says: "single-call", vendor: testVendor},
	})
}

func TestAResumedTaskControlIsRepeated(t *testing.T) {
	actions := []string{command.ActionStart, command.ActionPause, command.ActionStop, command.ActionDelete, command.ActionSetConcurrency}
	for _, action := range actions {
		t.Run("resumed "+action, func(t *testing.T) {
			client := &fakeClient{}
			h := newHarness(t, client)
			h.ledger.seed(ledger.Entry{CommandID: "ctl", CommandType: event.TopicTaskControl, Account: testAccount,
				State: ledger.StateStarted, Pending: action, Steps: ledger.Steps{TaskID: "t-4"}})
			r := h.settled(t, event.TopicTaskControl, "ctl", taskControl("4", action))
			wantSuccess(t, r)
			wantCalls(t, client, action+":4")
			if r.TaskID != "4" {
				t.Errorf("task %q, want 4", r.TaskID)
			}
		})
	}
}

func TestADeleteAnswering404IsDoneOnlyWhenResumed(t *testing.T) {
	tests := []struct {
		name, pending, action string
		code                  string
	}{
		// The interrupted run's delete went through: the task is gone, as asked.
		{name: "a resumed delete answering 404 is done", pending: command.ActionDelete, action: command.ActionDelete},
		{name: "a first delete answering 404 is rejected", action: command.ActionDelete, code: command.ErrVendorRejected},
		{name: "a resumed pause answering 404 is rejected", pending: command.ActionPause, action: command.ActionPause, code: command.ErrVendorRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &fakeClient{control: func(int, *command.TaskControl) (platform.Reply, error) {
				return platform.Reply{}, vendorErr(http.StatusNotFound)
			}}
			h := newHarness(t, client)
			if tt.pending != "" {
				h.ledger.seed(ledger.Entry{CommandID: "del", CommandType: event.TopicTaskControl, Account: testAccount,
					State: ledger.StateStarted, Pending: tt.pending})
			}
			r := h.settled(t, event.TopicTaskControl, "del", taskControl("4", tt.action))
			wantCalls(t, client, tt.action+":4")
			if !slices.Equal(r.VendorRequestIDs, []string{"rq-404"}) {
				t.Errorf("request ids %q, want the 404's", r.VendorRequestIDs)
			}
			if tt.code == "" {
				wantSuccess(t, r)
				return
			}
			wantError(t, r, tt.code)
			if r.Error.VendorCode == nil || *r.Error.VendorCode != http.StatusNotFound {
				t.Errorf("vendor code %v, want 404", r.Error.VendorCode)
			}
		})
	}
}

func TestAFailedStepEndsTheSagaAndReportsWhatWasDone(t *testing.T) {
	reject := func() (platform.Reply, error) { return platform.Reply{}, vendorErr(http.StatusPreconditionFailed) }
	tests := []struct {
		name     string
		client   *fakeClient
		calls    []string
		taskID   string
		accepted int
	}{
		{
			name:   "a rejected create imports and starts nothing",
			client: &fakeClient{create: func(int) (platform.Reply, error) { return reject() }},
			calls:  []string{"create"},
		},
		{
			name: "a rejected batch keeps the counts of the batches before it",
			client: &fakeClient{imports: func(n int, cs []command.Customer) (platform.Reply, error) {
				if n == 2 {
					return reject()
				}
				return platform.Reply{Accepted: len(cs)}, nil
			}},
			calls:    []string{"create", "import:t-1:2", "import:t-1:1"},
			taskID:   "t-1",
			accepted: 2,
		},
		{
			name:     "a rejected start keeps the task and its imports",
			client:   &fakeClient{control: func(int, *command.TaskControl) (platform.Reply, error) { return reject() }},
			calls:    []string{"create", "import:t-1:2", "import:t-1:1", "start:t-1"},
			taskID:   "t-1",
			accepted: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.client)
			r := h.settled(t, event.TopicTaskCreate, "tc", taskCreate("campaign", 3, true))
			wantError(t, r, command.ErrVendorRejected)
			wantCalls(t, tt.client, tt.calls...)
			accepted := 0
			if r.Imported != nil {
				accepted = r.Imported.Accepted
			}
			if r.TaskID != tt.taskID || accepted != tt.accepted {
				t.Errorf("result task %q accepted %d, want %q and %d", r.TaskID, accepted, tt.taskID, tt.accepted)
			}
		})
	}
}
