package simulator

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// Flags are the command-line settings of `callbridge simulate`: where each simulator
// listens, the credentials requests must be signed with, where its callbacks go, and
// the settings both share. The command parses them and calls Options; it never names
// a vendor.
type Flags struct {
	byaiAddr, yiwiseAddr    *string
	byaiHook, yiwiseHook    *string
	scale                   *float64
	callDuration            *time.Duration
	seed                    *uint64
	byaiKey, byaiSecret     *string
	byaiCompany             *int64
	yiwiseKey, yiwiseSecret *string
	yiwiseTenant            *string
	signCallbacks           *bool
	intentRate, inboundRate *float64
}

// RegisterFlags declares the simulators' flags on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	return &Flags{
		byaiAddr:      fs.String("byai-addr", ":9101", "listen address of the BYAI simulator ('' leaves it out)"),
		yiwiseAddr:    fs.String("yiwise-addr", ":9102", "listen address of the Yiwise simulator ('' leaves it out)"),
		byaiHook:      fs.String("byai-webhook", "", "URL the BYAI simulator POSTs its callbacks to, e.g. http://callbridge:8080/webhooks/byai-main?token=… (default: none sent)"),
		yiwiseHook:    fs.String("yiwise-webhook", "", "URL the Yiwise simulator POSTs its callbacks to (default: none sent)"),
		scale:         fs.Float64("time-scale", 1, "simulated time per real time: 1 is real time, 0.01 makes a vendor minute last 600ms"),
		callDuration:  fs.Duration("call-duration", 40*time.Second, "simulated duration of one call"),
		seed:          fs.Uint64("seed", 0, "seed for reproducible call outcomes (0: random)"),
		byaiKey:       fs.String("byai-app-key", "sim-byai-appkey", "BYAI app key requests must be signed with"),
		byaiSecret:    fs.String("byai-app-secret", "sim-byai-appsecret", "BYAI app secret"),
		byaiCompany:   fs.Int64("byai-company-id", 1, "BYAI company id bound to the app key"),
		yiwiseKey:     fs.String("yiwise-app-key", "sim-yiwise-appkey", "Yiwise app key"),
		yiwiseSecret:  fs.String("yiwise-app-secret", "sim-yiwise-appsecret", "Yiwise app secret"),
		yiwiseTenant:  fs.String("yiwise-tenant-sign", "simtenant", "Yiwise tenant sign"),
		signCallbacks: fs.Bool("sign-callbacks", false, "fill BYAI callbacks' sign and dateTime (for accounts with VERIFY_CALLBACK_SIGN=true)"),
		intentRate:    fs.Float64("intent-change-rate", 0, "probability that an answered BYAI call's intent is changed by hand later"),
		inboundRate:   fs.Float64("inbound-rate", 0, "probability that a called BYAI customer calls back"),
	}
}

// Options checks the parsed flags and turns them into Start's options. callbackClient
// returns the HTTP client a vendor's callbacks are sent with (nil: a default client);
// onEvent receives what the simulators do. An error is a usage error and names the flag.
func (f *Flags) Options(callbackClient func(vendor string) *http.Client, onEvent func(Event)) (Options, error) {
	if *f.scale <= 0 || *f.callDuration <= 0 {
		return Options{}, errors.New("--time-scale and --call-duration must be positive")
	}
	if *f.byaiAddr == "" && *f.yiwiseAddr == "" {
		return Options{}, errors.New("nothing to run: both --byai-addr and --yiwise-addr are empty")
	}
	client := func(vendor string) *http.Client {
		if callbackClient == nil {
			return nil
		}
		return callbackClient(vendor)
	}
	return Options{
		BYAIAddr: *f.byaiAddr, YiwiseAddr: *f.yiwiseAddr,
		BYAI: byaisim.Config{AppKey: *f.byaiKey, AppSecret: *f.byaiSecret, CompanyID: *f.byaiCompany,
			SignCallbacks: *f.signCallbacks, IntentChangeRate: *f.intentRate, InboundRate: *f.inboundRate,
			Options: core.Options{WebhookURL: *f.byaiHook, HTTPClient: client("byai")}},
		Yiwise: yiwisesim.Config{AppKey: *f.yiwiseKey, AppSecret: *f.yiwiseSecret, TenantSign: *f.yiwiseTenant,
			Options: core.Options{WebhookURL: *f.yiwiseHook, HTTPClient: client("yiwise")}},
		TimeScale: *f.scale, CallDuration: *f.callDuration, Seed: *f.seed,
		OnEvent: onEvent,
	}, nil
}

// Describe writes one line per running simulator (its URL, credentials and where its
// callbacks go, each URL passed through mask to hide tokens) and the shared timing.
func (f *Flags) Describe(w io.Writer, r *Running, mask func(url string) string) {
	callbacks := func(url string) string {
		if url == "" {
			return "callbacks: none (set a webhook flag)"
		}
		if mask != nil {
			url = mask(url)
		}
		return "callbacks → " + url
	}
	if r.BYAIURL != "" {
		fmt.Fprintf(w, "BYAI simulator    %s   (app key %s, company %d)   %s\n", r.BYAIURL, *f.byaiKey, *f.byaiCompany, callbacks(*f.byaiHook))
	}
	if r.YiwiseURL != "" {
		fmt.Fprintf(w, "Yiwise simulator  %s   (app key %s, tenant %s)   %s\n", r.YiwiseURL, *f.yiwiseKey, *f.yiwiseTenant, callbacks(*f.yiwiseHook))
	}
	fmt.Fprintf(w, "time scale %g, calls last %v of simulated time; Ctrl-C stops.\n\n", *f.scale, *f.callDuration)
}
