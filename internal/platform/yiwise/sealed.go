package yiwise

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/platform"
)

// Sealed reports whether acct's callbacks arrive signed and encrypted: it has a
// CALLBACK_TOKEN and CALLBACK_AES_KEY.
func (Vendor) Sealed(acct *platform.Account) bool { return settingsOf(acct).crypt != nil }

// OpenWebhook verifies and decrypts one callback: msg_signature, timestamp and nonce
// from the query, the ciphertext from the XML envelope's Encrypt element. A bad or
// missing signature, or a body that is not the envelope (a plain JSON callback
// included), is unauthorized; an authentic ciphertext that does not decrypt is
// unparseable, so it is kept on the dead-letter topic.
func (Vendor) OpenWebhook(acct *platform.Account, query url.Values, body []byte) ([]byte, error) {
	c := settingsOf(acct).crypt
	if c == nil {
		return nil, fmt.Errorf("yiwise: account %s has no callback key: %w", acct.Name, platform.ErrUnauthorized)
	}
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '{' {
		return nil, fmt.Errorf("yiwise: a plain callback to an account whose callbacks are encrypted: %w", platform.ErrUnauthorized)
	}
	enc, err := callbackcrypto.ParseEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("yiwise: %w: %w", platform.ErrUnauthorized, err)
	}
	return open(c, query, enc)
}

// Handshake answers the URL verification: the decrypted echostr.
func (Vendor) Handshake(acct *platform.Account, query url.Values) ([]byte, error) {
	c := settingsOf(acct).crypt
	if c == nil {
		return nil, fmt.Errorf("yiwise: account %s has no callback key: %w", acct.Name, platform.ErrUnauthorized)
	}
	echo := callbackcrypto.NormalizeBase64(query.Get("echostr"))
	if echo == "" {
		return nil, fmt.Errorf("yiwise: URL verification without echostr: %w", platform.ErrUnauthorized)
	}
	msg, err := open(c, query, echo)
	if err != nil {
		// An echo that does not decrypt is not an answer either way.
		return nil, fmt.Errorf("%w: %w", platform.ErrUnauthorized, err)
	}
	return msg, nil
}

func open(c *callbackcrypto.Crypt, query url.Values, enc string) ([]byte, error) {
	sig, ts, nonce := query.Get("msg_signature"), query.Get("timestamp"), query.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		return nil, fmt.Errorf("yiwise: msg_signature, timestamp and nonce are required: %w", platform.ErrUnauthorized)
	}
	msg, err := c.Open(sig, ts, nonce, enc)
	switch {
	case errors.Is(err, callbackcrypto.ErrSignature), errors.Is(err, callbackcrypto.ErrReceiveID):
		// Not ours: a bad signature, or signed with our token for another receiver.
		return nil, fmt.Errorf("yiwise: %w: %w", platform.ErrUnauthorized, err)
	case err != nil:
		return nil, fmt.Errorf("yiwise: %w: %w", platform.ErrUnparseable, err)
	}
	return msg, nil
}
