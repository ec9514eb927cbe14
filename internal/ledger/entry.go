package ledger

import (
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/command"
)

// States of an Entry.
const (
	// StateStarted: the command was taken up; Steps and Pending say how far it got.
	StateStarted = "started"
	// StateDone: the command ended; Result is what was (and is again) published.
	StateDone = "done"
)

// Pending values: the vendor call that was in flight when the entry was written.
// A task.control step is recorded under its action name ("pause", "delete", …).
const (
	PendingNone   = ""
	PendingCreate = "create"
	// PendingFind is the lookup that resolves an interrupted create.
	PendingFind   = "find"
	PendingStart  = "start"
	PendingCall   = "call"
	pendingImport = "import:"
)

// PendingImport is the Pending value of import batch n (0-based).
func PendingImport(n int) string { return pendingImport + strconv.Itoa(n) }

// ImportBatch reports the batch number of a PendingImport value.
func ImportBatch(pending string) (int, bool) {
	s, ok := strings.CutPrefix(pending, pendingImport)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Steps is the checkpoint of a task.create saga (create → import in batches → start).
// A step is recorded only after its vendor call returned, so a resumed saga skips
// exactly the steps that are here.
type Steps struct {
	TaskID          string `json:"taskId,omitempty"`
	Created         bool   `json:"created,omitempty"`
	ImportedBatches int    `json:"importedBatches,omitempty"`
	Accepted        int    `json:"accepted,omitempty"`
	Rejected        int    `json:"rejected,omitempty"`
	Started         bool   `json:"started,omitempty"`
	// CallID is the call a call.single command placed.
	CallID string `json:"callId,omitempty"`
}

// Entry is the ledger record of one command; it is the JSON value of a record on the
// ledger topic whose key is CommandID.
type Entry struct {
	CommandID   string `json:"commandId"`
	CommandType string `json:"commandType,omitempty"`
	Account     string `json:"account,omitempty"`
	State       string `json:"state"`
	Steps       Steps  `json:"steps"`
	// Pending is written before a vendor call and cleared together with the
	// checkpoint after it. Found non-empty after a restart it means the call may or
	// may not have happened: ask the vendor, or end with outcome_unknown — never
	// repeat it blindly.
	Pending          string          `json:"pending,omitempty"`
	Attempts         int             `json:"attempts,omitempty"`
	VendorRequestIDs []string        `json:"vendorRequestIds,omitempty"`
	Result           *command.Result `json:"result,omitempty"`
	// UpdatedAt and Owner are stamped by Put: when and by which instance the entry
	// was last written.
	UpdatedAt time.Time `json:"updatedAt"`
	Owner     string    `json:"owner,omitempty"`
	// Partition is the ledger partition of the entry: the partition of the command
	// record it belongs to (the ledger is co-partitioned with the command topics).
	// Put writes there; Get fills it in. It is where the record is, not in it.
	Partition int `json:"-"`
}

// Done reports whether the command ended and has a result to publish again.
func (e Entry) Done() bool { return e.State == StateDone }

// clone deep-copies e so callers can never mutate what the ledger holds (and race
// with readers of the map).
func (e Entry) clone() Entry {
	e.VendorRequestIDs = cloneStrings(e.VendorRequestIDs)
	if e.Result != nil {
		r := *e.Result
		r.VendorRequestIDs = cloneStrings(r.VendorRequestIDs)
		if r.Imported != nil {
			im := *r.Imported
			r.Imported = &im
		}
		if r.Error != nil {
			er := *r.Error
			if er.VendorCode != nil {
				vc := *er.VendorCode
				er.VendorCode = &vc
			}
			r.Error = &er
		}
		e.Result = &r
	}
	return e
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
