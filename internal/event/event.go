// Package event defines the normalized events callbridge publishes (data version v1)
// and how their deterministic ids are derived. Field names and types here are the
// contract described by schemas/*.json.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// CloudEvent types.
const (
	TypeCallFinished     = "callbridge.call.finished"
	TypeTaskStatus       = "callbridge.task.status"
	TypeIntentChanged    = "callbridge.intent.changed"
	TypeSMSSent          = "callbridge.sms.sent"
	TypeCommandSucceeded = "callbridge.command.succeeded"
	TypeCommandFailed    = "callbridge.command.failed"
)

// Logical topic names, before CALLBRIDGE_TOPIC_PREFIX is applied.
const (
	TopicCallFinished   = "call.finished"
	TopicTaskStatus     = "task.status"
	TopicIntentChanged  = "intent.changed"
	TopicSMSSent        = "sms.sent"
	TopicTaskCreate     = "task.create"
	TopicCustomerImport = "customer.import"
	TopicCallSingle     = "call.single"
	TopicTaskControl    = "task.control"
	TopicTaskUpdate     = "task.update"
	TopicBlacklistAdd   = "blacklist.add"
	TopicCommandResult  = "command.result"
	TopicDLQ            = "callbridge.dlq"
	TopicLedger         = "callbridge.ledger"
	// TopicReconcile is reconciliation's progress (internal, compacted): one record
	// per account with its current sweep window and vendor cursor.
	TopicReconcile = "callbridge.reconcile"
)

// Out is one event ready to be bound to a CloudEvent and produced. Source, vendor,
// account, dataschema and trace extensions are filled in by the publisher.
type Out struct {
	// Topic is the logical topic (TopicCallFinished, ...).
	Topic string
	// Type is the CloudEvent type (TypeCallFinished, ...).
	Type string
	// ID is the deterministic CloudEvent id (see ID).
	ID string
	// Subject is the CloudEvent subject, e.g. "call/1" or "task/43".
	Subject string
	// Time is when it happened at the vendor.
	Time time.Time
	// Key is the Kafka key and partitionkey extension.
	Key string
	// Data is marshalled as the event's JSON data.
	Data any
	// Phones lists the phone numbers found in Data (including raw), so the publisher
	// can apply the configured phone privacy everywhere they appear. It is a function
	// because finding them walks the whole payload, which only a non-plain privacy
	// policy needs; nil means none.
	Phones func() []string
	// RawUTF8 says the vendor object Data carries is known to be valid UTF-8 (its
	// parser checked the whole body), so the publisher need not check it again.
	// Set only where Data's raw is that parsed text: false costs only the check.
	RawUTF8 bool
}

// ID derives a deterministic event id from the vendor, the account, the event kind and
// the identity of the vendor record the event is about (its ids, and for a change the
// value it changed to). It never reads the rest of the record: every path that yields
// the same record — a retried webhook, another documented body shape, the query APIs —
// yields the same id, so consumers can deduplicate on it. See CallFinishedID,
// IntentChangedID and TaskStatusID for each kind's identity.
func ID(vendor, account, kind string, identity ...string) string {
	// The parts, each ended by a zero byte, hashed at once from one buffer (on the
	// stack for typical ids): every event of every webhook gets one.
	in := make([]byte, 0, 128)
	for _, s := range [...]string{vendor, account, kind} {
		in = append(append(in, s...), 0)
	}
	for _, s := range identity {
		in = append(append(in, s...), 0)
	}
	sum := sha256.Sum256(in)
	// Formatted as a UUID (version 8, "custom") so consumers that expect UUIDs accept it.
	sum[6] = (sum[6] & 0x0f) | 0x80
	sum[8] = (sum[8] & 0x3f) | 0x80
	var u [36]byte
	hex.Encode(u[0:8], sum[0:4])
	u[8] = '-'
	hex.Encode(u[9:13], sum[4:6])
	u[13] = '-'
	hex.Encode(u[14:18], sum[6:8])
	u[18] = '-'
	hex.Encode(u[19:23], sum[8:10])
	u[23] = '-'
	hex.Encode(u[24:36], sum[10:16])
	return string(u[:])
}

