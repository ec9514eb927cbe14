// Package yiwise implements the Yiwise (一知智能 / 探意) calling platform: its webhook
// parser (ROBOT_CALL_RECORD, ROBOT_CALL_JOB) and its signed /apiOpen/v1 API client.
package yiwise

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/command"
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
	EndpointCallRecords    = "task/getCallRecordInfoList"
	EndpointPhoneLogInfo   = "task/phoneLogInfo"
	EndpointGetCompanies   = "company/getCompanies"
	EndpointGetPhones      = "company/getPhones"
	EndpointGetRobots      = "company/getRobots"
)

// Endpoint names of the current (API=job) family; the default path of each is
// "/apiOpen/v1/" + name too.
const (
	EndpointJobCreate        = "job/create"
	EndpointJobImport        = "job/importCustomer"
	EndpointJobStart         = "job/start"
	EndpointJobPause         = "job/pause"
	EndpointJobStop          = "job/stop"
	EndpointJobDelete        = "job/delete"
	EndpointJobUpdateAiCount = "job/updateAiCount"
	EndpointJobModify        = "job/modify"
	EndpointJobOneTimeCall   = "job/oneTimeCall"
	EndpointJobGetJobs       = "job/getJobs"
	EndpointJobDetail        = "job/getJobDetail"
	EndpointJobStats         = "job/getJobStats"
	EndpointCallRecordList   = "callRecord/getCallRecordInfoList"
	EndpointCallRecordDetail = "callRecord/callDetail"
	EndpointToBeCalledList   = "callRecord/toBeCalledList"
	EndpointTenant           = "tenant/getTenant"
	EndpointPhoneList        = "phone/getPhoneList"
	EndpointDialogFlowList   = "dialogFlow/getDialogFlowList"
)

// The values of the API setting.
const (
	APIv1  = "v1"
	APIJob = "job"
)

// Vendor is the Yiwise platform.Vendor.
type Vendor struct{}

var (
	_ platform.Vendor         = Vendor{}
	_ platform.HeaderSigner   = Vendor{}
	_ platform.SealedWebhooks = Vendor{}
)

func init() { platform.Register(Vendor{}) }

// Name returns "yiwise".
func (Vendor) Name() string { return Name }

// Settings are what a Yiwise account adds to the common account settings.
type Settings struct {
	// TenantSign is the company sign (tenantSign header).
	TenantSign string
	// APIVersion is the version header; empty means "v1".
	APIVersion string
	// API is the endpoint family: APIv1 (task/*, company/*; the default) or APIJob
	// (job/*, callRecord/*, tenant/*, phone/*, dialogFlow/*).
	API string
	// crypt opens sealed (signed, encrypted) callbacks; nil when they are plain.
	crypt *callbackcrypto.Crypt
}

// Settings declares TENANT_SIGN and API_VERSION.
func (Vendor) Settings() []platform.Setting {
	return []platform.Setting{
		{Name: "TENANT_SIGN", Required: true, Doc: "Yiwise company sign (tenantSign header)"},
		{Name: "API_VERSION", Default: defaultVersion, Doc: "Yiwise version header"},
		{Name: "API", Default: APIv1, Enum: []string{APIv1, APIJob}, Doc: "Yiwise endpoint family: v1 (the 2018 task/* API) or job (the current job/* API, with redial and call.single; the app secret and tenant sign are not sent as headers)"},
		{Name: "CALLBACK_TOKEN", Secret: true, Doc: "Yiwise encrypted callbacks: the token their signature uses (with CALLBACK_AES_KEY, callbacks must arrive signed and encrypted)"},
		{Name: "CALLBACK_AES_KEY", Secret: true, Doc: "Yiwise encrypted callbacks: the 43-character EncodingAESKey"},
		{Name: "CALLBACK_RECEIVE_ID", Doc: "Yiwise encrypted callbacks: the receive id inside each message (the vendor's is empty)"},
	}
}

