// Package inbound is the inbound half of callbridge: vendor webhooks in, CloudEvents
// on Kafka out. A webhook is answered "success" only after Kafka acknowledged every
// record it produced, so the vendor keeps retrying anything that was not stored.
package inbound

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/publish"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// Publisher is what the handler needs from internal/publish.
type Publisher interface {
	Publish(ctx context.Context, vendor, account string, outs []event.Out) error
	PublishAsync(ctx context.Context, vendor, account string, outs []event.Out, done func(error)) error
	DeadLetter(ctx context.Context, d publish.DeadLetter, reasonKind string) error
}

// Handler serves POST /webhooks/{account}. Zero values of optional fields are safe.
type Handler struct {
	// Accounts by name (required).
	Accounts map[string]*platform.Account
	// Publisher produces events and dead letters (required).
	Publisher Publisher
	// MaxBodyBytes limits a body; 0 means 1 MiB.
	MaxBodyBytes int64
	// ProduceTimeout bounds waiting for Kafka; past it the vendor gets 503 and retries.
	// 0 means 10s.
	ProduceTimeout time.Duration
	// TrustedProxies are proxies whose X-Forwarded-For is believed for allow-lists.
	TrustedProxies []netip.Prefix
	// Telemetry records spans, metrics and logs; nil records nothing.
	Telemetry *telemetry.Telemetry
	// Now is the clock for signature freshness; nil means time.Now.
	Now func() time.Time
	// MaxInflight bounds the webhooks held while their records wait for Kafka (their
	// bodies and the records queued in the producer, until the producer reports the
	// records' fate, even past the webhook's 503); past it a webhook gets 503 with
	// Retry-After at once. 0 means 1024.
	MaxInflight int
	// DedupeWindow is how long the ids of acknowledged events are remembered, so that
	// a vendor's retry of a webhook that got 503 but was stored after all is answered
	// without writing it again. 0 means 15 minutes.
	DedupeWindow time.Duration
	// DedupeEntries bounds the ids remembered; the oldest go first. 0 means 65536.
	DedupeEntries int

	once   sync.Once
	writes *writes
	// writers runs the detached writes that wait for their producer (dead letters).
	writers *runner
}

// Default bounds (see Handler).
const (
	DefaultMaxInflight   = 1024
	DefaultDedupeWindow  = 15 * time.Minute
	DefaultDedupeEntries = 1 << 16
	// retryAfter is the Retry-After of a webhook refused because too many wait.
	retryAfter = "5"
)

func (h *Handler) init() {
	h.once.Do(func() {
		max, ttl, n := h.MaxInflight, h.DedupeWindow, h.DedupeEntries
		if max <= 0 {
			max = DefaultMaxInflight
		}
		if ttl <= 0 {
			ttl = DefaultDedupeWindow
		}
		if n <= 0 {
			n = DefaultDedupeEntries
		}
		h.writes = newWrites(max, ttl, n)
		h.writers = newRunner(10 * time.Second)
		h.Telemetry.Meters().ObserveWebhooksInflight(func() int64 { return h.writes.held.Load() })
	})
}

// Close ends the goroutines kept for detached writes once their writes are done
// (call it after the producer was closed).
func (h *Handler) Close() {
	h.init()
	h.writers.stop()
}

// Inflight is the number of webhooks held while their records wait for Kafka.
func (h *Handler) Inflight() int {
	h.init()
	return int(h.writes.held.Load())
}

// Healthy says whether a webhook arriving now would be acknowledged, as far as recent
// produces tell: none has waited longer than half the produce timeout, and the last to
// finish succeeded (or failed more than five seconds ago, with none since: then only
// a probe of the cluster can tell, and readiness asks one).
func (h *Handler) Healthy() (bool, string) {
	h.init()
	return h.writes.health(time.Now(), h.produceTimeout()/2, 5*time.Second)
}

// Outcomes recorded in metrics and logs.
const (
	outcomePublished    = "published"
	outcomeDeadLettered = "dead_lettered"
	outcomeUnauthorized = "unauthorized"
	outcomeUnknown      = "unknown_account"
	outcomeTooLarge     = "too_large"
	outcomeUnavailable  = "kafka_unavailable"
	outcomeBadRequest   = "bad_request"
	outcomeOverloaded   = "overloaded"
	outcomeDuplicate    = "duplicate"
)

// Register mounts the webhook routes on mux: POST for webhooks, GET for the URL
// verification of vendors that seal their webhooks.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /webhooks/{account}", h)
	mux.HandleFunc("GET /webhooks/{account}", h.handshake)
}

