// Package callbackcrypto is the signed, AES-encrypted callback scheme of the WeChat
// Work "WXBizMsgCrypt" construction, as a calling platform uses it: a SHA-1
// signature over the sorted token, timestamp, nonce and ciphertext, and AES-256-CBC
// over a random prefix, the message length, the message and a receive id, padded
// PKCS#7-style to 32-byte blocks (the vendor documents' encrypted-callbacks.md
// describes it step by step). Every check the decryption makes
// is an error here, never a panic, since the input comes from outside.
package callbackcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// blockSize is the scheme's padding block: 32 bytes, not AES's 16.
const blockSize = 32

var (
	// ErrBadKey is a configured key that is not 43 characters of base64.
	ErrBadKey = errors.New("callbackcrypto: the AES key must be 43 characters of base64")
	// ErrSignature is a signature that does not match.
	ErrSignature = errors.New("callbackcrypto: signature mismatch")
	// ErrCiphertext is a ciphertext that does not decrypt to the scheme's layout.
	ErrCiphertext = errors.New("callbackcrypto: malformed ciphertext")
	// ErrReceiveID is a message whose receive id differs from the configured one.
	ErrReceiveID = errors.New("callbackcrypto: receive id mismatch")
	// ErrEnvelope is a POST body that is not the XML envelope.
	ErrEnvelope = errors.New("callbackcrypto: malformed envelope")
)

// Crypt holds one account's callback secrets. Build it with New.
type Crypt struct {
	token     string
	key       []byte // 32 bytes; the IV is its first 16
	receiveID string
	block     cipher.Block
}

// New derives the AES key from the 43-character encodingAesKey. receiveID is usually
// empty, as the vendor uses it.
func New(token, encodingAESKey, receiveID string) (*Crypt, error) {
	if len(encodingAESKey) != 43 {
		return nil, ErrBadKey
	}
	// The vendor's decoder ignores the unused low bits of the 43rd character, as
	// encoding/base64 does only in non-strict mode, which is the default.
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return &Crypt{token: token, key: key, receiveID: receiveID, block: block}, nil
}

// Signature is the scheme's signature: lowercase hex SHA-1 of the four values sorted
// and concatenated.
func Signature(token, timestamp, nonce, encrypted string) string {
	parts := []string{token, timestamp, nonce, encrypted}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify checks signature in constant time.
func (c *Crypt) Verify(signature, timestamp, nonce, encrypted string) error {
	want := Signature(c.token, timestamp, nonce, encrypted)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}

// Open verifies the signature over encrypted (standard base64, as NormalizeBase64
// returns it) and decrypts it to the message.
func (c *Crypt) Open(signature, timestamp, nonce, encrypted string) ([]byte, error) {
	if err := c.Verify(signature, timestamp, nonce, encrypted); err != nil {
		return nil, err
	}
	return c.Decrypt(encrypted)
}

// Decrypt decrypts a ciphertext without checking a signature.
func (c *Crypt) Decrypt(encrypted string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %v", ErrCiphertext, err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a non-zero multiple of %d", ErrCiphertext, len(ct), aes.BlockSize)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, fmt.Errorf("%w: padding byte %d", ErrCiphertext, pad)
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the prefix and length", ErrCiphertext, len(pt))
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, fmt.Errorf("%w: message length %d exceeds the %d bytes left", ErrCiphertext, n, len(pt)-20)
	}
	msg, rid := pt[20:20+n], pt[20+n:]
	if subtle.ConstantTimeCompare(rid, []byte(c.receiveID)) != 1 {
		return nil, ErrReceiveID
	}
	return msg, nil
}

// Encrypt is the sender's side (simulators, tests): random is the 16-byte prefix
// source, nil meaning crypto/rand.
func (c *Crypt) Encrypt(msg []byte, random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	prefix := make([]byte, 16)
	if _, err := io.ReadFull(random, prefix); err != nil {
		return "", fmt.Errorf("callbackcrypto: random prefix: %w", err)
	}
	for i, b := range prefix {
		prefix[i] = letters[int(b)%len(letters)]
	}
	return c.encrypt(prefix, msg), nil
}

func (c *Crypt) encrypt(prefix, msg []byte) string {
	var buf bytes.Buffer
	buf.Write(prefix)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(c.receiveID)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	pt := buf.Bytes()
	cipher.NewCBCEncrypter(c.block, c.key[:aes.BlockSize]).CryptBlocks(pt, pt)
	return base64.StdEncoding.EncodeToString(pt)
}

// NormalizeBase64 undoes the percent-encoding the vendor applies to ciphertexts once
// or twice (and a form decoder's '+' → ' '): valid base64 never contains '%' or a
// space, so decoding while a '%' remains and restoring spaces to '+' is unambiguous.
func NormalizeBase64(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < 3 && strings.Contains(s, "%"); i++ {
		d, err := url.PathUnescape(s) // PathUnescape keeps '+'
		if err != nil {
			break
		}
		s = d
	}
	return strings.ReplaceAll(s, " ", "+")
}

// envelope is the POST body: <xml><Encrypt>…</Encrypt>…</xml>. Only Encrypt is read;
// the vendor's receiver takes signature, timestamp and nonce from the query string.
type envelope struct {
	XMLName xml.Name `xml:"xml"`
	Encrypt []string `xml:"Encrypt"`
}

// ParseEnvelope returns the ciphertext of a POST body, normalized with
// NormalizeBase64.
func ParseEnvelope(body []byte) (string, error) {
	var e envelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(&e); err != nil {
		return "", fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if len(e.Encrypt) != 1 {
		return "", fmt.Errorf("%w: %d Encrypt elements, want 1", ErrEnvelope, len(e.Encrypt))
	}
	enc := NormalizeBase64(e.Encrypt[0])
	if enc == "" {
		return "", fmt.Errorf("%w: empty Encrypt", ErrEnvelope)
	}
	return enc, nil
}

// Envelope builds a POST body as the vendor's sender does, the ciphertext and
// signature percent-encoded inside CDATA.
func Envelope(encrypted, signature, timestamp, nonce string) []byte {
	esc := func(s string) string {
		return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(s)
	}
	return []byte("<xml>\n<Encrypt><![CDATA[" + esc(encrypted) + "]]></Encrypt>\n<MsgSignature><![CDATA[" + esc(signature) +
		"]]></MsgSignature>\n<TimeStamp>" + timestamp + "</TimeStamp>\n<Nonce><![CDATA[" + nonce + "]]></Nonce>\n</xml>")
}
