// Package yiwisesim is a faithful fake of Yiwise's (一知智能/探意) open API and
// callbacks: requests are authenticated with the vendor's SHA-256 signature, answered
// in its envelope (with a request id) and codes, tasks keep their state, and running
// tasks place simulated calls whose results are POSTed back as Yiwise's
// ROBOT_CALL_RECORD and ROBOT_CALL_JOB callbacks, retried like Yiwise does.
package yiwisesim

import (
	"crypto/subtle"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/webhook"
)

// Prefix is the path every endpoint lives under.
const Prefix = "/apiOpen/v1/"

// Statuses are Yiwise's resultStatus values in their documented order (ANSWERED is
// 0), indexed like core.Outcome.Status; Descriptions are their meanings.
var (
	Statuses     = []string{"ANSWERED", "NO_ANSWER", "BUSY", "POWER_OFF", "OUT_OF_SERVICE", "REFUSED", "VACANT_NUMBER", "CAN_NOT_CONNECT", "FROM_PHONE_ERROR", "SYSTEM_ERROR"}
	Descriptions = []string{"已接听", "未接", "占线", "关机", "被叫停机", "拒接", "空号", "无法接通", "主叫号码不可用", "外呼失败"}
)

// Task status values.
const (
	StatusNotStarted = "NOT_STARTED"
	StatusInProcess  = "IN_PROCESS"
	StatusCompleted  = "COMPLETED"
	StatusUserPause  = "USER_PAUSE"
	StatusTerminate  = "TERMINATE"
)

// taskStatusCodes are the numbers the getTasks status filter may use instead of names.
var taskStatusCodes = []string{StatusNotStarted, StatusInProcess, StatusCompleted, "RUNNABLE", StatusUserPause, "SYSTEM_SUSPENDED", StatusTerminate, "IN_QUEUE"}

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
	// AppKey, AppSecret, TenantSign and Version are the credentials every request must
	// carry and sign; Version "" means "v1".
	AppKey, AppSecret, TenantSign, Version string
	// API is the endpoint family whose signature rules requests must follow: "v1" (the
	// default: six headers, appSecret and tenantSign among them) or "job" (only appKey,
	// version, timestamp and signature; a request that sends the secret or the tenant
	// sign is refused, as the current API never needs them). Both families' endpoints
	// are served; on "job" callbacks use the current body (callDetailList with
	// callDetailId, dialogFlowId, properties).
	API string
	// TenantID is the company's id; 0 means 1.
	TenantID int64
	// CompanyName is its name; "" means "模拟智能科技有限公司".
	CompanyName string
	// Paths overrides an endpoint's path by name, e.g.
	// {"task/getCallRecordInfoList": "/apiOpen/v1/task/callRecordList"}; only the override is served.
	Paths map[string]string

	// CallbackToken and CallbackAESKey, when both are set, seal every callback as
	// Yiwise's encrypted callbacks are (signed, AES-encrypted XML envelope), with
	// CallbackReceiveID inside; VerifyCallbackURL is the URL-verification handshake.
	CallbackToken, CallbackAESKey, CallbackReceiveID string

	// Options are the settings every simulated vendor has: callbacks, clock and
	// time scale, outcomes, limits, event hooks.
	core.Options
}

// Server is the simulated Yiwise API, an http.Handler. Close stops its calls and callbacks.
type Server struct {
	core.Hooks
	cfg Config
	sim *core.Sim
	eng *core.Engine
	// crypt seals callbacks; nil sends them plain.
	crypt *callbackcrypto.Crypt
}

// New returns a running simulator.
func New(cfg Config) *Server {
	if cfg.Version == "" {
		cfg.Version = "v1"
	}
	if cfg.TenantID == 0 {
		cfg.TenantID = 1
	}
	if cfg.CompanyName == "" {
		cfg.CompanyName = "模拟智能科技有限公司"
	}
	s := &Server{cfg: cfg}
	var seal func([]byte) webhook.Sealed
	if cfg.CallbackToken != "" && cfg.CallbackAESKey != "" {
		c, err := callbackcrypto.New(cfg.CallbackToken, cfg.CallbackAESKey, cfg.CallbackReceiveID)
		if err != nil {
			panic("yiwisesim: " + err.Error()) // a test's or the dev set-up's mistake
		}
		s.crypt = c
		seal = s.seal
	}
	s.sim = core.NewSim(core.SimConfig{
		Vendor: "yiwise", Prefix: Prefix, Paths: cfg.Paths, Authorize: s.authorize, Envelope: s.envelope,
		Statuses: len(Statuses), FirstTaskID: 5001, FirstCallID: 700001, OnCall: s.onCall, OnState: s.onState,
		Seal: seal, Options: cfg.Options,
	}, s.endpoints())
	s.eng = s.sim.Engine
	s.Hooks = s.sim.Hooks()
	return s
}

// authorize checks Yiwise's headers: the credentials themselves, a timestamp (epoch
// ms) within MaxSkew of the clock, and signature = yiwise.Sign over them.
func (s *Server) authorize(h http.Header) bool {
	got := map[string]string{}
	names := []string{"appKey", "appSecret", "tenantSign", "version", "timestamp", "signature"}
	wantCreds := map[string]string{"appKey": s.cfg.AppKey, "appSecret": s.cfg.AppSecret, "tenantSign": s.cfg.TenantSign, "version": s.cfg.Version}
	if s.job() {
		// The secret and the tenant sign are signature inputs only, never headers.
		if len(h.Values("appSecret")) > 0 || len(h.Values("tenantSign")) > 0 {
			return false
		}
		names = []string{"appKey", "version", "timestamp", "signature"}
		wantCreds = map[string]string{"appKey": s.cfg.AppKey, "version": s.cfg.Version}
	}
	for _, name := range names {
		if got[name] = h.Get(name); got[name] == "" && name != "tenantSign" {
			return false
		}
	}
	for name, want := range wantCreds {
		if subtle.ConstantTimeCompare([]byte(got[name]), []byte(want)) != 1 {
			return false
		}
	}
	ms, err := strconv.ParseInt(got["timestamp"], 10, 64)
	if err != nil || !s.sim.Fresh(time.UnixMilli(ms), s.cfg.MaxSkew) {
		return false
	}
	want := yiwise.Sign(s.cfg.AppKey, s.cfg.AppSecret, s.cfg.TenantSign, s.cfg.Version, got["timestamp"])
	return subtle.ConstantTimeCompare([]byte(got["signature"]), []byte(want)) == 1
}

// job reports whether the simulator speaks the current (job) family.
func (s *Server) job() bool { return s.cfg.API == "job" }

// reply is Yiwise's envelope.
type reply struct {
	Code            int     `json:"code"`
	Data            any     `json:"data"`
	RequestID       string  `json:"requestId"`
	ResultMsg       string  `json:"resultMsg"`
	ErrorStackTrace *string `json:"errorStackTrace"`
}

func (s *Server) envelope(r core.Reply) any {
	var id string
	s.eng.Rand(func(rnd *rand.Rand) { id = core.Letters(rnd, 8) })
	return reply{Code: r.Code, Data: r.Data, RequestID: id, ResultMsg: r.Msg}
}