// handshake answers a sealing vendor's URL verification (platform.SealedWebhooks).
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("account")
	acct, ok := h.Accounts[name]
	if !ok {
		reply(w, http.StatusNotFound, "unknown account")
		return
	}
	v, _ := platform.Lookup(acct.Vendor)
	sv, ok := v.(platform.SealedWebhooks)
	if !ok || !sv.Sealed(acct) {
		reply(w, http.StatusMethodNotAllowed, "this account's webhooks are POSTed")
		return
	}
	if !h.allowed(acct, r) {
		reply(w, http.StatusUnauthorized, "source address not allowed")
		return
	}
	echo, err := sv.Handshake(acct, r.URL.Query())
	if err != nil {
		h.Telemetry.Logger().WarnContext(r.Context(), "webhook URL verification rejected", "account", name, "error", err)
		reply(w, http.StatusUnauthorized, "bad signature")
		return
	}
	h.Telemetry.Logger().InfoContext(r.Context(), "webhook URL verified", "account", name)
	w.Header()["Content-Type"] = textPlain
	_, _ = w.Write(echo)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("account")
	ctx, span := telemetry.StartWebhookSpan(r.Context(), r, name)
	h.init()
	status, outcome, typ := h.serve(ctx, w, r, name, start.Add(h.produceTimeout()))
	telemetry.EndHTTP(span, status)
	// Metrics carry only configured account names: any path would otherwise add series.
	account := name
	if _, ok := h.Accounts[name]; !ok {
		account = "_OTHER"
	}
	m := h.Telemetry.Meters()
	m.Webhook(ctx, account, typ, outcome)
	m.ServerRequest(ctx, telemetry.ServerRequest{Method: r.Method, Route: telemetry.WebhookRoute,
		Scheme: scheme(r), Status: status, Account: account}, time.Since(start))
	// Checked first: the arguments would be boxed (allocated) even for a line that is
	// dropped, as accepted webhooks' are at the default level.
	if log, lvl := h.Telemetry.Logger(), level(status); log.Enabled(ctx, lvl) {
		log.Log(ctx, lvl, "webhook", "account", name, "type", typ, "outcome", outcome, "status", status)
	}
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// level logs accepted webhooks at debug: at vendor volumes an info line per webhook
// costs a write each, and callbridge_webhooks_total already counts them.
func level(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelWarn
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, name string, deadline time.Time) (status int, outcome, typ string) {
	typ = "unknown"
	acct, ok := h.Accounts[name]
	if !ok {
		return reply(w, http.StatusNotFound, "unknown account"), outcomeUnknown, typ
	}
	v, ok := platform.Lookup(acct.Vendor)
	if !ok {
		return reply(w, http.StatusNotFound, "unknown account"), outcomeUnknown, typ
	}
	if !h.allowed(acct, r) {
		return reply(w, http.StatusUnauthorized, "source address not allowed"), outcomeUnauthorized, typ
	}
	sv, _ := v.(platform.SealedWebhooks)
	sealed := sv != nil && sv.Sealed(acct)
	// A sealed webhook's signature is its authentication; the token is for the rest.
	if !sealed && !tokenOK(acct.WebhookToken, r) {
		return reply(w, http.StatusUnauthorized, "bad token"), outcomeUnauthorized, typ
	}
	// Admitted before its body is read: the bound covers bodies too.
	if !h.writes.admit(time.Now) {
		h.Telemetry.Meters().WebhookRefused(ctx, name)
		w.Header().Set("Retry-After", retryAfter)
		return reply(w, http.StatusServiceUnavailable, "too many webhooks waiting for kafka"), outcomeOverloaded, typ
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	buf := bodies.Get().(*[]byte)
	body, err := readBody(w, r, limit, *buf)
	// The slot and the body are held until nothing can read the body any more: here,
	// unless a write took them over (it lets go once the producer is done with its
	// records, which may be after this webhook got its 503).
	held := true
	defer func() {
		if held {
			h.letGo(buf, body)
		}
	}()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit)), outcomeTooLarge, typ
		}
		return reply(w, http.StatusBadRequest, "could not read body"), outcomeBadRequest, typ
	}
	deadLetter := func(reason, kind string) (int, string, string) {
		d := publish.DeadLetter{Reason: reason, Source: "webhook", Vendor: acct.Vendor, Account: name, Body: body}
		held = false
		wr := h.start(ctx, nil, buf, body, func(wctx context.Context) (string, error) {
			return outcomeDeadLettered, h.Publisher.DeadLetter(wctx, d, kind)
		})
		return h.await(ctx, w, name, deadline, wr, nil, typ)
	}
	if sealed {
		opened, err := sv.OpenWebhook(acct, r.URL.Query(), body)
		switch {
		case errors.Is(err, platform.ErrUnparseable):
			// Authentic but unreadable (a wrong AES key, say): keep it for replay once fixed.
			h.Telemetry.Logger().WarnContext(ctx, "sealed webhook could not be opened; dead-lettered", "account", name, "error", err)
			return deadLetter(err.Error(), "unopenable_webhook")
		case err != nil:
			h.Telemetry.Logger().WarnContext(ctx, "webhook rejected", "account", name, "error", err)
			return reply(w, http.StatusUnauthorized, "bad signature"), outcomeUnauthorized, typ
		}
		body = opened
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if vv, ok := v.(platform.WebhookVerifier); ok {
		if err := vv.VerifyWebhook(acct, body, now()); err != nil {
			h.Telemetry.Logger().WarnContext(ctx, "webhook rejected", "account", name, "error", err)
			return reply(w, http.StatusUnauthorized, "bad signature"), outcomeUnauthorized, typ
		}
	}

	outs, err := v.ParseWebhook(acct, body)
	if err != nil {
		// The vendor would retry a body that can never parse for a day: keep it on the
		// dead-letter topic with the reason and stop the retries.
		h.Telemetry.Logger().WarnContext(ctx, "webhook could not be parsed; dead-lettered", "account", name, "reason", err.Error())
		return deadLetter(err.Error(), "unparseable_webhook")
	}
	if len(outs) > 0 {
		typ = strings.TrimPrefix(outs[0].Type, "callbridge.")
	}
	// Records acknowledged recently are not written again; records some other
	// delivery of this webhook is writing are waited for.
	ids := make([]string, len(outs))
	for i, o := range outs {
		ids[i] = o.ID
	}
	fresh, mine, others := h.writes.claim(ids, time.Now())
	if mine == nil {
		if len(others) == 0 {
			return reply(w, http.StatusOK, "success"), outcomeDuplicate, typ
		}
		return h.await(ctx, w, name, deadline, nil, others, typ)
	}
	if len(fresh) < len(outs) {
		sel := make([]event.Out, len(fresh))
		mids := make([]string, len(fresh))
		for k, i := range fresh {
			sel[k], mids[k] = outs[i], ids[i]
		}
		outs, ids = sel, mids
	}
	held = false
	h.publish(ctx, mine, ids, buf, body, acct.Vendor, name, outs)
	return h.await(ctx, w, name, deadline, mine, others, typ)
}

