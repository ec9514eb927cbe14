package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/telemetry"
)

func TestServeWithItsAddressTakenExitsAtOnceNamingIt(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	// Nothing listens on the broker address: a serve that reached Kafka before the
	// HTTP address would wait for it instead of exiting.
	t.Setenv("CALLBRIDGE_KAFKA_BROKERS", freeAddr(t))
	t.Setenv("CALLBRIDGE_HTTP_ADDR", addr)
	t.Setenv("CALLBRIDGE_ACCOUNTS", "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stderr syncBuffer
	began := time.Now()
	go func() { done <- run(ctx, []string{"serve"}, io.Discard, &stderr) }()
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("exit code 0 with %s taken, want non-zero", addr)
		}
		if !strings.Contains(stderr.String(), addr) {
			t.Errorf("stderr does not name %s:\n%s", addr, stderr.String())
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Errorf("serve took %s to fail, want at once", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after starting with %s taken:\n%s", addr, stderr.String())
	}
}

func TestStartBridgeHandsItsListenerOverOpen(t *testing.T) {
	k := kafkatest.New(t, kfake.SeedTopics(1))
	t.Setenv("CALLBRIDGE_KAFKA_BROKERS", k.Addrs()[0])
	t.Setenv("CALLBRIDGE_ACCOUNTS", "")
	t.Setenv("CALLBRIDGE_OUTBOUND_ENABLED", "false")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := startBridge(ctx, cfg, tel, ln)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// The socket the waiting server answered on is still open and accepts again, for
	// the bridge to serve on: the port is never closed in between.
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial after startBridge: %v", err)
	}
	c.Close()
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatalf("the listener no longer accepts after startBridge: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted within 5s after startBridge")
	}
}