// CallFinishedID is the id of the call.finished event of the vendor's call callID: the
// call id alone is the record's identity (not its end time, which not every query
// answer carries), so the call's webhook, in any body shape, and the call read back
// through the vendor's query APIs give the same id.
func CallFinishedID(vendor, account, callID string) string {
	return ID(vendor, account, TopicCallFinished, callID)
}

// IntentChangedID is the id of the intent.changed event that sets call callID's intent
// to level (the normalized level, or the vendor's value when it names none).
func IntentChangedID(vendor, account, callID, level string) string {
	return ID(vendor, account, TopicIntentChanged, callID, level)
}

// SMSSentID is the id of the sms.sent event of the text messages the vendor sent after
// call callID: a call's messages arrive in one record, so the call id is its identity.
func SMSSentID(vendor, account, callID string) string {
	return ID(vendor, account, TopicSMSSent, callID)
}

// TaskStatusID is the id of the task.status event of one status change of task taskID:
// status is the vendor's status value, and change whatever else the vendor tells one
// change from another (e.g. its modification time; "" when it sends none). Two
// different changes of one task get two ids, two deliveries of one change one id.
func TaskStatusID(vendor, account, taskID, status, change string) string {
	if change == "" {
		return ID(vendor, account, TopicTaskStatus, taskID, status)
	}
	return ID(vendor, account, TopicTaskStatus, taskID, status, change)
}

// Call status values.
const (
	StatusAnswered          = "answered"
	StatusRefused           = "refused"
	StatusUnreachable       = "unreachable"
	StatusCallerUnavailable = "caller_unavailable"
	StatusVacantNumber      = "vacant_number"
	StatusPowerOff          = "power_off"
	StatusBusy              = "busy"
	StatusOutOfService      = "out_of_service"
	StatusNoAnswer          = "no_answer"
	StatusCallerArrears     = "caller_arrears"
	StatusCallLoss          = "call_loss"
	StatusBlacklisted       = "blacklisted"
	StatusSystemError       = "system_error"
	StatusUnknown           = "unknown"
)

// Customer is the called (or calling, for inbound calls) person.
type Customer struct {
	ID    *string `json:"id"`
	Name  *string `json:"name"`
	Phone *string `json:"phone"`
}

// Utterance is one turn of a call transcript.
type Utterance struct {
	Speaker string `json:"speaker"` // "robot" or "customer"
	Text    string `json:"text"`
	StartMs *int64 `json:"startMs"`
	EndMs   *int64 `json:"endMs"`
}

// CallFinished is the data of callbridge.call.finished.
type CallFinished struct {
	Vendor               string      `json:"vendor"`
	Account              string      `json:"account"`
	Direction            string      `json:"direction"` // "outbound" or "inbound"
	CallID               string      `json:"callId"`
	TaskID               *string     `json:"taskId"`
	TaskName             *string     `json:"taskName"`
	CompanyID            *string     `json:"companyId"`
	Customer             Customer    `json:"customer"`
	CallerNumber         *string     `json:"callerNumber"`
	Status               string      `json:"status"`
	VendorStatus         string      `json:"vendorStatus"`
	Answered             bool        `json:"answered"`
	IntentLevel          *string     `json:"intentLevel"` // A-F or null
	IntentLabel          *string     `json:"intentLabel"`
	Tags                 []string    `json:"tags"`
	Concerns             []string    `json:"concerns"`
	DurationSeconds      int64       `json:"durationSeconds"`
	ChatRounds           int64       `json:"chatRounds"`
	StartedAt            *string     `json:"startedAt"` // RFC 3339 with the vendor's offset
	EndedAt              *string     `json:"endedAt"`
	HangupBy             *string     `json:"hangupBy"` // "robot", "customer" or null
	RecordingURL         *string     `json:"recordingUrl"`
	CustomerRecordingURL *string     `json:"customerRecordingUrl"`
	Transcript           []Utterance `json:"transcript"`
	Attempt              int         `json:"attempt"`
	// Recovered marks a call read back from the vendor's query APIs after its webhook
	// never arrived (reconciliation); absent on webhook events.
	Recovered bool            `json:"recovered,omitempty"`
	Raw       json.RawMessage `json:"raw,omitempty"`
}

