package yiwise

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/testvectors"
)

func sealedRows(t *testing.T, name string) []map[string]string {
	return testvectors.Read(t, "yiwise-current/"+name)
}

func sealedAccount(t *testing.T, token, key, receiveID string) *platform.Account {
	t.Helper()
	s, err := Vendor{}.Configure(map[string]string{"TENANT_SIGN": "t", "CALLBACK_TOKEN": token, "CALLBACK_AES_KEY": key, "CALLBACK_RECEIVE_ID": receiveID})
	if err != nil {
		t.Fatal(err)
	}
	return &platform.Account{Name: "yiwise-east", Vendor: Name, Settings: s}
}

func TestOpenWebhookPassesTheVendorsVectors(t *testing.T) {
	for _, r := range sealedRows(t, "callbacks.tsv") {
		t.Run(r["id"], func(t *testing.T) {
			acct := sealedAccount(t, r["token"], r["encoding_aes_key"], r["receive_id"])
			if !(Vendor{}).Sealed(acct) {
				t.Fatal("account with a callback token and key is not sealed")
			}
			q := url.Values{"msg_signature": {r["msg_signature"]}, "timestamp": {r["timestamp"]}, "nonce": {r["nonce"]}}
			body := []byte("<xml>\n<Encrypt><![CDATA[" + r["encrypt_urlencoded"] + "]]></Encrypt>\n<MsgSignature><![CDATA[" + r["msg_signature"] +
				"]]></MsgSignature>\n<TimeStamp>" + r["timestamp"] + "</TimeStamp>\n<Nonce><![CDATA[" + r["nonce"] + "]]></Nonce>\n</xml>")
			got, err := Vendor{}.OpenWebhook(acct, q, body)
			if r["expect"] != "ok" {
				if !errors.Is(err, platform.ErrUnauthorized) {
					t.Fatalf("OpenWebhook = %q, %v; want unauthorized (%s)", got, err, r["expect"])
				}
				return
			}
			if err != nil || string(got) != r["plaintext"] {
				t.Fatalf("OpenWebhook = %q, %v; want %q", got, err, r["plaintext"])
			}
		})
	}
}

func TestHandshakePassesTheVendorsVectors(t *testing.T) {
	for _, r := range sealedRows(t, "url_verification.tsv") {
		t.Run(r["id"], func(t *testing.T) {
			acct := sealedAccount(t, r["token"], r["encoding_aes_key"], r["receive_id"])
			// As the query decoder hands it over after the vendor encoded it twice.
			q := url.Values{"msg_signature": {r["msg_signature"]}, "timestamp": {r["timestamp"]}, "nonce": {r["nonce"]}, "echostr": {r["echostr_urlencoded"]}}
			got, err := Vendor{}.Handshake(acct, q)
			if r["expect"] != "ok" {
				if !errors.Is(err, platform.ErrUnauthorized) {
					t.Fatalf("Handshake = %q, %v; want unauthorized", got, err)
				}
				return
			}
			if err != nil || string(got) != r["reply_body"] {
				t.Fatalf("Handshake = %q, %v; want %q", got, err, r["reply_body"])
			}
		})
	}
}

func TestOpenWebhookRefusalsAndDeadLetters(t *testing.T) {
	const key = "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw"
	acct := sealedAccount(t, "tok", key, "")
	other, _ := callbackcrypto.New("tok", "z9EQtzW6fI+vz/13u3NDN4gGyhuAFa1Js8LNkIZzFVE", "")
	foreign, _ := other.Encrypt([]byte(`{"dataType":"ROBOT_CALL_JOB"}`), nil)
	q := func(enc string) url.Values {
		return url.Values{"msg_signature": {callbackcrypto.Signature("tok", "1", "2", enc)}, "timestamp": {"1"}, "nonce": {"2"}}
	}
	cases := []struct {
		name  string
		query url.Values
		body  string
		want  error
	}{
		{"a plain JSON callback", url.Values{}, `{"dataType":"ROBOT_CALL_JOB","data":{}}`, platform.ErrUnauthorized},
		{"an envelope without a signature", url.Values{}, "<xml><Encrypt>QUJD</Encrypt></xml>", platform.ErrUnauthorized},
		{"not XML", q("x"), "hello", platform.ErrUnauthorized},
		{"signed, but encrypted with another key", q(foreign), "<xml><Encrypt>" + foreign + "</Encrypt></xml>", platform.ErrUnparseable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Vendor{}.OpenWebhook(acct, tc.query, []byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCallbackSettings(t *testing.T) {
	cases := []struct {
		name   string
		values map[string]string
		sealed bool
		err    string
	}{
		{"neither: plain callbacks", map[string]string{}, false, ""},
		{"both: sealed", map[string]string{"CALLBACK_TOKEN": "t", "CALLBACK_AES_KEY": "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw"}, true, ""},
		{"a token alone", map[string]string{"CALLBACK_TOKEN": "t"}, false, "need both"},
		{"a key that is not 43 characters", map[string]string{"CALLBACK_TOKEN": "t", "CALLBACK_AES_KEY": "short"}, false, "CALLBACK_AES_KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Vendor{}.Configure(tc.values)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := (Vendor{}).Sealed(&platform.Account{Settings: s}); got != tc.sealed {
				t.Fatalf("Sealed = %v, want %v", got, tc.sealed)
			}
		})
	}
}
