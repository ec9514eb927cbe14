// Package command defines the command data callbridge consumes and the result it
// publishes. Field names and types here are the contract described by schemas/*.json.
package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// CloudEvent types of commands as platforms produce them. The topic already says what
// a record is; these are the types `callbridge send` uses.
const (
	TypeTaskCreate     = "callbridge.task.create"
	TypeCustomerImport = "callbridge.customer.import"
	TypeCallSingle     = "callbridge.call.single"
	TypeTaskControl    = "callbridge.task.control"
)

// ID is a vendor id. Commands may carry it as a JSON string or number; it is always
// written back as a string.
type ID string

// UnmarshalJSON accepts "123" and 123.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id must be a string or a number: %w", err)
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return fmt.Errorf("id must be an integer: %w", err)
	}
	*id = ID(n.String())
	return nil
}

// Window is a daily time window, "HH:mm" to "HH:mm".
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Script names the dialogue a task or call uses, in the ids of the account's vendor
// (each vendor's ScriptSchema says which). It is kept as the command's JSON; the
// vendor's client reads it.
type Script = json.RawMessage

// Redial is the automatic redial policy.
type Redial struct {
	Enabled bool         `json:"enabled"`
	Rules   []RedialRule `json:"rules,omitempty"`
}

// RedialRule redials calls that ended with Status, Times times, IntervalMinutes apart.
type RedialRule struct {
	Status          string `json:"status"` // a call.finished status value
	Times           int    `json:"times"`
	IntervalMinutes int    `json:"intervalMinutes"`
}

// Customer is one person to call.
type Customer struct {
	Name       string            `json:"name"`
	Phone      string            `json:"phone"`
	Properties map[string]string `json:"properties,omitempty"`
}

// TaskCreate is the data of a task.create command.
type TaskCreate struct {
	Account     string     `json:"account"`
	Name        string     `json:"name"`
	Mode        string     `json:"mode"`              // "manual" or "scheduled"
	StartAt     string     `json:"startAt,omitempty"` // RFC 3339
	DailyWindow *Window    `json:"dailyWindow,omitempty"`
	BreakWindow *Window    `json:"breakWindow,omitempty"`
	CallerIDs   []ID       `json:"callerIds"`
	LineType    string     `json:"lineType"` // "mobile", "landline", "unfixed"
	Concurrency int        `json:"concurrency,omitempty"`
	Script      Script     `json:"script"`
	Redial      *Redial    `json:"redial,omitempty"`
	Remark      string     `json:"remark,omitempty"`
	Customers   []Customer `json:"customers,omitempty"`
	Start       bool       `json:"start,omitempty"`
	// CompanyID is the vendor company to act for, where one key operates several
	// (an ISV key); empty means the account's own.
	CompanyID ID `json:"companyId,omitempty"`
}

// CustomerImport is the data of a customer.import command.
type CustomerImport struct {
	Account   string     `json:"account"`
	TaskID    ID         `json:"taskId"`
	Customers []Customer `json:"customers"`
	CompanyID ID         `json:"companyId,omitempty"`
}

// CallSingle is the data of a call.single command.
//
// It names either a number (Phone, with Script) or an existing task's customer
// (TaskID and CustomerID, where the vendor can call one).
type CallSingle struct {
	Account    string            `json:"account"`
	Phone      string            `json:"phone,omitempty"`
	Name       string            `json:"name,omitempty"`
	Variables  map[string]string `json:"variables,omitempty"`
	Script     Script            `json:"script,omitempty"`
	TaskID     ID                `json:"taskId,omitempty"`
	CustomerID ID                `json:"customerId,omitempty"`
	CompanyID  ID                `json:"companyId,omitempty"`
}

// Task control actions.
const (
	ActionStart          = "start"
	ActionPause          = "pause"
	ActionStop           = "stop"
	ActionDelete         = "delete"
	ActionSetConcurrency = "set_concurrency"
)

// TaskControl is the data of a task.control command.
type TaskControl struct {
	Account     string `json:"account"`
	TaskID      ID     `json:"taskId"`
	Action      string `json:"action"`
	Concurrency int    `json:"concurrency,omitempty"`
	CompanyID   ID     `json:"companyId,omitempty"`
}

// TaskUpdate is the data of a task.update command: the fields present are changed,
// the absent ones kept.
type TaskUpdate struct {
	Account     string  `json:"account"`
	TaskID      ID      `json:"taskId"`
	Name        *string `json:"name,omitempty"`
	StartAt     *string `json:"startAt,omitempty"` // RFC 3339
	DailyWindow *Window `json:"dailyWindow,omitempty"`
	BreakWindow *Window `json:"breakWindow,omitempty"`
	CallerIDs   []ID    `json:"callerIds,omitempty"`
	LineType    *string `json:"lineType,omitempty"`
	Concurrency *int    `json:"concurrency,omitempty"`
	Redial      *Redial `json:"redial,omitempty"`
	Remark      *string `json:"remark,omitempty"`
	CompanyID   ID      `json:"companyId,omitempty"`
}

// BlacklistAdd is the data of a blacklist.add command.
type BlacklistAdd struct {
	Account   string `json:"account"`
	Phone     string `json:"phone"`
	Name      string `json:"name,omitempty"`
	Remark    string `json:"remark,omitempty"`
	CompanyID ID     `json:"companyId,omitempty"`
}

// Outcomes.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Error codes of a failed command.
const (
	ErrInvalidCommand      = "invalid_command"
	ErrUnknownAccount      = "unknown_account"
	ErrUnsupportedByVendor = "unsupported_by_vendor"
	ErrVendorRejected      = "vendor_rejected"
	ErrAuthFailed          = "auth_failed"
	ErrRetriesExhausted    = "retries_exhausted"
	ErrOutcomeUnknown      = "outcome_unknown"
)

// Imported counts customers the vendor accepted and rejected.
type Imported struct {
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
}

// Error says why a command failed. As an error it is a settled failure: the command
// ends with this in its failed result.
type Error struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	VendorCode *int   `json:"vendorCode"`
	Retryable  bool   `json:"retryable"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Result is the data of callbridge.command.succeeded / callbridge.command.failed.
type Result struct {
	CommandID        string    `json:"commandId"`
	CommandType      string    `json:"commandType"` // the command's topic name, e.g. "task.create"
	Account          string    `json:"account"`
	Vendor           string    `json:"vendor"`
	Outcome          string    `json:"outcome"`
	TaskID           string    `json:"taskId,omitempty"`
	CallID           string    `json:"callId,omitempty"`
	Imported         *Imported `json:"imported,omitempty"`
	Error            *Error    `json:"error,omitempty"`
	Attempts         int       `json:"attempts"`
	VendorRequestIDs []string  `json:"vendorRequestIds"`
}
