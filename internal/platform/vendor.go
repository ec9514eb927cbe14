// Package platform is the one seam between callbridge and a calling platform.
//
// Each platform lives in its own package under internal/platform/ that implements Vendor and registers itself; the two halves of the bridge, the
// configuration and the CLI only ever see this package. A vendor describes itself: the
// account settings it needs (Settings), its part of the command schemas (ScriptSchema),
// and, through small optional interfaces found by type assertion (as net/http finds
// http.Flusher), the abilities it has beyond the core: WebhookVerifier, HeaderSigner on
// the Vendor, SingleCaller on its Client. Adding a platform means adding one package
// and one Register line.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

// Account is one configured vendor account: the settings every vendor has, and the
// vendor's own settings as its Configure parsed them. The zero value of each optional
// field means the documented default.
type Account struct {
	// Name is the account's name in webhook URLs and commands, e.g. "east-main".
	Name string
	// Vendor is the registered vendor name.
	Vendor string
	// AppKey and AppSecret are the API credentials. Never logged.
	AppKey    string
	AppSecret string
	// BaseURL is the vendor API root, e.g. "https://api.byrobot.cn".
	BaseURL string
	// Paths overrides endpoint paths by endpoint name (see each vendor's Endpoints).
	Paths map[string]string
	// WebhookToken authenticates webhooks (header X-Callbridge-Token or query token).
	WebhookToken string
	// AllowCIDRs, when not empty, is the only set of source addresses accepted for webhooks.
	AllowCIDRs []netip.Prefix
	// Location is the vendor's time zone for its local times; nil means Asia/Shanghai.
	Location *time.Location
	// RateLimit is the maximum vendor API requests per second; 0 means unlimited.
	RateLimit float64
	// Timeout bounds one vendor HTTP request; 0 means 10s.
	Timeout time.Duration
	// ReconcileInterval is how often the account's finished calls are read back from
	// the vendor's query APIs (CallLister) to publish those whose webhooks never
	// arrived; 0 means never.
	ReconcileInterval time.Duration
	// ReconcileLookback is how far back a reconciliation sweep looks; 0 means 48h.
	ReconcileLookback time.Duration
	// Settings is what the vendor's Configure returned for this account's own settings
	// (Vendor.Settings); only the vendor's package reads it. nil means every default.
	Settings any
}

// Loc returns the account's time zone, Asia/Shanghai by default.
func (a *Account) Loc() *time.Location {
	if a.Location != nil {
		return a.Location
	}
	return shanghai()
}

var shanghai = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
})

// Path returns the account's override for endpoint name, or def.
func (a *Account) Path(name, def string) string {
	if p, ok := a.Paths[name]; ok && p != "" {
		return p
	}
	return def
}

// Vendor is everything the bridge needs from every calling platform.
type Vendor interface {
	// Name is the registered name, as in CALLBRIDGE_ACCOUNT_<NAME>_VENDOR.
	Name() string
	// Settings declares the account settings this vendor adds to the common ones.
	Settings() []Setting
	// Configure reads the values of Settings (keyed by Setting.Name, defaults applied,
	// required ones present, types checked) into what Account.Settings holds for the
	// vendor's client and parser. An error names the setting.
	Configure(values map[string]string) (any, error)
	// ScriptSchema is the JSON Schema (draft 2020-12) of the vendor's "script" object in
	// task.create and call.single: the ids of its dialogue.
	ScriptSchema() json.RawMessage
	// ParseWebhook turns one webhook body into the events it means. An error wrapping
	// ErrUnparseable (bad JSON, unknown dataType) sends the body to the dead-letter topic.
	// The events may share body's bytes (their raw record): the caller leaves body
	// unchanged while it uses them.
	ParseWebhook(acct *Account, body []byte) ([]event.Out, error)
	// NewClient returns an API client for acct that sends requests through hc.
	NewClient(acct *Account, hc *http.Client) Client
}

// WebhookVerifier is a Vendor whose webhooks carry authentication of their own (e.g.
// a signature over the body), checked beyond the bridge's token and allow-list.
type WebhookVerifier interface {
	// VerifyWebhook returns an error wrapping ErrUnauthorized for a webhook that fails.
	VerifyWebhook(acct *Account, body []byte, now time.Time) error
}

