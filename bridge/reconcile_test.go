package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/config"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/kafkatest"
	"github.com/callbridge/callbridge/internal/platform/platformtest"
	"github.com/callbridge/callbridge/internal/telemetry"
)

// TestReconciliationRecoversCallsThroughTheBridge: an account with RECONCILE_INTERVAL
// set, configured by CALLBRIDGE_* variables, run by the real bridge. Half the calls'
// webhooks reach the bridge over HTTP; the other half never arrive, and the bridge
// publishes them from the vendor's call list with their webhook ids, marked recovered,
// and reports the sweep on /metrics.
func TestReconciliationRecoversCallsThroughTheBridge(t *testing.T) {
	platformtest.Register()
	k := kafkatest.New(t)
	api := &platformtest.API{PageSize: 4}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	for name, v := range map[string]string{
		"CALLBRIDGE_KAFKA_BROKERS":                       strings.Join(k.Addrs(), ","),
		"CALLBRIDGE_KAFKA_TOPIC_PARTITIONS":              "3",
		"CALLBRIDGE_HTTP_ADDR":                           "127.0.0.1:0",
		"CALLBRIDGE_OUTBOUND_ENABLED":                    "false",
		"CALLBRIDGE_ACCOUNTS":                            "lab-main",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_VENDOR":             platformtest.Name,
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_APP_KEY":            "k",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_APP_SECRET":         "s",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_BASE_URL":           apiSrv.URL,
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_WEBHOOK_TOKEN":      "lab-token",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_RATE_LIMIT":         "100",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_RECONCILE_INTERVAL": "1h",
		"CALLBRIDGE_ACCOUNT_LAB_MAIN_RECONCILE_LOOKBACK": "3h",
	} {
		t.Setenv(name, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Accounts[0]; a.ReconcileInterval != time.Hour || a.ReconcileLookback != 3*time.Hour {
		t.Fatalf("account reconcile settings %s / %s", a.ReconcileInterval, a.ReconcileLookback)
	}
	tel, err := telemetry.Setup(context.Background(), telemetry.Options{LogWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	// The calls ended an hour ago; webhooks of the even ones arrive before the bridge
	// sweeps (they are published by the inbound half of an earlier process).
	var delivered, dropped []string
	var bodies [][]byte
	for i := range 10 {
		c := platformtest.Call{ID: "rc-" + strconv.Itoa(i), Task: "t-1", Phone: "1390000000" + strconv.Itoa(i), Status: "answered", Seconds: 9,
			EndedAt: time.Now().Add(-time.Hour).Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
		api.Add(c)
		id := event.CallFinishedID(platformtest.Name, "lab-main", c.ID)
		if i%2 == 0 {
			delivered = append(delivered, id)
			bodies = append(bodies, platformtest.Webhook(c))
		} else {
			dropped = append(dropped, id)
		}
	}
	// An earlier process, without reconciliation, received the webhooks that arrived.
	earlier := *cfg
	earlier.Accounts = slices.Clone(cfg.Accounts)
	earlier.Accounts[0].ReconcileInterval = 0
	first, err := bridge.New(context.Background(), &earlier, bridge.Options{Telemetry: tel, InstanceID: "earlier"})
	if err != nil {
		t.Fatal(err)
	}
	inbound := httptest.NewServer(first.Handler())
	for _, body := range bodies {
		resp, err := http.Post(inbound.URL+"/webhooks/lab-main?token=lab-token", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
	}
	inbound.Close()
	first.Close()

	base := serveBridge(t, cfg, tel, "reconcile-test")

	seen := map[string]int{}
	recovered := map[string]bool{}
	for deadline := time.Now().Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		clear(seen)
		clear(recovered)
		for _, ev := range cloudEvents(t, k, event.TopicCallFinished, 0) {
			seen[ev.ID()]++
			var d event.CallFinished
			if err := json.Unmarshal(ev.Data(), &d); err != nil {
				t.Fatal(err)
			}
			if d.Recovered {
				recovered[ev.ID()] = true
				if ev.Extensions()["partitionkey"] != "t-1" || ev.Source() != "/callbridge/"+platformtest.Name+"/lab-main" {
					t.Errorf("recovered event %s", ev)
				}
			}
		}
		if len(recovered) >= len(dropped) {
			break
		}
	}
	for _, id := range dropped {
		if seen[id] != 1 || !recovered[id] {
			t.Errorf("dropped call %s: on the topic %d times, recovered %v; want once, recovered", id, seen[id], recovered[id])
		}
	}
	for _, id := range delivered {
		if seen[id] != 1 || recovered[id] {
			t.Errorf("delivered call %s: on the topic %d times, recovered %v; want once, from its webhook", id, seen[id], recovered[id])
		}
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`callbridge_reconciled_total{account="lab-main",outcome="published"} 5`,
		`callbridge_reconciled_total{account="lab-main",outcome="already_published"} 5`,
		`callbridge_reconcile_last_success_timestamp_seconds{account="lab-main"} `,
		`http_client_request_duration_seconds_count{callbridge_endpoint="/calls",callbridge_vendor="` + platformtest.Name + `"`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
