package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/platform"
)

// The built binary, for what only a real process shows: exit codes, signals,
// output streams. It is built once, on first use, with a stamped version.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

const stampedVersion = "v9.8.7-test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callbridge-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "callbridge")
		out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+stampedVersion+" -X main.commit=abc1234", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binError = errors.New(string(out))
		}
	})
	if binError != nil {
		t.Fatalf("go build: %v", binError)
	}
	return binPath
}

// cleanEnv is the test process's environment without any callbridge or
// OpenTelemetry variable, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CALLBRIDGE_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// runBinary runs the binary to completion and returns its exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = cleanEnv(env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return code, o.String(), e.String()
}

func TestBinaryVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, errOut := runBinary(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "callbridge "+stampedVersion+" (commit abc1234, go") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the stamped version, exit 0", args, code, out, errOut)
		}
	}
}

// TestVersionFromBuildInfo: an unstamped binary says what its build information
// says: the module version under `go install …@version`, the VCS revision and time
// from a checkout.
func TestVersionFromBuildInfo(t *testing.T) {
	installed := &debug.BuildInfo{Main: debug.Module{Path: "github.com/callbridge/callbridge", Version: "v1.4.0"}}
	if got := versionLine("dev", "unknown", installed); !strings.HasPrefix(got, "callbridge v1.4.0 (commit unknown, go") {
		t.Errorf("go install build: %q", got)
	}
	checkout := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-11-30T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got := versionLine("dev", "unknown", checkout); !strings.HasPrefix(got, "callbridge dev (commit 0123abc+modified, 2026-11-30T06:00:00Z, go") {
		t.Errorf("checkout build: %q", got)
	}
	if got := versionLine("1.0.0", "feed", checkout); !strings.HasPrefix(got, "callbridge 1.0.0 (commit feed, go") {
		t.Errorf("stamped build: %q", got)
	}
}

// TestBinaryHelp: every command's -h and --help print its flags on stdout and exit
// 0; serve's also lists every variable configuration reads, generated from
// internal/config and the vendor registry.
func TestBinaryHelp(t *testing.T) {
	commands := map[string]string{ // command → a flag its help must show ("" for none)
		"serve": "", "dev": "-kafka-addr", "simulate": "-byai-webhook", "send": "-brokers",
		"sign": "-app-secret", "replay": "-dry-run", "version": "",
	}
	for name, flag := range commands {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := runBinary(t, nil, name, h)
			if code != 0 || !strings.Contains(strings.ToLower(out), "usage") || !strings.Contains(out, flag) {
				t.Errorf("%s %s: exit %d, stdout:\n%s\nstderr: %s\nwant usage with %q, exit 0", name, h, code, out, errOut, flag)
			}
		}
	}
	_, out, _ := runBinary(t, nil, "send", "task.create", "-h")
	if !strings.Contains(out, "-no-validate") {
		t.Errorf("send task.create -h: %s", out)
	}
	_, out, _ = runBinary(t, nil, "sign", platform.Names()[0], "--help")
	if !strings.Contains(out, "-app-key") {
		t.Errorf("sign VENDOR --help: %s", out)
	}

	_, out, _ = runBinary(t, nil, "serve", "--help")
	vars := config.Variables()
	if len(vars) < 30 {
		t.Fatalf("only %d variables", len(vars))
	}
	for _, v := range vars {
		if !strings.Contains(out, "  "+v.Name+" ") && !strings.Contains(out, "  "+v.Name+"\n") {
			t.Errorf("serve --help does not list %s", v.Name)
		}
	}
	for _, v := range config.AccountVariables() {
		if !strings.Contains(out, "  "+v.Name) {
			t.Errorf("serve --help does not list the account variable %s", v.Name)
		}
	}
	for _, vendor := range platform.Vendors() {
		for _, s := range vendor.Settings() {
			if !strings.Contains(out, "  "+s.Name) || !strings.Contains(out, s.Doc) {
				t.Errorf("serve --help does not list %s's %s with its doc", vendor.Name(), s.Name)
			}
		}
	}
	for _, want := range []string{"CALLBRIDGE_CONSUMER_START (default earliest)", "where a new consumer group starts", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

// TestBinaryServeFirstRun: a first run with a typo, no account and no Kafka says so
// in its logs (each unknown variable, no account, the broker's address and the real
// cause, readable durations), and SIGTERM while waiting for Kafka is a clean stop.
func TestBinaryServeFirstRun(t *testing.T) {
	broker := freeAddr(t) // nothing listens there
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = cleanEnv("CALLBRIDGE_KAFKA_BROKERS="+broker, "CALLBRIDGE_HTTP_ADDR="+freeAddr(t), "CALLBRIDGE_KAFKA_BROKER=typo:9092")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var retry map[string]any
	for end := time.Now().Add(20 * time.Second); retry == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no retry line within 20s:\n%s", stderr.String())
		}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, "retrying") {
				_ = json.Unmarshal([]byte(line), &retry)
			}
		}
	}
	if !strings.Contains(retry["error"].(string), broker) || !strings.Contains(retry["error"].(string), "connection refused") || retry["retry_in"] != "1s" {
		t.Errorf("retry line %v: want the broker %s, connection refused and retry_in 1s", retry, broker)
	}
	logs := stderr.String()
	for _, want := range []string{
		`"level":"WARN","msg":"config: CALLBRIDGE_KAFKA_BROKER is not a callbridge variable; it is ignored (did you mean CALLBRIDGE_KAFKA_BROKERS?)"`,
		`"level":"WARN","msg":"config: CALLBRIDGE_ACCOUNTS is empty`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "Broker Not Available") {
		t.Errorf("logs still say Broker Not Available:\n%s", logs)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("SIGTERM while waiting for Kafka: %v, want exit 0\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of SIGTERM")
	}
	if strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr says context canceled:\n%s", stderr.String())
	}
}

// TestServeBadConfigIsOneReadableMessage: every problem, one a line, exit 2.
func TestServeBadConfigIsOneReadableMessage(t *testing.T) {
	code, out, errOut := runBinary(t, []string{"CALLBRIDGE_PHONE_PRIVACY=bogus", "CALLBRIDGE_CONSUMER_START=middle", "CALLBRIDGE_RETRY_MAX_ATTEMPTS=x"}, "serve")
	if code != 2 || out != "" {
		t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "3 problem") {
		t.Fatalf("stderr:\n%s\nwant a heading and one line per problem", errOut)
	}
	for i, v := range []string{"CALLBRIDGE_PHONE_PRIVACY", "CALLBRIDGE_CONSUMER_START", "CALLBRIDGE_RETRY_MAX_ATTEMPTS"} {
		if !strings.Contains(errOut, "  "+v+": ") {
			t.Errorf("problem %d: no line naming %s:\n%s", i, v, errOut)
		}
	}
}