// SealedWebhooks is a Vendor whose accounts may receive webhooks signed and encrypted
// (a WeChat-Work-style signed envelope). For an account it seals, the signature authenticates a
// POST in place of the bridge's token, and GET /webhooks/{account} is the vendor's
// URL-verification handshake.
type SealedWebhooks interface {
	// Sealed reports whether acct's webhooks arrive sealed.
	Sealed(acct *Account) bool
	// OpenWebhook verifies and decrypts one POST, query and body as received, and
	// returns the plain body. An error wraps ErrUnauthorized when the request is not
	// authentic (401, nothing written), or ErrUnparseable when it is authentic but
	// cannot be opened (dead-lettered, so nothing is lost).
	OpenWebhook(acct *Account, query url.Values, body []byte) ([]byte, error)
	// Handshake answers the URL verification: the reply body, or an error wrapping
	// ErrUnauthorized.
	Handshake(acct *Account, query url.Values) ([]byte, error)
}

// HeaderSigner is a Vendor that can print its signed request headers, for
// `callbridge sign` (support and debugging).
type HeaderSigner interface {
	// SignInputs are the inputs beyond the app key and secret, as settings: Name
	// "TENANT_SIGN" is the flag --tenant-sign.
	SignInputs() []Setting
	// SignHeaders returns the headers in the vendor's spelling and order. in holds
	// APP_KEY, APP_SECRET and every SignInputs name (defaults applied).
	SignHeaders(in map[string]string, now time.Time) ([]Header, error)
}

// Header is one signed request header.
type Header struct{ Name, Value string }

// Client calls one vendor account's API. Each method makes exactly one attempt at each
// vendor request it sends; retries are the caller's policy.
type Client interface {
	// CreateTask creates a task and returns its vendor id.
	CreateTask(ctx context.Context, c *command.TaskCreate) (Reply, error)
	// FindTasks lists the vendor ids of tasks named name, so that a step whose outcome
	// was never recorded can be resolved by asking the vendor instead of repeating it.
	FindTasks(ctx context.Context, name string) ([]string, error)
	// ImportBatchSize is the most customers ImportCustomers accepts in one call.
	ImportBatchSize() int
	// ImportCustomers adds at most ImportBatchSize customers to a task.
	ImportCustomers(ctx context.Context, taskID string, customers []command.Customer) (Reply, error)
	// ControlTask starts, pauses, stops or deletes c.TaskID, or sets its concurrency.
	// An action it does not know wraps ErrInvalidInput.
	ControlTask(ctx context.Context, c *command.TaskControl) (Reply, error)
}

// SingleCaller is a Client that can place one call now (call.single). A vendor whose
// client is not one answers call.single with unsupported_by_vendor.
type SingleCaller interface {
	SingleCall(ctx context.Context, c *command.CallSingle) (Reply, error)
}

// TaskUpdater is a Client that can change a task (task.update). A field the vendor
// cannot change is an error wrapping ErrUnsupported, returned before any call.
type TaskUpdater interface {
	UpdateTask(ctx context.Context, c *command.TaskUpdate) (Reply, error)
}

// Blacklister is a Client that can add a number to the account's blacklist
// (blacklist.add).
type Blacklister interface {
	AddBlacklist(ctx context.Context, c *command.BlacklistAdd) (Reply, error)
}

// Querier is a Client that answers the vendor's query APIs (`callbridge vendor`).
type Querier interface {
	// Queries lists what can be asked, for help and validation.
	Queries() []QuerySpec
	// Query asks one of them. An unknown name or wrong arguments wrap ErrInvalidInput.
	Query(ctx context.Context, name string, args []string) (*Table, error)
}

// QuerySpec describes one query: "phones", "task ID", …
type QuerySpec struct {
	// Name is what the user types, e.g. "calls".
	Name string
	// Args names the arguments, e.g. []string{"TASK_ID"}.
	Args []string
	// Doc says what it answers, in one line.
	Doc string
}

// FindQuery returns the query named name among specs, once args has the count it
// takes. Errors wrap ErrInvalidInput.
func FindQuery(specs []QuerySpec, name string, args []string) (QuerySpec, error) {
	for _, q := range specs {
		if q.Name != name {
			continue
		}
		if len(args) != len(q.Args) {
			return q, fmt.Errorf("%w: %s takes %s", ErrInvalidInput, name, strings.Join(append([]string{name}, q.Args...), " "))
		}
		return q, nil
	}
	return QuerySpec{}, fmt.Errorf("%w: unknown query %q", ErrInvalidInput, name)
}

