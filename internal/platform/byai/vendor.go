package byai

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// Name is the vendor's registered name.
const Name = "byai"

// Vendor is BYAI as a platform.Vendor.
type Vendor struct{}

var (
	_ platform.Vendor          = Vendor{}
	_ platform.WebhookVerifier = Vendor{}
	_ platform.HeaderSigner    = Vendor{}
)

func init() { platform.Register(Vendor{}) }

// Name returns "byai".
func (Vendor) Name() string { return Name }

// Settings are what a BYAI account adds to the common account settings.
type Settings struct {
	// CompanyID is the default companyId of commands.
	CompanyID string
	// VerifyCallbackSign makes webhooks carry a valid sign/dateTime.
	VerifyCallbackSign bool
	// ForceTransferCustomer is importTaskCustomer's forceTransferCustomer: true moves a
	// customer another team member follows into the task (and to its owner), false
	// leaves such a customer out. nil sends nothing: the vendor's default, 1.
	ForceTransferCustomer *bool
}

// Settings declares COMPANY_ID and VERIFY_CALLBACK_SIGN.
func (Vendor) Settings() []platform.Setting {
	return []platform.Setting{
		{Name: "COMPANY_ID", Kind: platform.KindInt, Required: true,
			Doc: "BYAI company id that commands operate on"},
		{Name: "VERIFY_CALLBACK_SIGN", Kind: platform.KindBool, Default: "false",
			Doc: "BYAI: check sign/dateTime on call callbacks (HMAC-SHA1, at most 15 minutes old)"},
		{Name: "FORCE_TRANSFER_CUSTOMER", Kind: platform.KindBool,
			Doc: "BYAI: importTaskCustomer forceTransferCustomer (true: move a customer another team member follows into the task; false: leave them out); unset leaves the vendor's default (true)"},
	}
}

// Configure reads the values of Settings.
func (Vendor) Configure(values map[string]string) (any, error) {
	verify, _ := strconv.ParseBool(values["VERIFY_CALLBACK_SIGN"])
	s := Settings{CompanyID: values["COMPANY_ID"], VerifyCallbackSign: verify}
	if v := strings.TrimSpace(values["FORCE_TRANSFER_CUSTOMER"]); v != "" {
		force, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("FORCE_TRANSFER_CUSTOMER: %q is not a boolean", v)
		}
		s.ForceTransferCustomer = &force
	}
	return s, nil
}

// settingsOf returns the account's BYAI settings; an account built without them
// (tests) has the defaults.
func settingsOf(acct *platform.Account) Settings {
	s, _ := acct.Settings.(Settings)
	return s
}

// script is BYAI's part of task.create and call.single: the three ids of a dialogue.
type script struct {
	RobotDefID    command.ID `json:"robotDefId"`
	SceneDefID    command.ID `json:"sceneDefId"`
	SceneRecordID command.ID `json:"sceneRecordId"`
}

// ScriptSchema requires robotDefId, sceneDefId and sceneRecordId.
func (Vendor) ScriptSchema() json.RawMessage {
	return json.RawMessage(`{
  "title": "BYAI script",
  "description": "BYAI's dialogue: the robot, and optionally its scene and the scene's recording (the vendor's own demo no longer sends them).",
  "type": "object",
  "required": ["robotDefId"],
  "additionalProperties": false,
  "properties": {
    "robotDefId": {"$ref": "#/$defs/id", "title": "Robot id", "description": "BYAI robotDefId."},
    "sceneDefId": {"$ref": "#/$defs/id", "title": "Scene id", "description": "BYAI sceneDefId."},
    "sceneRecordId": {"$ref": "#/$defs/id", "title": "Scene recording id", "description": "BYAI sceneRecordId."}
  }
}`)
}

// NewClient returns an API client for acct; see NewClient.
func (Vendor) NewClient(acct *platform.Account, hc *http.Client) platform.Client {
	return NewClient(acct, hc)
}

// SignInputs is the datetime header (RFC 1123 GMT; default now).
func (Vendor) SignInputs() []platform.Setting {
	return []platform.Setting{{Name: "DATETIME", Doc: "datetime header (RFC 1123 GMT); default now"}}
}

// SignHeaders returns appkey, datetime and sign.
func (Vendor) SignHeaders(in map[string]string, now time.Time) ([]platform.Header, error) {
	dt := strings.TrimSpace(in["DATETIME"])
	if dt == "" {
		dt = now.UTC().Format(DateTimeLayout)
	} else if _, err := time.Parse(DateTimeLayout, dt); err != nil {
		return nil, fmt.Errorf("datetime %q is not RFC 1123 GMT, e.g. %q", dt, now.UTC().Format(DateTimeLayout))
	}
	if in["APP_KEY"] == "" || in["APP_SECRET"] == "" {
		return nil, fmt.Errorf("byai: app key and app secret are required")
	}
	return []platform.Header{
		{Name: "appkey", Value: in["APP_KEY"]},
		{Name: "datetime", Value: dt},
		{Name: "sign", Value: Sign(in["APP_KEY"], in["APP_SECRET"], dt)},
	}, nil
}
