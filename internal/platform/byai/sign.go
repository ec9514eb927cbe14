package byai

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
)

// DateTimeLayout is the RFC 1123 GMT form BYAI expects in the datetime header.
const DateTimeLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// Sign is BYAI's request signature: base64 HMAC-SHA1 over appKey + "\n" + datetime,
// keyed by the app secret (the same algorithm is assumed for callbacks).
func Sign(appKey, appSecret, datetime string) string {
	m := hmac.New(sha1.New, []byte(appSecret))
	m.Write([]byte(appKey + "\n" + datetime))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
