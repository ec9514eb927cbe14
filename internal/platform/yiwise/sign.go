package yiwise

import (
	"crypto/sha256"
	"encoding/hex"
)

// Sign is Yiwise's request signature: lowercase hex SHA-256 of
// tenantSign + "appKey=…&appSecret=…&tenantSign=…&version=…&timestamp=…", the values
// written as they are (the vendor's sample code does not escape them).
func Sign(appKey, appSecret, tenantSign, version, timestamp string) string {
	sum := sha256.Sum256([]byte(tenantSign + "appKey=" + appKey + "&appSecret=" + appSecret +
		"&tenantSign=" + tenantSign + "&version=" + version + "&timestamp=" + timestamp))
	return hex.EncodeToString(sum[:])
}
