package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/ledger"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/schemas"
)

// executor runs commands against vendors, checkpointing every step in the ledger.
type executor struct {
	cfg     Config
	clients map[string]platform.Client
	now     func() time.Time
}

func newExecutor(cfg Config) *executor {
	x := &executor{cfg: cfg, clients: map[string]platform.Client{}, now: time.Now}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	for name, acct := range cfg.Accounts {
		v, ok := platform.Lookup(acct.Vendor)
		if !ok {
			continue
		}
		rt := cfg.Telemetry.Transport(base, acct.Vendor)
		rt = rateLimited(rt, acct.RateLimit)
		x.clients[name] = v.NewClient(acct, &http.Client{Transport: rt})
	}
	return x
}

// run executes the command in ev (of logical type typ) at most once and returns its
// settled ledger entry. A command settled before is not executed again: its entry is
// returned as recorded. An error means nothing could be recorded.
func (x *executor) run(ctx context.Context, typ string, ev *cloudevents.Event) (ledger.Entry, error) {
	id := ev.ID()
	e, seen := x.cfg.Ledger.Get(id)
	if seen && e.State == ledger.StateDone {
		return e, nil
	}
	if !seen {
		e = ledger.Entry{CommandID: id, CommandType: typ, State: ledger.StateStarted, Owner: x.cfg.InstanceID}
	}
	data := ev.Data()
	var head struct {
		Account string `json:"account"`
	}
	_ = json.Unmarshal(data, &head)
	e.Account = head.Account
	if err := schemas.Validate(typ, data); err != nil {
		return x.finish(ctx, &e, "", nil, &command.Error{Code: command.ErrInvalidCommand, Message: err.Error()})
	}
	acct, ok := x.cfg.Accounts[head.Account]
	client := x.clients[head.Account]
	if !ok || client == nil {
		return x.finish(ctx, &e, "", nil, &command.Error{Code: command.ErrUnknownAccount, Message: fmt.Sprintf("account %q is not configured", head.Account)})
	}
	s := &session{x: x, e: &e, acct: acct, client: client}
	var cerr *command.Error
	var err error
	switch typ {
	case event.TopicTaskCreate:
		var c command.TaskCreate
		if err = decode(data, &c); err == nil {
			cerr, err = s.taskCreate(ctx, &c)
		}
	case event.TopicCustomerImport:
		var c command.CustomerImport
		if err = decode(data, &c); err == nil {
			e.Steps.TaskID = string(c.TaskID)
			cerr, err = s.importCustomers(ctx, string(c.TaskID), c.Customers)
		}
	case event.TopicCallSingle:
		var c command.CallSingle
		if err = decode(data, &c); err == nil {
			cerr, err = s.callSingle(ctx, &c)
		}
	case event.TopicTaskControl:
		var c command.TaskControl
		if err = decode(data, &c); err == nil {
			e.Steps.TaskID = string(c.TaskID)
			cerr, err = s.taskControl(ctx, &c)
		}
	default:
		cerr = &command.Error{Code: command.ErrInvalidCommand, Message: "unknown command topic " + typ}
	}
	var invalid *decodeError
	if errors.As(err, &invalid) {
		cerr, err = &command.Error{Code: command.ErrInvalidCommand, Message: invalid.Error()}, nil
	}
	if err != nil {
		return e, err
	}
	return x.finish(ctx, &e, acct.Vendor, acct, cerr)
}

type decodeError struct{ err error }

func (d *decodeError) Error() string { return d.err.Error() }

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return &decodeError{err}
	}
	return nil
}

// finish settles the entry with its result and records it.
func (x *executor) finish(ctx context.Context, e *ledger.Entry, vendor string, acct *platform.Account, cerr *command.Error) (ledger.Entry, error) {
	if vendor == "" {
		if a, ok := x.cfg.Accounts[e.Account]; ok {
			vendor = a.Vendor
		}
	}
	r := &command.Result{
		CommandID:        e.CommandID,
		CommandType:      e.CommandType,
		Account:          e.Account,
		Vendor:           vendor,
		Outcome:          command.Succeeded,
		TaskID:           e.Steps.TaskID,
		CallID:           e.Steps.CallID,
		Attempts:         e.Attempts,
		VendorRequestIDs: append([]string{}, e.VendorRequestIDs...),
		Error:            cerr,
	}
	if e.CommandType == event.TopicCustomerImport || e.Steps.ImportedBatches > 0 {
		r.Imported = &command.Imported{Accepted: e.Steps.Accepted, Rejected: e.Steps.Rejected}
	}
	if cerr != nil {
		r.Outcome = command.Failed
	}
	e.State = ledger.StateDone
	e.Pending = ""
	e.Result = r
	e.UpdatedAt = x.now().UTC()
	if err := x.cfg.Ledger.Put(ctx, *e); err != nil {
		return *e, fmt.Errorf("outbound: record result of %s: %w", e.CommandID, err)
	}
	// Publish what was recorded (Put stamps the time), so that a repeat of the command
	// publishes the identical result.
	if rec, ok := x.cfg.Ledger.Get(e.CommandID); ok && rec.Done() {
		return rec, nil
	}
	return *e, nil
}

