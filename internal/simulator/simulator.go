// Package simulator runs the Yiwise and BYAI simulators side by side on their own
// listen addresses, for `callbridge simulate` and `callbridge dev`. The simulators
// themselves live in byaisim and yiwisesim; webhook holds the vendors' callback
// delivery with retries, clock the injectable time source.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// Event is something a simulated vendor did (an API request, a call, a task change,
// a callback attempt).
type Event = core.Event

// Options configures Start and Run.
type Options struct {
	// BYAIAddr and YiwiseAddr are the listen addresses, e.g. ":9101" (":0" picks a free
	// port); "" leaves that vendor out.
	BYAIAddr, YiwiseAddr string
	// BYAI and Yiwise configure each simulator: credentials, WebhookURL (where its
	// callbacks go), path overrides and vendor options. Their Clock, TimeScale,
	// CallDuration, Seed, OnEvent and Logf, when zero, are taken from the fields below.
	BYAI   byaisim.Config
	Yiwise yiwisesim.Config

	// Clock is the time source of both; nil means the real clock.
	Clock clock.Clock
	// TimeScale multiplies every simulated duration; 0 means 1 (real time).
	TimeScale float64
	// CallDuration is the simulated time of one call; 0 means 40s.
	CallDuration time.Duration
	// Seed makes outcomes reproducible; 0 picks a random seed.
	Seed uint64
	// OnEvent receives the events of both simulators.
	OnEvent func(Event)
	// Logf prints the events of both simulators, one per line.
	Logf func(format string, args ...any)
}

// Running is a started pair of simulators.
type Running struct {
	// BYAI and Yiwise are the simulators, nil for a vendor left out; use them for
	// Requests, FailNext, Task and the other test hooks.
	BYAI   *byaisim.Server
	Yiwise *yiwisesim.Server
	// BYAIURL and YiwiseURL are the base URLs to configure as the accounts' BASE_URL,
	// e.g. "http://127.0.0.1:9101".
	BYAIURL, YiwiseURL string

	servers []*http.Server
	errs    chan error
}

// Start listens on the configured addresses and serves the simulators until Close.
func Start(o Options) (*Running, error) {
	r := &Running{errs: make(chan error, 2)}
	if o.BYAIAddr != "" {
		c := o.BYAI
		fillShared(&o, &c.Clock, &c.TimeScale, &c.CallDuration, &c.Seed, &c.OnEvent, &c.Logf)
		r.BYAI = byaisim.New(c)
		url, err := r.serve(o.BYAIAddr, r.BYAI)
		if err != nil {
			r.closeSims()
			return nil, fmt.Errorf("start byai simulator: %w", err)
		}
		r.BYAIURL = url
	}
	if o.YiwiseAddr != "" {
		c := o.Yiwise
		fillShared(&o, &c.Clock, &c.TimeScale, &c.CallDuration, &c.Seed, &c.OnEvent, &c.Logf)
		r.Yiwise = yiwisesim.New(c)
		url, err := r.serve(o.YiwiseAddr, r.Yiwise)
		if err != nil {
			_ = r.Close(context.Background())
			return nil, fmt.Errorf("start yiwise simulator: %w", err)
		}
		r.YiwiseURL = url
	}
	return r, nil
}

// fillShared copies the shared options into a vendor config's zero fields.
func fillShared(o *Options, c *clock.Clock, scale *float64, d *time.Duration, seed *uint64, ev *func(Event), logf *func(string, ...any)) {
	if *c == nil {
		*c = o.Clock
	}
	if *scale == 0 {
		*scale = o.TimeScale
	}
	if *d == 0 {
		*d = o.CallDuration
	}
	if *seed == 0 {
		*seed = o.Seed
	}
	if *ev == nil {
		*ev = o.OnEvent
	}
	if *logf == nil {
		*logf = o.Logf
	}
}

func (r *Running) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	r.servers = append(r.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errs <- fmt.Errorf("serve %s: %w", addr, err)
		}
	}()
	return "http://" + hostPort(ln.Addr()), nil
}

// hostPort makes a listen address dialable: an unspecified host becomes 127.0.0.1.
func hostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// Close stops the HTTP servers (waiting for requests in progress until ctx is done),
// then the simulators' calls and callbacks.
func (r *Running) Close(ctx context.Context) error {
	var errs []error
	for _, s := range r.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down simulator server: %w", err))
		}
	}
	r.closeSims()
	return errors.Join(errs...)
}

func (r *Running) closeSims() {
	if r.BYAI != nil {
		r.BYAI.Close()
	}
	if r.Yiwise != nil {
		r.Yiwise.Close()
	}
}

// Run serves the simulators until ctx is done, then shuts them down cleanly. It
// returns nil after a clean stop, or the error that stopped it.
func Run(ctx context.Context, o Options) error {
	r, err := Start(o)
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-r.errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(runErr, r.Close(shutdown))
}
