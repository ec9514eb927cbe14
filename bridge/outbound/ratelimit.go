package outbound

import (
	"net/http"

	"golang.org/x/time/rate"
)

// rateLimited spaces vendor requests of one account to at most perSecond; 0 is no limit.
func rateLimited(next http.RoundTripper, perSecond float64) http.RoundTripper {
	if perSecond <= 0 {
		return next
	}
	burst := max(1, int(perSecond))
	return &limitTransport{next: next, lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

type limitTransport struct {
	next http.RoundTripper
	lim  *rate.Limiter
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.lim.Wait(r.Context()); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(r)
}
