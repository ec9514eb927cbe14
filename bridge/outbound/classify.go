package outbound

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/platform"
)

// classify turns a final vendor failure into the result's error: retryable failures
// that ran out of attempts are retries_exhausted, 401/403 auth_failed, any other
// vendor answer vendor_rejected.
func classify(err error) *command.Error {
	ce := &command.Error{Message: err.Error()}
	var ve *platform.Error
	switch {
	case errors.Is(err, platform.ErrUnsupported):
		ce.Code = command.ErrUnsupportedByVendor
	case errors.Is(err, platform.ErrInvalidInput):
		ce.Code = command.ErrInvalidCommand
	case errors.As(err, &ve):
		code := vendorCode(ve)
		if code != 0 {
			ce.VendorCode = &code
		}
		switch {
		case ve.Retryable:
			ce.Code, ce.Retryable = command.ErrRetriesExhausted, true
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			ce.Code = command.ErrAuthFailed
		default:
			ce.Code = command.ErrVendorRejected
		}
	default:
		// Not a vendor answer (a transport failure the client did not wrap): the
		// request may succeed later.
		ce.Code, ce.Retryable = command.ErrRetriesExhausted, true
	}
	return ce
}

// vendorCode is the vendor's envelope code, or the HTTP status when there was none.
func vendorCode(ve *platform.Error) int {
	if ve.Code != 0 {
		return ve.Code
	}
	return ve.HTTPStatus
}

// notFound reports whether err is the vendor answering 404 (code or status), and
// returns that answer.
func notFound(err error) (*platform.Error, bool) {
	var ve *platform.Error
	if errors.As(err, &ve) && vendorCode(ve) == http.StatusNotFound {
		return ve, true
	}
	return nil, false
}

// unknownOutcome settles a command whose step may have reached the vendor before the
// run that made it stopped: repeating it could act twice.
func unknownOutcome(step string) *command.Error {
	return &command.Error{
		Code:    command.ErrOutcomeUnknown,
		Message: fmt.Sprintf("a previous run stopped during %s after the vendor may have received it; it was not repeated", step),
	}
}
