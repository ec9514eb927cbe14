// Package platform is the one seam between callbridge and a calling platform.
//
// Each platform lives in its own package (internal/platform/byai, internal/platform/yiwise)
// that implements Vendor and registers itself; the two halves of the bridge only ever
// see this package. Adding a platform means adding one package and one Register line.
package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
)

// Account is one configured vendor account. The zero value of each optional field
// means the documented default.
type Account struct {
	// Name is the account's name in webhook URLs and commands, e.g. "byai-main".
	Name string
	// Vendor is the registered vendor name: "byai" or "yiwise".
	Vendor string
	// AppKey and AppSecret are the API credentials. Never logged.
	AppKey    string
	AppSecret string
	// TenantSign is Yiwise's company sign (tenantSign header).
	TenantSign string
	// APIVersion is Yiwise's version header; empty means "v1".
	APIVersion string
	// CompanyID is BYAI's default companyId for commands.
	CompanyID string
	// BaseURL is the vendor API root, e.g. "https://api.byrobot.cn".
	BaseURL string
	// Paths overrides endpoint paths by endpoint name (see each vendor's Endpoints).
	Paths map[string]string
	// WebhookToken authenticates webhooks (header X-Callbridge-Token or query token).
	WebhookToken string
	// AllowCIDRs, when not empty, is the only set of source addresses accepted for webhooks.
	AllowCIDRs []netip.Prefix
	// VerifyCallbackSign makes BYAI webhooks carry a valid sign/dateTime.
	VerifyCallbackSign bool
	// Location is the vendor's time zone for its local times; nil means Asia/Shanghai.
	Location *time.Location
	// RateLimit is the maximum vendor API requests per second; 0 means unlimited.
	RateLimit float64
	// Timeout bounds one vendor HTTP request; 0 means 10s.
	Timeout time.Duration
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

// Vendor is everything the bridge needs from one calling platform.
type Vendor interface {
	// Name is the registered name, as in CALLBRIDGE_ACCOUNT_<NAME>_VENDOR.
	Name() string
	// VerifyWebhook checks vendor-level webhook authentication (e.g. BYAI's sign) beyond
	// the bridge's token and allow-list. It returns an error wrapping ErrUnauthorized.
	VerifyWebhook(acct *Account, body []byte, now time.Time) error
	// ParseWebhook turns one webhook body into the events it means. An error wrapping
	// ErrUnparseable (bad JSON, unknown dataType) sends the body to the dead-letter topic.
	// The events may share body's bytes (their raw record): the caller leaves body
	// unchanged while it uses them.
	ParseWebhook(acct *Account, body []byte) ([]event.Out, error)
	// NewClient returns an API client for acct that sends requests through hc.
	NewClient(acct *Account, hc *http.Client) Client
}

// Client calls one vendor account's API. Each method makes exactly one attempt at each
// vendor request it sends; retries are the caller's policy.
type Client interface {
	// CreateTask creates a task and returns its vendor id.
	CreateTask(ctx context.Context, c *command.TaskCreate) (Reply, error)
	// ImportBatchSize is the most customers ImportCustomers accepts in one call.
	ImportBatchSize() int
	// ImportCustomers adds at most ImportBatchSize customers to a task.
	ImportCustomers(ctx context.Context, taskID string, customers []command.Customer) (Reply, error)
	// StartTask, PauseTask, StopTask, DeleteTask control a task.
	StartTask(ctx context.Context, taskID string) (Reply, error)
	PauseTask(ctx context.Context, taskID string) (Reply, error)
	StopTask(ctx context.Context, taskID string) (Reply, error)
	DeleteTask(ctx context.Context, taskID string) (Reply, error)
	// SetConcurrency changes a task's AI seat count.
	SetConcurrency(ctx context.Context, taskID string, concurrency int) (Reply, error)
	// SingleCall places one call now; vendors without it return ErrUnsupported.
	SingleCall(ctx context.Context, c *command.CallSingle) (Reply, error)
	// FindTasks lists the vendor ids of tasks named name, so that a step whose outcome
	// was never recorded can be resolved by asking the vendor instead of repeating it.
	FindTasks(ctx context.Context, name string) ([]string, error)
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
	// ErrUnsupported marks a command the vendor has no API for.
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

// Register makes a vendor available by name. It panics on a duplicate name, since
// that is a programming error caught at start.
func Register(v Vendor) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[v.Name()]; dup {
		panic("platform: duplicate registration of " + v.Name())
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
