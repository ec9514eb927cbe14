package outbound

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

func TestClassifyTellsRetryableFromFinalVendorFailures(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code      string
		retryable bool
		vendor    int // 0: no vendor code
	}{
		{"a retryable answer that ran out of attempts", vendorErr(http.StatusServiceUnavailable), command.ErrRetriesExhausted, true, 503},
		{"a transport failure", &platform.Error{Endpoint: "ep", Err: io.ErrUnexpectedEOF, Retryable: true}, command.ErrRetriesExhausted, true, 0},
		{"an error no client wrapped", errors.New("dial tcp: refused"), command.ErrRetriesExhausted, true, 0},
		{"HTTP 401", vendorErr(http.StatusUnauthorized), command.ErrAuthFailed, false, 401},
		{"an envelope code 403 wins over the HTTP status", &platform.Error{Endpoint: "ep", HTTPStatus: 200, Code: 403}, command.ErrAuthFailed, false, 403},
		{"an envelope code of the vendor's own", &platform.Error{Endpoint: "ep", HTTPStatus: 200, Code: 10001}, command.ErrVendorRejected, false, 10001},
		{"HTTP 404", vendorErr(http.StatusNotFound), command.ErrVendorRejected, false, 404},
		{"HTTP 412", vendorErr(http.StatusPreconditionFailed), command.ErrVendorRejected, false, 412},
		{"no API for it", fmt.Errorf("set_concurrency: %w", platform.ErrUnsupported), command.ErrUnsupportedByVendor, false, 0},
		{"data the request cannot carry", fmt.Errorf("startAt: %w", platform.ErrInvalidInput), command.ErrInvalidCommand, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := classify(tt.err)
			if ce.Code != tt.code || ce.Retryable != tt.retryable || ce.Message != tt.err.Error() {
				t.Errorf("classify = %+v, want code %s retryable %v and the error's message", ce, tt.code, tt.retryable)
			}
			switch {
			case tt.vendor == 0 && ce.VendorCode != nil:
				t.Errorf("vendor code %d, want none", *ce.VendorCode)
			case tt.vendor != 0 && (ce.VendorCode == nil || *ce.VendorCode != tt.vendor):
				t.Errorf("vendor code %v, want %d", ce.VendorCode, tt.vendor)
			}
		})
	}
}

func TestNotFoundReadsTheVendorsCodeOrStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"HTTP 404", vendorErr(http.StatusNotFound), true},
		{"envelope code 404", fmt.Errorf("wrapped: %w", &platform.Error{HTTPStatus: 200, Code: 404}), true},
		{"another answer", vendorErr(http.StatusGone), false},
		{"not a vendor answer", io.EOF, false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := notFound(tt.err); got != tt.want {
				t.Errorf("notFound = %v, want %v", got, tt.want)
			}
		})
	}
}
