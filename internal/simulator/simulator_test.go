package simulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator"
	"github.com/callbridge/callbridge/internal/simulator/byaisim"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/simtest"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

func post(t *testing.T, url string, hdr http.Header, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env["code"] != float64(200) {
		t.Fatalf("POST %s: HTTP %d %v %v", url, resp.StatusCode, env, err)
	}
	return env
}

func byaiHeaders() http.Header {
	dt := time.Now().UTC().Format(byai.DateTimeLayout)
	return http.Header{"Appkey": {"k"}, "Datetime": {dt}, "Sign": {byai.Sign("k", "s", dt)}}
}

func yiwiseHeaders() http.Header {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	h := http.Header{}
	for k, v := range map[string]string{"appKey": "k", "appSecret": "s", "tenantSign": "t", "version": "v1", "timestamp": ts, "signature": yiwise.Sign("k", "s", "t", "v1", ts)} {
		h.Set(k, v)
	}
	return h
}

func TestRunServesBothVendorsOverHTTPUntilCanceled(t *testing.T) {
	rcv := simtest.NewReceiver(t)
	r, err := simulator.Start(simulator.Options{
		BYAIAddr: "127.0.0.1:0", YiwiseAddr: "127.0.0.1:0",
		BYAI:   byaisim.Config{AppKey: "k", AppSecret: "s", Options: core.Options{WebhookURL: rcv.URL}},
		Yiwise: yiwisesim.Config{AppKey: "k", AppSecret: "s", TenantSign: "t", Options: core.Options{WebhookURL: rcv.URL}},
		// A vendor minute lasts 6ms: a 10s call takes 1ms of real time.
		TimeScale: 0.0001, CallDuration: 10 * time.Second, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}

	env := post(t, r.BYAIURL+byaisim.Prefix+"task/createTask", byaiHeaders(), map[string]any{
		"companyId": 1, "taskName": "e2e", "taskType": 2, "startDate": "2024-01-01", "userPhoneIds": []int{1},
		"callType": 0, "robotDefId": 14, "sceneDefId": 34, "sceneRecordId": 34,
	})
	bTask := env["data"].(float64)
	post(t, r.BYAIURL+byaisim.Prefix+"task/importTaskCustomer", byaiHeaders(), map[string]any{
		"companyId": 1, "taskId": bTask, "customerInfoList": []map[string]string{{"name": "a", "phone": "13800000000"}},
	})
	post(t, r.BYAIURL+byaisim.Prefix+"task/start", byaiHeaders(), map[string]any{"taskId": bTask})

	env = post(t, r.YiwiseURL+yiwisesim.Prefix+"task/createTask", yiwiseHeaders(), map[string]any{
		"jobPhoneNumberList": []map[string]any{{"key": 348, "value": "057188886666"}},
		"robotCallJob": map[string]any{"name": "e2e", "mode": "MANUAL", "startTime": "2024-01-01 09:00:00", "dailyStartTime": "09:00",
			"dailyEndTime": "20:00", "dialogFlowId": 136, "phoneType": "LANDLINE", "robotCount": 1},
	})
	yTask := env["data"].(float64)
	post(t, r.YiwiseURL+yiwisesim.Prefix+"task/importTaskCustomer", yiwiseHeaders(), map[string]any{
		"robotCallJobId": yTask, "customerPersons": []map[string]string{{"name": "a", "phoneNumber": "13900000000"}},
	})
	post(t, r.YiwiseURL+yiwisesim.Prefix+"task/start", yiwiseHeaders(), map[string]any{"robotCallJobId": yTask})

	// One call record and one completion from each vendor.
	rcv.Wait(t, 4)
	if len(r.BYAI.Requests()) != 3 || len(r.Yiwise.Requests()) != 3 {
		t.Fatalf("recorded %d BYAI and %d Yiwise requests, want 3 each", len(r.BYAI.Requests()), len(r.Yiwise.Requests()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(r.BYAIURL); err == nil {
		t.Fatal("BYAI simulator still serves after Close")
	}
}

func TestRunReturnsNilWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- simulator.Run(ctx, simulator.Options{BYAIAddr: "127.0.0.1:0", YiwiseAddr: "127.0.0.1:0"})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestStartFailsOnABusyAddress(t *testing.T) {
	r, err := simulator.Start(simulator.Options{BYAIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	addr := r.BYAIURL[len("http://"):]
	if _, err := simulator.Start(simulator.Options{YiwiseAddr: addr}); err == nil {
		t.Fatal("Start on a busy address succeeded")
	}
}
