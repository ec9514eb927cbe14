package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/internal/cekafka"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform/byai"
)

// firstVector is the first row of a vendor signature table, preferring the vendors'
// own output in ../shared/testdata and falling back to the repository's copy.
func firstVector(t *testing.T, name string) []string {
	t.Helper()
	for _, p := range []string{"../../../shared/testdata/signatures/" + name, "../../testdata/signatures/" + name} {
		f, err := os.Open(filepath.Clean(p))
		if err != nil {
			continue
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.Comma = '\t'
		r.LazyQuotes = true
		rows, err := r.ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: no vectors (%v)", p, err)
		}
		return rows[1]
	}
	t.Fatalf("no signature vectors %s", name)
	return nil
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// nonzero in a table means "any failure exit code".
const nonzero = -1

func TestRunExitCodesAndOutput(t *testing.T) {
	b := firstVector(t, "byai.tsv")   // appKey appSecret datetime sign
	y := firstVector(t, "yiwise.tsv") // appKey appSecret tenantSign version timestamp signature
	invalid := writeFile(t, "invalid.json", `{"account": "byai-demo", "name": "no script"}`)
	notJSON := writeFile(t, "broken.json", `{"account": `)
	missing := filepath.Join(t.TempDir(), "nope.json")

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		stdout   string // substring; "" checks nothing
		stderr   string
		noStdout bool
	}{
		{name: "version prints version, commit and Go version", args: []string{"version"}, stdout: "callbridge dev (commit unknown, go"},
		{name: "no command prints usage", code: 2, stderr: "Usage:", noStdout: true},
		{name: "help prints usage", args: []string{"help"}, stdout: "callbridge dev "},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`, noStdout: true},
		{name: "sign byai prints the vendor's sign for its vector",
			args:   []string{"sign", "byai", "--app-key", b[0], "--app-secret", b[1], "--datetime", b[2]},
			stdout: "datetime: " + b[2] + "\nsign: " + b[3] + "\n"},
		{name: "sign yiwise prints the vendor's signature for its vector",
			args:   []string{"sign", "yiwise", "--app-key", y[0], "--app-secret", y[1], "--tenant-sign", y[2], "--api-version", y[3], "--timestamp", y[4]},
			stdout: "timestamp: " + y[4] + "\nsignature: " + y[5] + "\n"},
		{name: "sign of an unknown vendor", args: []string{"sign", "acme"}, code: 2, stderr: "usage: callbridge sign byai|yiwise"},
		{name: "sign without credentials", args: []string{"sign", "byai"}, code: 2, stderr: "--app-key and --app-secret are required"},
		{name: "sign yiwise without its tenant sign", args: []string{"sign", "yiwise", "--app-key", "k", "--app-secret", "s"}, code: 2, stderr: "--tenant-sign is required", noStdout: true},
		{name: "sign byai with a datetime that is not RFC 1123", args: []string{"sign", "byai", "--app-key", "k", "--app-secret", "s", "--datetime", "2024-01-01"},
			code: 2, stderr: "not RFC 1123", noStdout: true},
		{name: "sign yiwise with a timestamp that is not epoch ms", args: []string{"sign", "yiwise", "--app-key", "k", "--app-secret", "s", "--tenant-sign", "t", "--timestamp", "noon"},
			code: 2, stderr: "--timestamp", noStdout: true},
		{name: "replay with Kafka unreachable names the brokers", args: []string{"replay", "--dry-run"}, env: map[string]string{"CALLBRIDGE_KAFKA_BROKERS": "127.0.0.1:1"},
			code: nonzero, stderr: "127.0.0.1:1", noStdout: true},
		{name: "replay takes --brokers", args: []string{"replay", "--dry-run", "--brokers", "127.0.0.1:2"},
			code: nonzero, stderr: "127.0.0.1:2", noStdout: true},
		{name: "send without a type", args: []string{"send"}, code: 2, stderr: "usage: callbridge send TYPE"},
		{name: "send of an unknown type", args: []string{"send", "task.explode", "-f", invalid}, code: 2, stderr: `unknown command type "task.explode"`},
		{name: "send without a file", args: []string{"send", "task.create"}, code: 2, stderr: "-f FILE is required"},
		{name: "send of an invalid command", args: []string{"send", "task.create", "-f", invalid}, code: 2, stderr: "is not a valid task.create command", noStdout: true},
		{name: "send of a file that is not JSON", args: []string{"send", "task.create", "-f", notJSON}, code: 2, stderr: "is not JSON", noStdout: true},
		{name: "send of a file that does not exist", args: []string{"send", "task.create", "-f", missing}, code: nonzero, stderr: "nope.json", noStdout: true},
		{name: "serve with a bad variable names it", args: []string{"serve"}, env: map[string]string{"CALLBRIDGE_PHONE_PRIVACY": "bogus"},
			code: 2, stderr: "CALLBRIDGE_PHONE_PRIVACY", noStdout: true},
		{name: "serve with a bad account variable names it", args: []string{"serve"},
			env:  map[string]string{"CALLBRIDGE_ACCOUNTS": "byai-main", "CALLBRIDGE_ACCOUNT_BYAI_MAIN_VENDOR": "byai"},
			code: 2, stderr: "CALLBRIDGE_ACCOUNT_BYAI_MAIN_", noStdout: true},
		{name: "dev with an unknown flag", args: []string{"dev", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus"},
		{name: "dev with a zero time scale", args: []string{"dev", "--time-scale", "0"}, code: 2, stderr: "--time-scale must be positive"},
		{name: "dev with no customers", args: []string{"dev", "--customers", "0"}, code: 2, stderr: "--customers must be at least 1"},
		{name: "simulate with a stray argument", args: []string{"simulate", "now"}, code: 2, stderr: `unexpected argument "now"`},
		{name: "simulate with nothing to run", args: []string{"simulate", "--byai-addr", "", "--yiwise-addr", ""}, code: 2, stderr: "nothing to run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if (tt.code == nonzero && code == 0) || (tt.code != nonzero && code != tt.code) {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if tt.noStdout && stdout.Len() > 0 {
				t.Errorf("stdout not empty on failure: %q", stdout.String())
			}
		})
	}
}

func TestSendProducesTheExampleAsACloudEvent(t *testing.T) {
	k := kafkatest.New(t, kfake.SeedTopics(1, "task.create"))
	file := "../../examples/task.create.byai.json"
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"send", "task.create", "-f", file, "--brokers", k.Addrs()[0]}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	id := strings.TrimSpace(stdout.String())
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
		t.Fatalf("send printed %q, want the event id", stdout.String())
	}

	msgs := kafkatest.ReadAll(t, k.Addrs(), "task.create", 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d records on task.create, want 1", len(msgs))
	}
	ev, err := cekafka.FromKafka(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID() != id || ev.Type() != "callbridge.task.create" || string(msgs[0].Key) != id || ev.Extensions()["partitionkey"] != id {
		t.Errorf("event id %q type %q key %q partitionkey %v; want id, key and partitionkey %q", ev.ID(), ev.Type(), msgs[0].Key, ev.Extensions()["partitionkey"], id)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	if err := json.Unmarshal(ev.Data(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("event data differs from the file:\n got %s\nwant %s", ev.Data(), want)
	}
}

// syncBuffer is a command's stdout while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a long-running command until the returned stop is called, which
// returns its exit code.
func start(t *testing.T, args ...string) (out *syncBuffer, stop func() int) {
	t.Helper()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	var stderr syncBuffer
	go func() { code <- run(ctx, args, out, &stderr) }()
	return out, func() int {
		cancel()
		select {
		case c := <-code:
			if c != 0 {
				t.Logf("stderr: %s", stderr.String())
			}
			return c
		case <-time.After(15 * time.Second):
			t.Fatal("command did not stop within 15s of cancel")
			return -1
		}
	}
}

func waitFor(t *testing.T, out *syncBuffer, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m
		}
	}
	t.Fatalf("no %q in output:\n%s", re, out.String())
	return nil
}

func TestSimulateServesAndPrintsEachRequest(t *testing.T) {
	out, stop := start(t, "simulate", "--byai-addr", "127.0.0.1:0", "--yiwise-addr", "127.0.0.1:0",
		"--byai-app-key", "k", "--byai-app-secret", "s", "--byai-webhook", "http://127.0.0.1:1/hook?token=secret-token-value")
	url := waitFor(t, out, `BYAI simulator +(http://127\.0\.0\.1:[0-9]+)`)[1]
	waitFor(t, out, `Yiwise simulator +http://127\.0\.0\.1:[0-9]+`)
	if strings.Contains(out.String(), "secret-token-value") {
		t.Error("the webhook token is printed in full")
	}

	dt := time.Now().UTC().Format(byai.DateTimeLayout)
	req, _ := http.NewRequest(http.MethodGet, url+"/openapi/v1/company/getCompanys", nil)
	req.Header.Set("appkey", "k")
	req.Header.Set("datetime", dt)
	req.Header.Set("sign", byai.Sign("k", "s", dt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, out, `vendor +api +byai +company/getCompanys → 200`)
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d after cancel, want 0", code)
	}
}

func TestDevRunsTheDemoPlainWhenPiped(t *testing.T) {
	out, stop := start(t, "dev", "--kafka-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--byai-addr", "127.0.0.1:0", "--yiwise-addr", "127.0.0.1:0", "--customers", "1")
	waitFor(t, out, `event +command\.result +byai-demo +task\.create +succeeded`)
	waitFor(t, out, `event +command\.result +yiwise-demo +task\.create +succeeded`)
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d after cancel, want 0", code)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colored output on a pipe")
	}
}