// session is one command's execution against one account.
type session struct {
	x      *executor
	e      *ledger.Entry
	acct   *platform.Account
	client platform.Client
}

// checkpoint records the entry; pending names the step about to call the vendor.
func (s *session) checkpoint(ctx context.Context, pending string) error {
	s.e.Pending = pending
	s.e.UpdatedAt = s.x.now().UTC()
	if err := s.x.cfg.Ledger.Put(ctx, *s.e); err != nil {
		return fmt.Errorf("outbound: checkpoint %s of %s: %w", pending, s.e.CommandID, err)
	}
	return nil
}

// step makes one vendor call (with retries) under a pending checkpoint. It returns a
// command error for a settled failure and err when nothing could be recorded.
func (s *session) step(ctx context.Context, name string, call func(ctx context.Context, attempt int) (platform.Reply, error)) (platform.Reply, *command.Error, error) {
	if err := s.checkpoint(ctx, name); err != nil {
		return platform.Reply{}, nil, err
	}
	reply, attempts, err := s.x.cfg.Retry.do(ctx, s.x.cfg.Telemetry, s.acct.Vendor, name, call)
	s.e.Attempts = max(s.e.Attempts, attempts)
	if reply.RequestID != "" {
		s.e.VendorRequestIDs = append(s.e.VendorRequestIDs, reply.RequestID)
	}
	var ve *platform.Error
	if errors.As(err, &ve) && ve.RequestID != "" {
		s.e.VendorRequestIDs = append(s.e.VendorRequestIDs, ve.RequestID)
	}
	if err != nil && ctx.Err() != nil {
		// Stopped mid-call: the vendor may or may not have acted. Leave the step
		// pending; whoever runs the command next resolves it.
		return reply, nil, fmt.Errorf("outbound: %s interrupted: %w", name, ctx.Err())
	}
	if err != nil {
		return reply, classify(err), nil
	}
	s.e.Pending = ""
	return reply, nil, nil
}

// classify turns a final vendor failure into the result's error.
func classify(err error) *command.Error {
	ce := &command.Error{Message: err.Error()}
	var ve *platform.Error
	switch {
	case errors.Is(err, platform.ErrUnsupported):
		ce.Code = command.ErrUnsupportedByVendor
	case errors.Is(err, platform.ErrInvalidInput):
		ce.Code = command.ErrInvalidCommand
	case errors.As(err, &ve):
		code := ve.Code
		if code == 0 {
			code = ve.HTTPStatus
		}
		if code != 0 {
			ce.VendorCode = &code
		}
		switch {
		case ve.Retryable:
			ce.Code, ce.Retryable = command.ErrRetriesExhausted, true
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			ce.Code = command.ErrAuthFailed
		default:
			ce.Code = command.ErrVendorRejected
		}
	default:
		ce.Code, ce.Retryable = command.ErrRetriesExhausted, true
	}
	return ce
}

func unknownOutcome(step string) *command.Error {
	return &command.Error{
		Code:    command.ErrOutcomeUnknown,
		Message: fmt.Sprintf("a previous run stopped during %s after the vendor may have received it; it was not repeated", step),
	}
}

