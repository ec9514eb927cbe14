package yiwisesim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/simulator/webhook"
)

// seal wraps one callback body as the vendor's demo sender does: the signature,
// timestamp (epoch ms) and nonce in the query, the ciphertext percent-encoded inside
// the XML envelope.
func (s *Server) seal(body []byte) webhook.Sealed {
	enc, err := s.crypt.Encrypt(body, nil)
	if err != nil {
		panic("yiwisesim: seal: " + err.Error()) // crypto/rand failing
	}
	ts, nonce := s.stamp()
	sig := callbackcrypto.Signature(s.cfg.CallbackToken, ts, nonce, enc)
	return webhook.Sealed{
		Query:       url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}},
		Body:        callbackcrypto.Envelope(enc, sig, ts, nonce),
		ContentType: "application/xml",
	}
}

func (s *Server) stamp() (timestamp, nonce string) {
	now := s.sim.Clock.Now()
	return strconv.FormatInt(now.UnixMilli(), 10), fmt.Sprintf("%010d", uint64(now.UnixNano())%10_000_000_000)
}

// VerifyCallbackURL is the GET the vendor sends when a callback URL is saved: an
// encrypted echo text the receiver must answer decrypted. It returns an error unless
// the answer is exactly the text.
func (s *Server) VerifyCallbackURL(ctx context.Context) error {
	if s.crypt == nil {
		return fmt.Errorf("yiwisesim: callbacks are not sealed (no CallbackToken and CallbackAESKey)")
	}
	target := s.sim.WebhookURL()
	if target == "" {
		return fmt.Errorf("yiwisesim: no webhook URL")
	}
	const text = "验证接口验签解密是否正确"
	enc, err := s.crypt.Encrypt([]byte(text), nil)
	if err != nil {
		return err
	}
	ts, nonce := s.stamp()
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("yiwisesim: webhook URL: %w", err)
	}
	q := u.Query()
	q.Set("msg_signature", callbackcrypto.Signature(s.cfg.CallbackToken, ts, nonce, enc))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	// Encoded once by hand, and once more by Encode: the vendor's sender does the same.
	q.Set("echostr", url.QueryEscape(enc))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("yiwisesim: verify callback URL: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("yiwisesim: verify callback URL: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(got) != text {
		return fmt.Errorf("yiwisesim: callback URL answered HTTP %d %q, want 200 with the echo text", resp.StatusCode, got)
	}
	return nil
}