// Configure reads the values of Settings.
func (Vendor) Configure(values map[string]string) (any, error) {
	s := Settings{TenantSign: values["TENANT_SIGN"], APIVersion: values["API_VERSION"], API: values["API"]}
	switch s.API {
	case "", APIv1, APIJob:
	default:
		return nil, fmt.Errorf("API: %q is not %s or %s", s.API, APIv1, APIJob)
	}
	token, key := values["CALLBACK_TOKEN"], values["CALLBACK_AES_KEY"]
	switch {
	case token == "" && key == "":
	case token == "" || key == "":
		return nil, fmt.Errorf("CALLBACK_TOKEN and CALLBACK_AES_KEY: encrypted callbacks need both")
	default:
		c, err := callbackcrypto.New(token, key, values["CALLBACK_RECEIVE_ID"])
		if err != nil {
			return nil, fmt.Errorf("CALLBACK_AES_KEY: %w", err)
		}
		s.crypt = c
	}
	return s, nil
}

// settingsOf returns the account's Yiwise settings; an account built without them
// (tests) has the defaults.
func settingsOf(acct *platform.Account) Settings {
	s, _ := acct.Settings.(Settings)
	if s.APIVersion == "" {
		s.APIVersion = defaultVersion
	}
	if s.API == "" {
		s.API = APIv1
	}
	return s
}

// script is Yiwise's part of task.create and call.single.
type script struct {
	DialogFlowID command.ID `json:"dialogFlowId"`
}

// ScriptSchema requires dialogFlowId.
func (Vendor) ScriptSchema() json.RawMessage {
	return json.RawMessage(`{
  "title": "Yiwise script",
  "description": "Yiwise's dialogue: its dialog flow.",
  "type": "object",
  "required": ["dialogFlowId"],
  "additionalProperties": false,
  "properties": {
    "dialogFlowId": {"$ref": "#/$defs/id", "title": "Dialog flow id", "description": "Yiwise dialogFlowId."}
  }
}`)
}

// NewClient returns the API client of acct: on API=job one that is also a
// platform.SingleCaller, on v1 one that is not.
func (Vendor) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return NewClient(acct, hc)
}

// SignInputs are the tenant sign, the version and the timestamp header.
func (Vendor) SignInputs() []platform.Setting {
	return []platform.Setting{
		{Name: "TENANT_SIGN", Required: true, Doc: "tenant sign"},
		{Name: "API_VERSION", Default: defaultVersion, Doc: "version header"},
		{Name: "TIMESTAMP", Kind: platform.KindInt, Doc: "timestamp header (epoch ms); default now"},
		{Name: "API", Default: APIv1, Enum: []string{APIv1, APIJob}, Doc: "endpoint family: v1 sends six headers, job four (no appSecret, no tenantSign)"},
	}
}

// SignHeaders returns the headers in the documents' spelling: six on v1, four on job.
func (Vendor) SignHeaders(in map[string]string, now time.Time) ([]platform.Header, error) {
	if in["APP_KEY"] == "" || in["APP_SECRET"] == "" {
		return nil, fmt.Errorf("yiwise: app key and app secret are required")
	}
	ts := in["TIMESTAMP"]
	if ts == "" {
		ts = strconv.FormatInt(now.UnixMilli(), 10)
	}
	version := cmp.Or(in["API_VERSION"], defaultVersion)
	sig := Sign(in["APP_KEY"], in["APP_SECRET"], in["TENANT_SIGN"], version, ts)
	if in["API"] == APIJob {
		return []platform.Header{
			{Name: "appKey", Value: in["APP_KEY"]},
			{Name: "version", Value: version},
			{Name: "timestamp", Value: ts},
			{Name: "signature", Value: sig},
		}, nil
	}
	return []platform.Header{
		{Name: "appKey", Value: in["APP_KEY"]},
		{Name: "appSecret", Value: in["APP_SECRET"]},
		{Name: "tenantSign", Value: in["TENANT_SIGN"]},
		{Name: "version", Value: version},
		{Name: "timestamp", Value: ts},
		{Name: "signature", Value: sig},
	}, nil
}