// publish hands outs to the producer as wr, detached from the request (see run), and
// records the outcome when the producer reports it: no goroutine waits for it. An
// event that fails its schema goes to the dead-letter topic instead.
func (h *Handler) publish(ctx context.Context, wr *write, ids []string, buf *[]byte, body []byte, vendor, name string, outs []event.Out) {
	err := h.Publisher.PublishAsync(context.WithoutCancel(ctx), vendor, name, outs, func(err error) {
		h.writes.finish(wr, ids, err, outcomePublished, time.Now())
		h.letGo(buf, body)
	})
	if err == nil {
		return
	}
	h.run(ctx, wr, ids, buf, body, func(wctx context.Context) (string, error) {
		var invalid *publish.InvalidEventError
		if !errors.As(err, &invalid) {
			return outcomeUnavailable, err
		}
		d := publish.DeadLetter{Reason: err.Error(), Source: "webhook", Vendor: vendor, Account: name, Body: body}
		if err := h.Publisher.DeadLetter(wctx, d, "invalid_event"); err != nil {
			return outcomeUnavailable, err
		}
		h.Telemetry.Logger().WarnContext(wctx, "webhook made an invalid event; dead-lettered", "account", name, "reason", d.Reason)
		return outcomeDeadLettered, nil
	})
}

// writeGuard bounds a detached write should the producer never report: far beyond
// its own retries (attempts times the produce timeout), so it does not cut them short.
const writeGuard = 10 * time.Minute

// start runs fn as a new write that carries no event ids (a dead letter).
func (h *Handler) start(ctx context.Context, ids []string, buf *[]byte, body []byte, fn func(context.Context) (string, error)) *write {
	h.writes.mu.Lock()
	wr := h.writes.begin(time.Now())
	h.writes.mu.Unlock()
	h.run(ctx, wr, ids, buf, body, fn)
	return wr
}

// run performs wr detached from the request: with the request's trace but not its
// cancellation, so that it ends with the producer's real outcome. Then it records
// the outcome under ids and lets go of the slot and the body.
func (h *Handler) run(ctx context.Context, wr *write, ids []string, buf *[]byte, body []byte, fn func(context.Context) (string, error)) {
	h.writers.do(func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeGuard)
		outcome, err := fn(wctx)
		guarded := wctx.Err() != nil
		cancel()
		h.writes.finish(wr, ids, err, outcome, time.Now())
		if guarded {
			// The producer may still hold the records: the body is left to the
			// garbage collector.
			h.writes.release()
			return
		}
		h.letGo(buf, body)
	})
}

