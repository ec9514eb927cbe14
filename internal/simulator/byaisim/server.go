// Package byaisim is a faithful fake of BYAI's (百应) open API and callbacks: requests
// are authenticated with the vendor's HMAC-SHA1 signature, answered in its envelope
// with its codes, tasks keep their state, and running tasks place simulated calls
// whose results are POSTed back as BYAI's callback bodies, retried like BYAI does.
package byaisim

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/simulator/core"
)

// Prefix is the path every endpoint lives under.
const Prefix = "/openapi/v1/"

// Statuses are BYAI's finishStatus codes 0–11, indexed like core.Outcome.Status.
var Statuses = []string{"已接听", "拒接", "无法接通", "主叫号码不可用", "空号", "关机", "占线", "停机", "未接", "主叫欠费", "呼损", "黑名单"}

// Task status codes (任务状态枚举).
const (
	StatusNotStarted = 0
	StatusRunning    = 1
	StatusCompleted  = 2
	StatusUserPaused = 4
	StatusTerminated = 6
)

// Aliases of the shared simulator types, so callers need only this package.
type (
	Request = core.Request
	Fault   = core.Fault
	Event   = core.Event
	Task    = core.Task
	Call    = core.Call
)

// Config configures the simulator. The zero value of each field means its default.
type Config struct {
	// AppKey and AppSecret are the credentials requests must be signed with.
	AppKey, AppSecret string
	// CompanyID is the one company bound to the app key; 0 means 1.
	CompanyID int64
	// CompanyName is its name; "" means "模拟科技有限公司".
	CompanyName string
	// Companies are further companies bound to the app key (an ISV key), by id.
	Companies map[int64]string
	// Seats is the company's AI seats (seat/statistics); 0 means 50.
	Seats int
	// Paths overrides an endpoint's path by name, e.g.
	// {"company/getCompanys": "/openapi/v1/company/getCompanies"}; only the override is served.
	Paths map[string]string

	// SignCallbacks fills dateTime (RFC 1123, fresh for each attempt) and sign
	// (byai.Sign over it) in call callbacks; otherwise sign is null.
	SignCallbacks bool
	// LegacyCallbacks sends call records the way older accounts get them, without
	// dataType: {code, data: {sceneInstance, taskResult, phoneLog}}.
	LegacyCallbacks bool
	// IntentChangeRate is the probability that someone changes an answered call's
	// intent level in the CRM, which sends a taskResult-only callback a simulated
	// two minutes later; 0 means never.
	IntentChangeRate float64
	// InboundRate is the probability that a called customer calls back, which sends an
	// INBOUND_CALL_INSTANCE_RESULT callback a simulated five minutes later; 0 means never.
	InboundRate float64

	// Options are the settings every simulated vendor has: callbacks, clock and
	// time scale, outcomes, limits, event hooks.
	core.Options
}

// Server is the simulated BYAI API, an http.Handler. Close stops its calls and callbacks.
type Server struct {
	core.Hooks
	cfg   Config
	sim   *core.Sim
	eng   *core.Engine
	black blacklist
}

// New returns a running simulator.
func New(cfg Config) *Server {
	if cfg.CompanyID == 0 {
		cfg.CompanyID = 1
	}
	if cfg.CompanyName == "" {
		cfg.CompanyName = "模拟科技有限公司"
	}
	s := &Server{cfg: cfg}
	s.sim = core.NewSim(core.SimConfig{
		Vendor: "byai", Prefix: Prefix, Paths: cfg.Paths, Authorize: s.authorize, Envelope: envelope,
		Statuses: len(Statuses), FirstTaskID: 360001, FirstCallID: 1540000001, OnCall: s.onCall, OnState: s.onState,
		Options: cfg.Options,
	}, s.endpoints())
	s.eng = s.sim.Engine
	s.Hooks = s.sim.Hooks()
	return s
}

// authorize checks BYAI's headers: the app key, a datetime within MaxSkew of the
// clock, and sign = base64 HMAC-SHA1(appKey + "\n" + datetime) keyed by the secret.
func (s *Server) authorize(h http.Header) bool {
	key, dt, sign := h.Get("appkey"), h.Get("datetime"), h.Get("sign")
	if key == "" || dt == "" || sign == "" || subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.AppKey)) != 1 {
		return false
	}
	at, err := time.Parse(byai.DateTimeLayout, dt)
	if err != nil || !s.sim.Fresh(at, s.cfg.MaxSkew) {
		return false
	}
	want := byai.Sign(s.cfg.AppKey, s.cfg.AppSecret, dt)
	return subtle.ConstantTimeCompare([]byte(sign), []byte(want)) == 1
}

// reply is BYAI's envelope; callbacks use the same one.
type reply struct {
	Code            int     `json:"code"`
	Data            any     `json:"data"`
	ResultMsg       string  `json:"resultMsg"`
	ErrorStackTrace *string `json:"errorStackTrace"`
}

func envelope(r core.Reply) any { return reply{Code: r.Code, Data: r.Data, ResultMsg: r.Msg} }

// Inbound simulates a customer calling in and sends its INBOUND_CALL_INSTANCE_RESULT
// callback; it returns the inbound call id.
func (s *Server) Inbound(phone, name string) int64 {
	return s.eng.Inbound(core.Customer{Name: name, Phone: phone}, s.defaultMeta()).ID
}
