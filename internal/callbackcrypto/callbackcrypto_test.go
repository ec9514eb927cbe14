package callbackcrypto

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/testvectors"
)

func rows(t *testing.T, name string) []map[string]string {
	return testvectors.Read(t, "yiwise-current/"+name)
}

func crypt(t *testing.T, r map[string]string) *Crypt {
	t.Helper()
	c, err := New(r["token"], r["encoding_aes_key"], r["receive_id"])
	if err != nil {
		t.Fatalf("%s: New: %v", r["id"], err)
	}
	return c
}

func wantErr(expect string) error {
	switch expect {
	case "bad_signature":
		return ErrSignature
	case "bad_receive_id":
		return ErrReceiveID
	}
	return nil
}

func TestCallbackVectorsFromTheVendorsDemo(t *testing.T) {
	for _, r := range rows(t, "callbacks.tsv") {
		t.Run(r["id"], func(t *testing.T) {
			c := crypt(t, r)
			// The envelope as the vendor's sender writes it (percent-encoded), and with
			// the raw base64: both must be accepted.
			for _, enc := range []string{r["encrypt_urlencoded"], r["encrypt"]} {
				body := Envelope(enc, r["msg_signature"], r["timestamp"], r["nonce"])
				got, err := ParseEnvelope(body)
				if err != nil {
					t.Fatalf("ParseEnvelope: %v", err)
				}
				if got != r["encrypt"] {
					t.Fatalf("ParseEnvelope = %q, want %q", got, r["encrypt"])
				}
				msg, err := c.Open(r["msg_signature"], r["timestamp"], r["nonce"], got)
				if want := wantErr(r["expect"]); want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("Open = %q, %v; want %v", msg, err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if string(msg) != r["plaintext"] {
					t.Fatalf("Open = %q, want %q", msg, r["plaintext"])
				}
			}
		})
	}
}

func TestURLVerificationVectorsFromTheVendorsDemo(t *testing.T) {
	for _, r := range rows(t, "url_verification.tsv") {
		t.Run(r["id"], func(t *testing.T) {
			c := crypt(t, r)
			// The platform may encode echostr once or twice; the query decoder undoes one.
			once, _ := url.QueryUnescape(r["echostr_urlencoded"])
			for _, in := range []string{r["echostr"], r["echostr_urlencoded"], url.QueryEscape(r["echostr_urlencoded"]), once} {
				echo := NormalizeBase64(in)
				if echo != r["echostr"] {
					t.Fatalf("NormalizeBase64(%q) = %q, want %q", in, echo, r["echostr"])
				}
				msg, err := c.Open(r["msg_signature"], r["timestamp"], r["nonce"], echo)
				if want := wantErr(r["expect"]); want != nil {
					if !errors.Is(err, want) {
						t.Fatalf("Open = %q, %v; want %v", msg, err, want)
					}
					return
				}
				if err != nil || string(msg) != r["reply_body"] {
					t.Fatalf("Open = %q, %v; want %q", msg, err, r["reply_body"])
				}
			}
		})
	}
}

func TestEncryptReproducesTheVendorsCiphertext(t *testing.T) {
	for _, r := range rows(t, "callbacks.tsv") {
		if r["expect"] != "ok" {
			continue
		}
		c := crypt(t, r)
		if got := c.encrypt([]byte(r["random_prefix"]), []byte(r["plaintext"])); got != r["encrypt"] {
			t.Errorf("%s: encrypt = %q, want %q", r["id"], got, r["encrypt"])
		}
		if got := Signature(r["token"], r["timestamp"], r["nonce"], r["encrypt"]); got != r["msg_signature"] {
			t.Errorf("%s: Signature = %q, want %q", r["id"], got, r["msg_signature"])
		}
	}
}

func TestMalformedInputIsAnErrorNotAPanic(t *testing.T) {
	c, err := New("tok", "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw", "")
	if err != nil {
		t.Fatal(err)
	}
	good, _ := c.Encrypt([]byte(`{"a":1}`), nil)
	other, _ := New("tok", "z9EQtzW6fI+vz/13u3NDN4gGyhuAFa1Js8LNkIZzFVE", "")
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"not base64", "!!!", ErrCiphertext},
		{"empty", "", ErrCiphertext},
		{"not a multiple of the block", "QUJD", ErrCiphertext},
		{"truncated to one block", good[:24], ErrCiphertext},
		{"another key's ciphertext", func() string { s, _ := other.Encrypt([]byte("x"), nil); return s }(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Decrypt(tc.in)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	for _, key := range []string{"", "short", strings.Repeat("A", 44), strings.Repeat("!", 43)} {
		if _, err := New("t", key, ""); !errors.Is(err, ErrBadKey) {
			t.Errorf("New(key %q) = %v, want ErrBadKey", key, err)
		}
	}
	for _, body := range []string{"", "{}", "<xml></xml>", "<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", "<xml><Encrypt></Encrypt></xml>", "<xml><Encrypt>"} {
		if _, err := ParseEnvelope([]byte(body)); !errors.Is(err, ErrEnvelope) {
			t.Errorf("ParseEnvelope(%q) = %v, want ErrEnvelope", body, err)
		}
	}
}

func TestRoundTripWithReceiveID(t *testing.T) {
	c, _ := New("tok", "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw", "tenant_1")
	for _, msg := range []string{"", "x", strings.Repeat("长", 100)} {
		enc, err := c.Encrypt([]byte(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(enc)
		if err != nil || string(got) != msg {
			t.Errorf("round trip of %q = %q, %v", msg, got, err)
		}
	}
	plain, _ := New("tok", "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw", "")
	enc, _ := c.Encrypt([]byte("x"), nil)
	if _, err := plain.Decrypt(enc); !errors.Is(err, ErrReceiveID) {
		t.Errorf("a message for another receive id: %v, want ErrReceiveID", err)
	}
}

func FuzzDecrypt(f *testing.F) {
	c, _ := New("tok", "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw", "")
	enc, _ := c.Encrypt([]byte(`{"dataType":"ROBOT_CALL_JOB"}`), nil)
	f.Add(enc)
	f.Add("")
	f.Add("QUJDREVGR0hJSktMTU5PUA==")
	f.Fuzz(func(t *testing.T, s string) {
		msg, err := c.Decrypt(s)
		if err == nil {
			// Whatever decrypts must encrypt back to something that decrypts the same.
			again, err := c.Encrypt(msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := c.Decrypt(again); err != nil || !bytes.Equal(back, msg) {
				t.Fatalf("round trip of %q = %q, %v", msg, back, err)
			}
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte("<xml>\n<Encrypt><![CDATA[VjfV%2F7g%3D%3D]]></Encrypt>\n</xml>"))
	f.Add([]byte("<xml><Encrypt>a</Encrypt></xml>"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		enc, err := ParseEnvelope(body)
		if err == nil && (enc == "" || strings.ContainsAny(enc, " ")) {
			t.Fatalf("ParseEnvelope = %q without an error", enc)
		}
	})
}
