package yiwisesim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/callbackcrypto"
	"github.com/callbridge/callbridge/internal/simulator/clock"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

const (
	cbToken = "AIGbuK3sOV"
	cbKey   = "INnZzJ/DPbUqqtU2ycEhzL8ewpsCRb9XqHBWHdDCknw"
)

// sealedReceiver opens sealed callbacks as a receiver following the vendor's demo would.
type sealedReceiver struct {
	*httptest.Server
	crypt  *callbackcrypto.Crypt
	mu     sync.Mutex
	opened [][]byte
	errs   []error
}

func newSealedReceiver(t *testing.T, token string) *sealedReceiver {
	c, err := callbackcrypto.New(token, cbKey, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &sealedReceiver{crypt: c}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		if req.Method == http.MethodGet {
			msg, err := r.crypt.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), callbackcrypto.NormalizeBase64(q.Get("echostr")))
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			_, _ = w.Write(msg)
			return
		}
		body, _ := io.ReadAll(req.Body)
		enc, err := callbackcrypto.ParseEnvelope(body)
		var msg []byte
		if err == nil {
			msg, err = r.crypt.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), enc)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || req.Header.Get("Content-Type") != "application/xml" {
			r.errs = append(r.errs, err)
			http.Error(w, "bad", http.StatusUnauthorized)
			return
		}
		r.opened = append(r.opened, msg)
		_, _ = io.WriteString(w, "success")
	}))
	t.Cleanup(r.Close)
	return r
}

func TestSealedCallbacksOpenToTheDocumentedBodies(t *testing.T) {
	rcv := newSealedReceiver(t, cbToken)
	fc := clock.NewFake(t0)
	s := yiwisesim.New(yiwisesim.Config{
		AppKey: key, AppSecret: secret, TenantSign: tenant, CallbackToken: cbToken, CallbackAESKey: cbKey,
		Options: core.Options{WebhookURL: rcv.URL + "/webhooks/yiwise-east?token=t", Clock: fc, TimeScale: scale, CallDuration: callD, Seed: 42},
	})
	t.Cleanup(s.Close)
	h := &harness{t: t, s: s, fc: fc}
	task := h.createTask("加密回调", 1)
	h.importCustomers(task, "13900000001")
	h.ok("POST", "task/start", map[string]any{"robotCallJobId": task})
	simtest.Pump(t, fc, step, func() bool { return h.state(task) == core.StateCompleted })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rcv.mu.Lock()
		n := len(rcv.opened) + len(rcv.errs)
		rcv.mu.Unlock()
		if n >= 2 {
			break
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.errs) > 0 || len(rcv.opened) != 2 {
		t.Fatalf("opened %d callbacks with errors %v; want 2 and none", len(rcv.opened), rcv.errs)
	}
	for _, b := range rcv.opened {
		var cb struct{ DataType string }
		if err := json.Unmarshal(b, &cb); err != nil || (cb.DataType != yiwisesim.DataTypeRecord && cb.DataType != yiwisesim.DataTypeJob) {
			t.Errorf("opened body %s: %v", b, err)
		}
	}
}

func TestVerifyCallbackURL(t *testing.T) {
	for _, tc := range []struct {
		name, receiverToken string
		ok                  bool
	}{
		{"a receiver with the same token answers the echo", cbToken, true},
		{"a receiver with another token refuses", "another", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newSealedReceiver(t, tc.receiverToken)
			s := yiwisesim.New(yiwisesim.Config{
				AppKey: key, AppSecret: secret, TenantSign: tenant, CallbackToken: cbToken, CallbackAESKey: cbKey,
				Options: core.Options{WebhookURL: rcv.URL + "/webhooks/yiwise-east"},
			})
			t.Cleanup(s.Close)
			err := s.VerifyCallbackURL(context.Background())
			if (err == nil) != tc.ok {
				t.Fatalf("VerifyCallbackURL = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