// letGo releases a webhook's slot and recycles its body.
func (h *Handler) letGo(buf *[]byte, body []byte) {
	if cap(body) <= maxPooledBody {
		*buf = body[:0]
		bodies.Put(buf)
	}
	h.writes.release()
}

// await answers once the writes a webhook depends on finished, or with 503 at the
// deadline (the produce timeout after the request arrived), whatever the producer
// is doing.
func (h *Handler) await(ctx context.Context, w http.ResponseWriter, name string, deadline time.Time, mine *write, others []*write, typ string) (int, string, string) {
	timer := timers.Get().(*time.Timer)
	timer.Reset(time.Until(deadline))
	defer func() {
		timer.Stop()
		timers.Put(timer)
	}()
	outcome := outcomeDuplicate
	// Not on the request's cancellation: the write goes on whatever the client
	// does, and waiting for it (within the deadline) costs a client that hung up
	// nothing, where asking the request's context for its Done channel allocated it
	// for every webhook.
	wait := func(wr *write) error {
		select {
		case <-wr.done:
			return wr.err
		case <-timer.C:
			return errProduceTimeout
		}
	}
	if mine != nil {
		if err := wait(mine); err != nil {
			return h.unavailable(ctx, w, name, err, typ)
		}
		outcome = mine.outcome
	}
	for _, o := range others {
		if err := wait(o); err != nil {
			return h.unavailable(ctx, w, name, err, typ)
		}
	}
	return reply(w, http.StatusOK, "success"), outcome, typ
}

// timers recycles await's deadline timers. Since Go 1.23 a stopped timer never
// delivers a stale expiry after Reset, so a timer that fired unread is safe to reuse.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

var errProduceTimeout = errors.New("kafka did not acknowledge within the produce timeout")

func (h *Handler) unavailable(ctx context.Context, w http.ResponseWriter, name string, err error, typ string) (int, string, string) {
	if ctx.Err() != nil {
		return reply(w, http.StatusServiceUnavailable, "request cancelled"), outcomeUnavailable, typ
	}
	if log := h.Telemetry.Logger(); log.Enabled(ctx, slog.LevelWarn) {
		log.WarnContext(ctx, "publish failed", "account", name, "error", err)
	}
	return reply(w, http.StatusServiceUnavailable, "kafka unavailable"), outcomeUnavailable, typ
}

// bodies recycles webhook body buffers: a body is read, parsed and produced within
// its request, and allocating it afresh for every webhook was a good part of the
// garbage the inbound half makes.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody keeps the pool from holding on to the odd large body.
const maxPooledBody = 64 << 10

// readBody reads at most limit bytes into buf, grown to fit Content-Length first so
// that a body is read without repeated growing and copying.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, buf []byte) ([]byte, error) {
	size := int64(bytes.MinRead)
	if n := r.ContentLength; n > 0 && n <= limit {
		size = n + bytes.MinRead // room to see EOF without growing
	}
	b := bytes.NewBuffer(slices.Grow(buf[:0], int(size)))
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return b.Bytes(), err
}

func (h *Handler) produceTimeout() time.Duration {
	if h.ProduceTimeout > 0 {
		return h.ProduceTimeout
	}
	return 10 * time.Second
}

// textPlain is shared by every reply: Header().Set would allocate it per webhook.
// (A length-1 slice: appending to it copies, so no reply can change another's.)
var textPlain = []string{"text/plain; charset=utf-8"}

func reply(w http.ResponseWriter, status int, body string) int {
	w.Header()["Content-Type"] = textPlain
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
	return status
}

// tokenOK compares in constant time so the token cannot be guessed byte by byte.
func tokenOK(want string, r *http.Request) bool {
	got := r.Header.Get("X-Callbridge-Token")
	if got == "" {
		got = r.URL.Query().Get("token")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// allowed applies the account's CIDR allow-list to the client address: the peer, or,
// when the peer is a trusted proxy, the nearest untrusted X-Forwarded-For entry.
func (h *Handler) allowed(acct *platform.Account, r *http.Request) bool {
	if len(acct.AllowCIDRs) == 0 {
		return true
	}
	addr, ok := clientAddr(r, h.TrustedProxies)
	if !ok {
		return false
	}
	for _, p := range acct.AllowCIDRs {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = addr.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr, true
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		a = a.Unmap()
		if !isTrusted(a) {
			return a, true
		}
	}
	return addr, true
}
