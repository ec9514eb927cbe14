// Package yiwise implements the Yiwise (一知智能 / 探意) calling platform: its webhook
// parser (ROBOT_CALL_RECORD, ROBOT_CALL_JOB) and its signed /apiOpen/v1 API client.
package yiwise

import (
	"net/http"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

// Name is the registered vendor name.
const Name = "yiwise"

// Endpoint names, the keys of platform.Account.Paths. The default path of each is
// "/apiOpen/v1/" + name.
const (
	EndpointCreateTask     = "task/createTask"
	EndpointImportCustomer = "task/importTaskCustomer"
	EndpointStart          = "task/start"
	EndpointPause          = "task/pause"
	EndpointStop           = "task/stop"
	EndpointDelete         = "task/delete"
	EndpointUpdate         = "task/update"
	EndpointGetTasks       = "task/getTasks"
	EndpointGetTaskDetail  = "task/getTaskDetail"
	EndpointGetCompanies   = "company/getCompanies"
)

// Endpoints lists the endpoint names whose paths an account may override.
func Endpoints() []string {
	return []string{
		EndpointCreateTask, EndpointImportCustomer, EndpointStart, EndpointPause,
		EndpointStop, EndpointDelete, EndpointUpdate, EndpointGetTasks,
		EndpointGetTaskDetail, EndpointGetCompanies,
	}
}

// Vendor is the Yiwise platform.Vendor.
type Vendor struct{}

var _ platform.Vendor = Vendor{}

func init() { platform.Register(Vendor{}) }

// Name returns "yiwise".
func (Vendor) Name() string { return Name }

// VerifyWebhook accepts every body: Yiwise callbacks carry no signature, so the
// bridge's token and allow-list are the only authentication.
func (Vendor) VerifyWebhook(*platform.Account, []byte, time.Time) error { return nil }

// ParseWebhook turns one Yiwise callback body into its event.
func (Vendor) ParseWebhook(acct *platform.Account, body []byte) ([]event.Out, error) {
	return ParseWebhook(acct, body)
}

// NewClient returns the API client of acct.
func (Vendor) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return NewClient(acct, hc)
}