func TestServeWaitsForKafkaInsteadOfExiting(t *testing.T) {
	// Nothing listens on this broker address yet.
	broker := freeAddr(t)
	httpAddr := freeAddr(t)
	t.Setenv("CALLBRIDGE_KAFKA_BROKERS", broker)
	t.Setenv("CALLBRIDGE_HTTP_ADDR", httpAddr)
	t.Setenv("CALLBRIDGE_ACCOUNTS", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, &stderr) }()

	get := func(path string) int {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(10 * time.Second)
	for get("/healthz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("healthz never answered while Kafka was unreachable")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d while Kafka is unreachable, want 503", got)
	}
	select {
	case code := <-done:
		t.Fatalf("serve exited with %d while waiting for Kafka", code)
	case <-time.After(500 * time.Millisecond):
	}
	// Kafka comes up on that address: the bridge starts and becomes ready.
	_, port, _ := net.SplitHostPort(broker)
	p, _ := strconv.Atoi(port)
	kafkatest.New(t, kfake.Ports(p))
	deadline = time.Now().Add(20 * time.Second)
	for get("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("readyz never turned 200 after Kafka came up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

// freeAddr is a free loopback address below Linux's ephemeral port range: a port the
// kernel may hand out as a source port can be taken (even by a client connecting to
// itself there) between this check and a later listen on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return l.Addr().String()
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}
