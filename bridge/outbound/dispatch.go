package outbound

import (
	"context"
	"encoding/json"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// dispatcher ends the chain: it decodes the data as its command type and runs that
// command's saga against the account's client.
type dispatcher struct {
	// Store records each saga's checkpoints.
	Store Store
	// Retry shapes retries of each vendor call.
	Retry RetryPolicy
	// Telemetry counts retries; nil records nothing.
	Telemetry *telemetry.Telemetry
}

// saga runs one command type, given its session and raw data.
type saga func(ctx context.Context, s *session, data []byte) error

// sagas by command type (logical topic).
var sagas = map[string]saga{
	event.TopicTaskCreate:     sagaOf((*session).taskCreate),
	event.TopicCustomerImport: sagaOf((*session).customerImport),
	event.TopicCallSingle:     sagaOf((*session).callSingle),
	event.TopicTaskControl:    sagaOf((*session).taskControl),
	event.TopicTaskUpdate:     sagaOf((*session).taskUpdate),
	event.TopicBlacklistAdd:   sagaOf((*session).blacklistAdd),
}

// sagaOf decodes the data into T before running; data that does not decode settles
// the command as invalid_command.
func sagaOf[T any](run func(s *session, ctx context.Context, c *T) error) saga {
	return func(ctx context.Context, s *session, data []byte) error {
		var c T
		if err := json.Unmarshal(data, &c); err != nil {
			return &command.Error{Code: command.ErrInvalidCommand, Message: err.Error()}
		}
		return run(s, ctx, &c)
	}
}

func (d dispatcher) Handle(ctx context.Context, c *Command) error {
	run, ok := sagas[c.Type]
	if !ok {
		return &command.Error{Code: command.ErrInvalidCommand, Message: "unknown command topic " + c.Type}
	}
	s := &session{e: &c.Entry, acct: c.Account, client: c.Client, store: d.Store, retry: d.Retry, tel: d.Telemetry}
	// Every command may name the vendor company it acts for; the client reads it from
	// ctx where a method's arguments do not carry the command (imports, a saga's start).
	var company struct {
		CompanyID command.ID `json:"companyId"`
	}
	if json.Unmarshal(c.Data, &company) == nil {
		ctx = platform.WithCompanyID(ctx, company.CompanyID)
	}
	return run(ctx, s, c.Data)
}