// Task status values.
const (
	TaskNotStarted     = "not_started"
	TaskRunning        = "running"
	TaskCompleted      = "completed"
	TaskScheduling     = "scheduling"
	TaskPausedByUser   = "paused_by_user"
	TaskPausedBySystem = "paused_by_system"
	TaskTerminated     = "terminated"
	TaskQueued         = "queued"
	TaskAIExpired      = "ai_expired"
	TaskLineArrears    = "line_arrears"
	TaskSMSArrears     = "sms_arrears"
	TaskUnknown        = "unknown"
)

// TaskStatus is the data of callbridge.task.status.
type TaskStatus struct {
	Vendor       string          `json:"vendor"`
	Account      string          `json:"account"`
	TaskID       string          `json:"taskId"`
	TaskName     *string         `json:"taskName"`
	CompanyID    *string         `json:"companyId"`
	Status       string          `json:"status"`
	VendorStatus string          `json:"vendorStatus"`
	Finished     bool            `json:"finished"`
	Raw          json.RawMessage `json:"raw,omitempty"`
}

// IntentChanged is the data of callbridge.intent.changed.
type IntentChanged struct {
	Vendor      string          `json:"vendor"`
	Account     string          `json:"account"`
	CallID      string          `json:"callId"`
	CompanyID   *string         `json:"companyId"`
	IntentLevel *string         `json:"intentLevel"`
	IntentLabel *string         `json:"intentLabel"`
	ChangedBy   string          `json:"changedBy"` // "manual"
	Raw         json.RawMessage `json:"raw,omitempty"`
}

// SMS is one text message the vendor sent.
type SMS struct {
	TemplateID   *string `json:"templateId"`
	TemplateName *string `json:"templateName"`
	Signature    *string `json:"signature"`
	Type         *string `json:"type"`
	// Text is the message as sent, variables filled in.
	Text string `json:"text"`
}

// SMSSent is the data of callbridge.sms.sent: the messages sent after one call.
type SMSSent struct {
	Vendor    string          `json:"vendor"`
	Account   string          `json:"account"`
	CallID    string          `json:"callId"`
	TaskID    *string         `json:"taskId"`
	TaskName  *string         `json:"taskName"`
	CompanyID *string         `json:"companyId"`
	Customer  Customer        `json:"customer"`
	Messages  []SMS           `json:"messages"`
	Raw       json.RawMessage `json:"raw,omitempty"`
}

// Str returns a pointer to s, or nil when s is empty: absent vendor values become null.
func Str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RawCarrier is event data that carries the vendor's object verbatim. Publishers
// marshal the rest and splice raw in, rather than have encoding/json re-scan and
// compact a payload that is already valid JSON.
type RawCarrier interface {
	// WithoutRaw returns a shallow copy of the data with Raw cleared, and Raw.
	WithoutRaw() (any, json.RawMessage)
}

// RawAppender is event data that carries the vendor's object and appends its JSON
// without it (JSONAppender): the publisher writes it with no copy of the data.
type RawAppender interface {
	JSONAppender
	// RawJSON is the vendor's object, as WithoutRaw returns it.
	RawJSON() json.RawMessage
}

// RawJSON implements RawAppender.
func (c *CallFinished) RawJSON() json.RawMessage { return c.Raw }

// RawJSON implements RawAppender.
func (s *TaskStatus) RawJSON() json.RawMessage { return s.Raw }

// RawJSON implements RawAppender.
func (i *IntentChanged) RawJSON() json.RawMessage { return i.Raw }

// RawJSON implements RawAppender.
func (m *SMSSent) RawJSON() json.RawMessage { return m.Raw }

// WithoutRaw implements RawCarrier.
func (c *CallFinished) WithoutRaw() (any, json.RawMessage) {
	cp := *c
	cp.Raw = nil
	return &cp, c.Raw
}

// WithoutRaw implements RawCarrier.
func (s *TaskStatus) WithoutRaw() (any, json.RawMessage) {
	cp := *s
	cp.Raw = nil
	return &cp, s.Raw
}

// WithoutRaw implements RawCarrier.
func (i *IntentChanged) WithoutRaw() (any, json.RawMessage) {
	cp := *i
	cp.Raw = nil
	return &cp, i.Raw
}

// WithoutRaw implements RawCarrier.
func (m *SMSSent) WithoutRaw() (any, json.RawMessage) {
	cp := *m
	cp.Raw = nil
	return &cp, m.Raw
}
