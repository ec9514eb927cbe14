package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

type attemptKey struct{}

// WithAttempt records in ctx that requests made with it are attempt n
// (1 = first try) of a vendor call; Transport puts it on the client span.
func WithAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// AttemptFrom returns the attempt set by WithAttempt, or 1 when none is set.
func AttemptFrom(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok && n > 0 {
		return n
	}
	return 1
}

// Transport wraps base (nil: http.DefaultTransport) for calls to vendor:
// every request gets a client span "{METHOD} {path}" and an
// http.client.request.duration measurement recorded on the Telemetry of the latest Setup (resolved per request, so a
// client built before Setup is still measured).
func Transport(base http.RoundTripper, vendor string) http.RoundTripper {
	return &transport{base: base, vendor: vendor}
}

// Transport is like the package-level Transport but records on t.
func (t *Telemetry) Transport(base http.RoundTripper, vendor string) http.RoundTripper {
	if t == nil {
		t = Noop()
	}
	return &transport{base: base, vendor: vendor, tel: t}
}

type transport struct {
	base   http.RoundTripper
	vendor string
	tel    *Telemetry // nil: Default() at request time
}

// RoundTrip records only the vendor, method, path, host, attempt and status:
// the query string can hold phone numbers and the headers hold signatures
// and app secrets, so neither is ever put on the span. The span ends when the
// response headers arrive; vendor bodies are small JSON documents.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tel := tr.tel
	if tel == nil {
		tel = Default()
	}
	base := tr.base
	if base == nil {
		base = http.DefaultTransport
	}
	endpoint := req.URL.Path
	if endpoint == "" {
		endpoint = "/"
	}
	method, attrs := httpMethod(req.Method)
	attempt := AttemptFrom(req.Context())
	attrs = append(attrs,
		AttrVendor.String(tr.vendor),
		AttrEndpoint.String(endpoint),
		AttrAttempt.Int(attempt),
		semconv.URLPath(endpoint),
		semconv.URLScheme(req.URL.Scheme),
		// url.full is required on client spans; the query is dropped, not kept.
		semconv.URLFull(req.URL.Scheme+"://"+req.URL.Host+endpoint),
	)
	if attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(attempt-1))
	}
	if host := req.URL.Hostname(); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host), semconv.ServerPort(urlPort(req)))
	}
	name := method + " " + endpoint
	if method == "_OTHER" {
		name = "HTTP " + endpoint
	}
	ctx, span := tel.tracerProvider().Tracer(ScopeName).Start(req.Context(), name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	// A RoundTripper must not modify the caller's request: inject into a clone.
	out := req.Clone(ctx)
	traceContext.Inject(ctx, propagation.HeaderCarrier(out.Header))

	start := time.Now()
	resp, err := base.RoundTrip(out)
	d := time.Since(start)

	rec := ClientRequest{Vendor: tr.vendor, Endpoint: endpoint, Method: req.Method, Host: req.URL.Hostname()}
	if rec.Host != "" {
		rec.Port = urlPort(req)
	}
	if err != nil {
		rec.ErrorType = errorType(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(rec.ErrorType))
		span.SetStatus(codes.Error, redact(err.Error(), req))
	} else {
		rec.Status = resp.StatusCode
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		if resp.StatusCode >= 400 {
			rec.ErrorType = strconv.Itoa(resp.StatusCode)
			span.SetAttributes(semconv.ErrorTypeKey.String(rec.ErrorType))
			span.SetStatus(codes.Error, "")
		}
	}
	tel.metrics().ClientRequest(ctx, rec, d)
	return resp, err
}

func urlPort(req *http.Request) int {
	if p, err := strconv.Atoi(req.URL.Port()); err == nil {
		return p
	}
	if req.URL.Scheme == "https" {
		return 443
	}
	return 80
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// errorType is a low-cardinality error.type value.
func errorType(err error) string {
	switch {
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	switch typ := fmt.Sprintf("%T", err); typ {
	case "*errors.errorString", "*fmt.wrapError", "*errors.joinError":
		return "_OTHER" // generic types say nothing about the failure
	default:
		return typ // e.g. *net.OpError, *net.DNSError
	}
}

// redact removes the request's query string from an error message: a base
// transport (or url.Error) may quote the full URL, phone numbers included.
func redact(msg string, req *http.Request) string {
	for _, q := range []string{req.URL.RawQuery, req.URL.Query().Encode()} {
		if q != "" {
			msg = strings.ReplaceAll(msg, q, "REDACTED")
		}
	}
	return msg
}