// taskCreate runs the saga create → import batches → start, resuming after the last
// recorded step.
func (s *session) taskCreate(ctx context.Context, c *command.TaskCreate) (*command.Error, error) {
	st := &s.e.Steps
	if p := s.e.Pending; p == ledger.PendingCreate || p == ledger.PendingFind {
		// A find pending is a previous resume that was itself interrupted while asking.
		// The create call may have reached the vendor: ask it rather than create twice.
		ids, cerr, err := s.findTasks(ctx, c.Name)
		if err != nil || cerr != nil {
			return cerr, err
		}
		switch len(ids) {
		case 0:
		case 1:
			st.TaskID, st.Created = ids[0], true
		default:
			return unknownOutcome(ledger.PendingCreate), nil
		}
	}
	// An interrupted import batch is resolved (as outcome_unknown) in importCustomers.
	if !st.Created {
		reply, cerr, err := s.step(ctx, ledger.PendingCreate, func(ctx context.Context, attempt int) (platform.Reply, error) {
			if attempt > 1 {
				// A failed attempt may still have created the task.
				if ids, err := s.client.FindTasks(ctx, c.Name); err == nil && len(ids) == 1 {
					return platform.Reply{ID: ids[0]}, nil
				}
			}
			return s.client.CreateTask(ctx, c)
		})
		if err != nil || cerr != nil {
			return cerr, err
		}
		st.TaskID, st.Created = reply.ID, true
	}
	if len(c.Customers) > 0 {
		if cerr, err := s.importCustomers(ctx, st.TaskID, c.Customers); err != nil || cerr != nil {
			return cerr, err
		}
	}
	if c.Start && !st.Started {
		if _, cerr, err := s.step(ctx, ledger.PendingStart, func(ctx context.Context, _ int) (platform.Reply, error) {
			return s.client.ControlTask(ctx, &command.TaskControl{TaskID: command.ID(st.TaskID), Action: command.ActionStart})
		}); err != nil || cerr != nil {
			return cerr, err
		}
		st.Started = true
	}
	return nil, nil
}

func (s *session) findTasks(ctx context.Context, name string) ([]string, *command.Error, error) {
	var ids []string
	_, cerr, err := s.step(ctx, ledger.PendingFind, func(ctx context.Context, _ int) (platform.Reply, error) {
		var err error
		ids, err = s.client.FindTasks(ctx, name)
		return platform.Reply{}, err
	})
	if cerr != nil {
		// Could not ask: the create stays unknown rather than being repeated.
		cerr = unknownOutcome(ledger.PendingCreate)
		cerr.Message += "; asking the vendor failed"
	}
	// The create stays pending until the caller settles it.
	s.e.Pending = ledger.PendingCreate
	return ids, cerr, err
}

// importCustomers imports in vendor-sized batches, checkpointing after each batch.
func (s *session) importCustomers(ctx context.Context, taskID string, customers []command.Customer) (*command.Error, error) {
	st := &s.e.Steps
	if _, ok := ledger.ImportBatch(s.e.Pending); ok {
		return unknownOutcome(s.e.Pending), nil
	}
	size := s.client.ImportBatchSize()
	for i := st.ImportedBatches; i*size < len(customers); i++ {
		batch := customers[i*size : min((i+1)*size, len(customers))]
		reply, cerr, err := s.step(ctx, ledger.PendingImport(i), func(ctx context.Context, _ int) (platform.Reply, error) {
			return s.client.ImportCustomers(ctx, taskID, batch)
		})
		if err != nil || cerr != nil {
			return cerr, err
		}
		st.ImportedBatches = i + 1
		st.Accepted += reply.Accepted
		st.Rejected += reply.Rejected
	}
	return nil, nil
}

func (s *session) callSingle(ctx context.Context, c *command.CallSingle) (*command.Error, error) {
	if s.e.Pending == ledger.PendingCall {
		return unknownOutcome(ledger.PendingCall), nil
	}
	caller, ok := s.client.(platform.SingleCaller)
	if !ok {
		return &command.Error{Code: command.ErrUnsupportedByVendor, Message: s.acct.Vendor + " has no single-call API"}, nil
	}
	reply, cerr, err := s.step(ctx, ledger.PendingCall, func(ctx context.Context, _ int) (platform.Reply, error) {
		return caller.SingleCall(ctx, c)
	})
	if err != nil || cerr != nil {
		return cerr, err
	}
	s.e.Steps.CallID = reply.ID
	return nil, nil
}

// taskControl repeats an interrupted control call: the desired end state is the same,
// and a delete that already happened answers 404, which then counts as done.
func (s *session) taskControl(ctx context.Context, c *command.TaskControl) (*command.Error, error) {
	resumedDelete := s.e.Pending == command.ActionDelete
	_, cerr, err := s.step(ctx, c.Action, func(ctx context.Context, _ int) (platform.Reply, error) {
		return s.client.ControlTask(ctx, c)
	})
	if resumedDelete && cerr != nil && cerr.VendorCode != nil && *cerr.VendorCode == http.StatusNotFound {
		return nil, err
	}
	return cerr, err
}
