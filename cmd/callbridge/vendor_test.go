package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/broker"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/internal/platform/platformtest"
	"github.com/callbridge/callbridge/internal/publish"
)

// noQuery is a vendor whose client answers no queries and lists no calls.
type noQuery struct{ platformtest.Vendor }

func (noQuery) Name() string { return "noquery" }
func (noQuery) NewClient(*platform.Account, *http.Client) platform.Client {
	return struct{ platform.Client }{}
}

func init() {
	platformtest.Register()
	platform.Register(noQuery{})
}

// labEnv configures account lab-main of the test vendor on api, and noq-main of a
// vendor without queries.
func labEnv(t *testing.T, api http.Handler, brokers []string) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"CALLBRIDGE_ACCOUNTS":                       "lab-main,noq-main",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_VENDOR":        platformtest.Name,
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_APP_KEY":       "k",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_APP_SECRET":    "s",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_BASE_URL":      srv.URL,
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_WEBHOOK_TOKEN": "t",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_RATE_LIMIT":    "50",
		"CALLBRIDGE_ACCOUNT_NOQ_MAIN_VENDOR":        "noquery",
		"CALLBRIDGE_ACCOUNT_NOQ_MAIN_APP_KEY":       "k",
		"CALLBRIDGE_ACCOUNT_NOQ_MAIN_APP_SECRET":    "s",
		"CALLBRIDGE_ACCOUNT_NOQ_MAIN_BASE_URL":      srv.URL,
		"CALLBRIDGE_ACCOUNT_NOQ_MAIN_WEBHOOK_TOKEN": "t",
		"OTEL_TRACES_EXPORTER":                      "none",
	}
	if brokers != nil {
		vars["CALLBRIDGE_KAFKA_BROKERS"] = strings.Join(brokers, ",")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVendorCommand(t *testing.T) {
	api := &platformtest.API{}
	api.Add(platformtest.Call{ID: "c-1", Task: "t-9", Status: "answered", Seconds: 42, EndedAt: "2026-11-29T10:00:00+08:00"},
		platformtest.Call{ID: "c-22", Task: "t-9", Status: "busy", Seconds: 0, EndedAt: "2026-11-29T10:05:00+08:00"})
	labEnv(t, api, nil)

	t.Run("a table with aligned columns by default", func(t *testing.T) {
		code, out, errOut := runCLI("vendor", "lab-main", "phones")
		want := "ID  NUMBER       TYPE\n7   02161234567  landline\n12  13800000000  mobile\n"
		if code != 0 || out != want {
			t.Errorf("exit %d, stdout\n%s\nstderr %s\nwant\n%s", code, out, errOut, want)
		}
	})
	t.Run("arguments and -o after them", func(t *testing.T) {
		code, out, errOut := runCLI("vendor", "lab-main", "calls", "t-9")
		if code != 0 || !strings.HasPrefix(out, "CALL  STATUS    SECONDS  ENDED\nc-1   answered  42       2026-11-29T10:00:00+08:00\n") {
			t.Errorf("exit %d, stdout\n%s\nstderr %s", code, out, errOut)
		}
	})
	t.Run("-o json prints the vendor's JSON", func(t *testing.T) {
		code, out, errOut := runCLI("vendor", "lab-main", "phones", "-o", "json")
		var got []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 || got[0]["number"] != "02161234567" {
			t.Errorf("exit %d, stdout %s, stderr %s", code, out, errOut)
		}
	})
	t.Run("an unknown WHAT lists the queries", func(t *testing.T) {
		code, out, errOut := runCLI("vendor", "lab-main", "robots")
		if code != 2 || out != "" || !strings.Contains(errOut, `has no query "robots"`) ||
			!strings.Contains(errOut, "phones") || !strings.Contains(errOut, "calls TASK_ID") {
			t.Errorf("exit %d, stdout %q, stderr %s", code, out, errOut)
		}
	})
	t.Run("-h lists the queries", func(t *testing.T) {
		code, out, _ := runCLI("vendor", "lab-main", "-h")
		if code != 0 || !strings.Contains(out, "calls TASK_ID") || !strings.Contains(out, "finished calls of a task") {
			t.Errorf("exit %d, stdout %s", code, out)
		}
	})
	t.Run("-h alone shows the usage and the accounts", func(t *testing.T) {
		code, out, _ := runCLI("vendor", "-h")
		if code != 0 || !strings.Contains(out, "Usage: callbridge vendor ACCOUNT WHAT") || !strings.Contains(out, "lab-main ("+platformtest.Name+")") {
			t.Errorf("exit %d, stdout %s", code, out)
		}
	})
	t.Run("wrong arguments are a usage error", func(t *testing.T) {
		if code, _, errOut := runCLI("vendor", "lab-main", "calls"); code != 2 || !strings.Contains(errOut, "calls TASK_ID") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
		if code, _, errOut := runCLI("vendor", "lab-main", "phones", "-o", "yaml"); code != 2 || !strings.Contains(errOut, "table or json") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("an unknown account names the configured ones", func(t *testing.T) {
		if code, _, errOut := runCLI("vendor", "nope", "phones"); code != 2 || !strings.Contains(errOut, "lab-main, noq-main") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("a vendor without queries is named", func(t *testing.T) {
		if code, _, errOut := runCLI("vendor", "noq-main", "phones"); code != 2 || !strings.Contains(errOut, "vendor noquery has no query API") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("a failing vendor is exit 1", func(t *testing.T) {
		api.Fail = func(*http.Request) int { return http.StatusBadGateway }
		defer func() { api.Fail = nil }()
		if code, _, errOut := runCLI("vendor", "lab-main", "phones"); code != 1 || !strings.Contains(errOut, "502") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
	})
}

func TestReconcileCommand(t *testing.T) {
	k := kafkatest.New(t)
	if err := broker.EnsureTopics(context.Background(), broker.Config{Brokers: k.Addrs()}, []broker.TopicSpec{{Name: event.TopicCallFinished}}); err != nil {
		t.Fatal(err)
	}
	api := &platformtest.API{PageSize: 3}
	labEnv(t, api, k.Addrs())
	acct := &platform.Account{Name: "lab-main", Vendor: platformtest.Name}
	w := &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	pub := &publish.Publisher{Writer: w}
	v, _ := platform.Lookup(platformtest.Name)
	for i := range 10 {
		c := platformtest.Call{ID: "call-" + string(rune('a'+i)), Task: "t-1", Status: "answered", Seconds: 5,
			EndedAt: time.Now().Add(-time.Hour).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)}
		api.Add(c)
		if i%3 == 0 {
			continue // its webhook never arrived
		}
		outs, err := v.ParseWebhook(acct, platformtest.Webhook(c))
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(context.Background(), platformtest.Name, acct.Name, outs); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int { return len(kafkatest.ReadAll(t, k.Addrs(), event.TopicCallFinished, 0, 0)) }

	code, out, errOut := runCLI("reconcile", "--account", "lab-main", "--since", "2h", "--dry-run")
	if code != 0 || strings.Count(out, "would publish  call/") != 4 || !strings.Contains(out, "10 calls listed, 6 already published, 4 would publish") {
		t.Fatalf("dry run: exit %d, stdout\n%s\nstderr %s", code, out, errOut)
	}
	if n := count(); n != 6 {
		t.Fatalf("the dry run produced: %d records, want 6", n)
	}
	code, out, errOut = runCLI("reconcile", "--account", "lab-main", "--since", time.Now().Add(-2*time.Hour).Format(time.RFC3339), "--until", "0s")
	if code != 0 || !strings.Contains(out, "4 published") {
		t.Fatalf("reconcile: exit %d, stdout\n%s\nstderr %s", code, out, errOut)
	}
	if n := len(kafkatest.ReadAll(t, k.Addrs(), event.TopicCallFinished, 10, 5*time.Second)); n != 10 {
		t.Fatalf("%d records after reconciling, want 10", n)
	}
	code, out, _ = runCLI("reconcile", "--account", "lab-main", "--since", "2h")
	if code != 0 || !strings.Contains(out, "10 already published, 0 published") {
		t.Errorf("again: exit %d, stdout\n%s", code, out)
	}
	if code, _, errOut := runCLI("reconcile", "--account", "lab-main"); code != 2 || !strings.Contains(errOut, "--since") {
		t.Errorf("without --since: exit %d, stderr %s", code, errOut)
	}
	if code, _, errOut := runCLI("reconcile", "--account", "lab-main", "--since", "yesterday"); code != 2 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("bad --since: exit %d, stderr %s", code, errOut)
	}
}
