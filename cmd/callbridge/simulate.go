package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/callbridge/callbridge/bridge/devenv"
	"github.com/callbridge/callbridge/internal/simulator"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// simulate runs the BYAI and Yiwise simulators alone, for staging tests of a bridge
// deployed elsewhere.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", stderr)
	byaiAddr := fs.String("byai-addr", ":9101", "listen address of the BYAI simulator ('' leaves it out)")
	yiwiseAddr := fs.String("yiwise-addr", ":9102", "listen address of the Yiwise simulator ('' leaves it out)")
	byaiHook := fs.String("byai-webhook", "", "URL the BYAI simulator POSTs its callbacks to, e.g. http://callbridge:8080/webhooks/byai-main?token=… (default: none sent)")
	yiwiseHook := fs.String("yiwise-webhook", "", "URL the Yiwise simulator POSTs its callbacks to (default: none sent)")
	scale := fs.Float64("time-scale", 1, "simulated time per real time: 1 is real time, 0.01 makes a vendor minute last 600ms")
	callDuration := fs.Duration("call-duration", 40*time.Second, "simulated duration of one call")
	seed := fs.Uint64("seed", 0, "seed for reproducible call outcomes (0: random)")
	byaiKey := fs.String("byai-app-key", "sim-byai-appkey", "BYAI app key requests must be signed with")
	byaiSecret := fs.String("byai-app-secret", "sim-byai-appsecret", "BYAI app secret")
	byaiCompany := fs.Int64("byai-company-id", 1, "BYAI company id bound to the app key")
	yiwiseKey := fs.String("yiwise-app-key", "sim-yiwise-appkey", "Yiwise app key")
	yiwiseSecret := fs.String("yiwise-app-secret", "sim-yiwise-appsecret", "Yiwise app secret")
	yiwiseTenant := fs.String("yiwise-tenant-sign", "simtenant", "Yiwise tenant sign")
	signCallbacks := fs.Bool("sign-callbacks", false, "fill BYAI callbacks' sign and dateTime (for accounts with VERIFY_CALLBACK_SIGN=true)")
	intentRate := fs.Float64("intent-change-rate", 0, "probability that an answered BYAI call's intent is changed by hand later")
	inboundRate := fs.Float64("inbound-rate", 0, "probability that a called BYAI customer calls back")
	noColor := fs.Bool("no-color", false, "plain output even on a terminal")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *scale <= 0 || *callDuration <= 0 {
		return usageError{errors.New("--time-scale and --call-duration must be positive")}
	}
	if *byaiAddr == "" && *yiwiseAddr == "" {
		return usageError{errors.New("nothing to run: both --byai-addr and --yiwise-addr are empty")}
	}
	p := devenv.NewPrinter(stdout, !*noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout))
	byaiClient, yiwiseClient := p.CallbackClient("byai"), p.CallbackClient("yiwise")
	defer byaiClient.CloseIdleConnections()
	defer yiwiseClient.CloseIdleConnections()
	// Start rather than simulator.Run: the listening URLs (port 0 included) are printed
	// before the first request arrives.
	r, err := simulator.Start(simulator.Options{
		BYAIAddr: *byaiAddr, YiwiseAddr: *yiwiseAddr,
		BYAI: byaisim.Config{AppKey: *byaiKey, AppSecret: *byaiSecret, CompanyID: *byaiCompany,
			SignCallbacks: *signCallbacks, IntentChangeRate: *intentRate, InboundRate: *inboundRate,
			Options: core.Options{WebhookURL: *byaiHook, HTTPClient: byaiClient}},
		Yiwise: yiwisesim.Config{AppKey: *yiwiseKey, AppSecret: *yiwiseSecret, TenantSign: *yiwiseTenant,
			Options: core.Options{WebhookURL: *yiwiseHook, HTTPClient: yiwiseClient}},
		TimeScale: *scale, CallDuration: *callDuration, Seed: *seed,
		OnEvent: p.SimEvents(nil),
	})
	if err != nil {
		return err
	}
	callbacks := func(url string) string {
		if url == "" {
			return "callbacks: none (set a webhook flag)"
		}
		return "callbacks → " + devenv.MaskToken(url)
	}
	if r.BYAIURL != "" {
		fmt.Fprintf(stdout, "BYAI simulator    %s   (app key %s, company %d)   %s\n", r.BYAIURL, *byaiKey, *byaiCompany, callbacks(*byaiHook))
	}
	if r.YiwiseURL != "" {
		fmt.Fprintf(stdout, "Yiwise simulator  %s   (app key %s, tenant %s)   %s\n", r.YiwiseURL, *yiwiseKey, *yiwiseTenant, callbacks(*yiwiseHook))
	}
	fmt.Fprintf(stdout, "time scale %g, calls last %v of simulated time; Ctrl-C stops.\n\n", *scale, *callDuration)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(sctx); err != nil {
		return fmt.Errorf("stop simulators: %w", err)
	}
	return nil
}