// Table is a query's answer: rows for people, and the vendor's own JSON for machines.
type Table struct {
	Columns []string
	Rows    [][]string
	// JSON is the answer's data as the vendor sent it (all pages, as one JSON array
	// when the query pages).
	JSON json.RawMessage
}

// CallLister is a Client that reads finished calls back (reconciliation): each as the
// event its webhook would have produced, with the same id, key and data.
type CallLister interface {
	// ListCalls returns one page of the calls that ended within [from, to) and the
	// cursor of the next page; cursor "" is the first page, and a returned "" means
	// there is no more. A cursor is opaque, and stays valid across restarts (it is
	// stored on Kafka), so it must not depend on process state.
	ListCalls(ctx context.Context, from, to time.Time, cursor string) (CallPage, error)
}

// CallPage is one page of ListCalls.
type CallPage struct {
	// Calls are call.finished events, as ParseWebhook would have made them.
	Calls []event.Out
	// Next is the cursor of the following page; "" at the end.
	Next string
}

// Reply is what a successful vendor call returned.
type Reply struct {
	// ID is the id the vendor returned (task id, call id), if any.
	ID string
	// RequestID is the vendor's request id, if it sends one.
	RequestID string
	// Accepted and Rejected count imported customers, where the vendor reports them.
	Accepted, Rejected int
	// Status is a task's vendor status, for calls that read one.
	Status string
}

var (
	// ErrUnauthorized marks a webhook that failed vendor authentication.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnparseable marks a webhook body that can never become an event.
	ErrUnparseable = errors.New("unparseable webhook")
	// ErrUnsupported marks a command, or a part of one, the vendor has no API for.
	ErrUnsupported = errors.New("unsupported by vendor")
	// ErrInvalidInput marks command data the vendor's request cannot carry (an id that
	// is not a number, a time that does not parse); it is never sent.
	ErrInvalidInput = errors.New("invalid input for vendor")
)

// Error is a vendor API failure. Behaviour depends on Retryable.
type Error struct {
	// Endpoint is the endpoint name, e.g. "task/createTask".
	Endpoint string
	// HTTPStatus is the HTTP status, 0 for transport errors.
	HTTPStatus int
	// Code is the vendor envelope's code, 0 when there was no envelope.
	Code int
	// Message is the vendor's resultMsg or the transport error text.
	Message string
	// RequestID is the vendor's request id, if any.
	RequestID string
	// Retryable says whether the same request may succeed later.
	Retryable bool
	// Err is the underlying transport error, if any.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Endpoint, e.Err)
	case e.Code != 0:
		return fmt.Sprintf("%s: vendor code %d: %s", e.Endpoint, e.Code, e.Message)
	default:
		return fmt.Sprintf("%s: HTTP %d: %s", e.Endpoint, e.HTTPStatus, e.Message)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// RetryableCode classifies a vendor envelope code or HTTP status: 5xx and 429 are
// worth retrying; 401, 403, 404, 412 and every other 4xx are not.
func RetryableCode(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests
}

// IsRetryable reports whether err is a vendor error worth retrying. Transport errors
// and timeouts are retryable; context cancellation is not.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Retryable
	}
	return false
}

var (
	mu       sync.RWMutex
	registry = map[string]Vendor{}
)

// Register makes a vendor available by name. It panics on a duplicate name or a
// malformed setting, since those are programming errors caught at start.
func Register(v Vendor) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[v.Name()]; dup {
		panic("platform: duplicate registration of " + v.Name())
	}
	for _, s := range v.Settings() {
		if err := s.check(); err != nil {
			panic(fmt.Sprintf("platform: vendor %s: %v", v.Name(), err))
		}
	}
	registry[v.Name()] = v
}

// Lookup returns the vendor registered under name.
func Lookup(name string) (Vendor, bool) {
	mu.RLock()
	defer mu.RUnlock()
	v, ok := registry[name]
	return v, ok
}

// Names lists the registered vendors, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Vendors lists the registered vendors, sorted by name.
func Vendors() []Vendor {
	names := Names()
	vs := make([]Vendor, 0, len(names))
	for _, n := range names {
		v, _ := Lookup(n)
		vs = append(vs, v)
	}
	return vs
}
