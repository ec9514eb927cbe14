package bridge_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
	"github.com/callbridge/callbridge/internal/simulator/core"
	"github.com/callbridge/callbridge/internal/simulator/yiwisesim"
)

// swapHandler lets a server exist (and its URL be configured) before its handler.
type swapHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// newJobEnv runs both halves of a bridge whose yiwise-east account speaks the current
// (API=job) family, against a simulator of that family whose callbacks reach the bridge.
func newJobEnv(t *testing.T) *outEnv {
	t.Helper()
	k := newCluster(t)
	sw := &swapHandler{}
	ywSrv := httptest.NewServer(sw)
	t.Cleanup(ywSrv.Close)
	vars := baseVars(k.Addrs(), "http://127.0.0.1:1", ywSrv.URL)
	vars["CALLBRIDGE_ACCOUNT_YIWISE_EAST_API"] = "job"
	vars["CALLBRIDGE_RETRY_INITIAL_BACKOFF"] = "5ms"
	vars["CALLBRIDGE_RETRY_MAX_BACKOFF"] = "20ms"
	te := start(t, k, vars)
	yw := yiwisesim.New(yiwisesim.Config{
		AppKey: "gvlfIPLJTMEAHgyM", AppSecret: "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", TenantSign: "zhongna", API: "job",
		Options: core.Options{TimeScale: 0.001, Seed: 3, WebhookURL: te.srv.URL + "/webhooks/yiwise-east?token=" + yiwiseToken},
	})
	t.Cleanup(yw.Close)
	sw.mu.Lock()
	sw.h = yw
	sw.mu.Unlock()
	e := &outEnv{testEnv: te, yiwise: yw, vars: vars}
	e.stop = e.run(te)
	e.writer = &kafka.Writer{Addr: kafka.TCP(k.Addrs()...), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Murmur2Balancer{}}
	t.Cleanup(func() { e.writer.Close() })
	return e
}

// checkJobHeaders asserts the current family's four headers, and that neither the
// app secret nor the tenant sign travelled.
func checkJobHeaders(t *testing.T, r vendorRequest) {
	t.Helper()
	for _, h := range []string{"Appkey", "Version", "Timestamp", "Signature"} {
		if len(r.Header[h]) != 1 {
			t.Errorf("%s: header %s = %q", r.Endpoint, h, r.Header[h])
		}
	}
	for _, h := range []string{"Appsecret", "Tenantsign"} {
		if len(r.Header[h]) != 0 {
			t.Errorf("%s: header %s sent on API=job", r.Endpoint, h)
		}
	}
	ts := first(r.Header, "Timestamp")
	if got := yiwise.Sign("gvlfIPLJTMEAHgyM", "TuPngoiRCvpxYdOHcQOsWYvaLGhATNiW", "zhongna", "v1", ts); first(r.Header, "Signature") != got {
		t.Errorf("%s: signature is not SHA-256 over tenantSign + appKey, appSecret, tenantSign, version, timestamp", r.Endpoint)
	}
}

func TestYiwiseJobAccountEndToEnd(t *testing.T) {
	env := newJobEnv(t)
	create := yiwiseCreate("现行接口任务", 6, true)
	create["redial"] = map[string]any{"enabled": true, "rules": []any{
		map[string]any{"status": "busy", "times": 2, "intervalMinutes": 30},
		map[string]any{"status": "no_answer", "times": 2, "intervalMinutes": 30}}}
	env.send(event.TopicTaskCreate, "cmd-job-create", create)
	_, r := env.result("cmd-job-create")
	if r.Outcome != command.Succeeded || r.TaskID == "" || r.Imported == nil || r.Imported.Accepted != 6 {
		t.Fatalf("task.create result %+v (error %+v)", r, r.Error)
	}
	creates := env.requests("yiwise", yiwise.EndpointJobCreate)
	if len(creates) != 1 || creates[0].Method != "POST" || creates[0].Path != "/apiOpen/v1/job/create" {
		t.Fatalf("job/create requests %+v", creates)
	}
	body := creates[0].Body
	job := body["robotCallJob"].(map[string]any)
	if asNum(t, body, "concurrencyQuota") != "3" || asNum(t, job, "redialTimes") != "2" || asNum(t, job, "redialInterval") != "30" ||
		asNum(t, job, "tenantId") != "1" || asNum(t, job, "dialogFlowId") != "136" || job["startTime"] != "2026-11-22 09:30:00" {
		t.Errorf("job/create body %v", body)
	}
	if conds, _ := job["redialCondition"].([]any); len(conds) != 2 || conds[0] != "BUSY" || conds[1] != "NO_ANSWER" {
		t.Errorf("redialCondition %v", job["redialCondition"])
	}
	if ids, _ := body["jobPhoneNumberIdList"].([]any); len(ids) != 1 || ids[0] != json.Number("348") {
		t.Errorf("jobPhoneNumberIdList %v", body["jobPhoneNumberIdList"])
	}
	for _, ep := range []string{yiwise.EndpointJobCreate, yiwise.EndpointJobImport, yiwise.EndpointJobStart, yiwise.EndpointTenant} {
		reqs := env.requests("yiwise", ep)
		if len(reqs) == 0 {
			t.Fatalf("no %s request", ep)
		}
		for _, rq := range reqs {
			checkJobHeaders(t, rq)
		}
	}
	if imp := env.requests("yiwise", yiwise.EndpointJobImport); asNum(t, imp[0].Body, "robotCallJobId") != r.TaskID {
		t.Errorf("import body %v", imp[0].Body)
	}

	calls := env.events(event.TopicCallFinished, 6)
	if len(calls) < 6 {
		t.Fatalf("%d call.finished, want 6", len(calls))
	}
	answered := 0
	for _, c := range calls {
		var d event.CallFinished
		if err := json.Unmarshal(c.Data(), &d); err != nil {
			t.Fatal(err)
		}
		if d.TaskID == nil || *d.TaskID != r.TaskID {
			t.Errorf("call.finished task %v, want %s", d.TaskID, r.TaskID)
		}
		if d.IntentLevel != nil && (*d.IntentLevel == "A" || *d.IntentLevel == "B") && d.Answered {
			answered++
		}
	}
	if answered > 0 {
		sms := env.events(event.TopicSMSSent, answered)
		if len(sms) != answered {
			t.Fatalf("%d sms.sent, want one per A/B answered call (%d)", len(sms), answered)
		}
		for _, s := range sms {
			var d event.SMSSent
			if err := json.Unmarshal(s.Data(), &d); err != nil {
				t.Fatal(err)
			}
			if s.Type() != event.TypeSMSSent || s.Extensions()["partitionkey"] != r.TaskID || len(d.Messages) != 1 || d.Messages[0].Text == "" {
				t.Errorf("sms.sent %s: type %s key %v data %+v", s.ID(), s.Type(), s.Extensions()["partitionkey"], d)
			}
			if s.ID() != yiwise.SMSSentID("yiwise-east", d.CallID) {
				t.Errorf("sms.sent id %s is not the call's", s.ID())
			}
		}
	} else {
		t.Log("no A/B answered call with this seed: sms.sent not exercised")
	}

	// task.control: concurrency goes to job/updateAiCount.
	env.send(event.TopicTaskControl, "cmd-job-conc", map[string]any{"account": "yiwise-east", "taskId": r.TaskID, "action": "set_concurrency", "concurrency": 2})
	if _, cr := env.result("cmd-job-conc"); cr.Outcome != command.Succeeded {
		t.Fatalf("set_concurrency %+v", cr.Error)
	}
	upd := env.requests("yiwise", yiwise.EndpointJobUpdateAiCount)
	if len(upd) != 1 || asNum(t, upd[0].Body, "robotCount") != "2" || asNum(t, upd[0].Body, "robotCallJobId") != r.TaskID {
		t.Fatalf("job/updateAiCount %+v", upd)
	}
	checkJobHeaders(t, upd[0])
	// task.update: the whole job written back with PATCH job/modify, the new name in it.
	env.send(event.TopicTaskUpdate, "cmd-job-update", map[string]any{"account": "yiwise-east", "taskId": r.TaskID, "name": "改名的现行接口任务", "remark": "改"})
	if _, ur := env.result("cmd-job-update"); ur.Outcome != command.Succeeded {
		t.Fatalf("task.update %+v", ur.Error)
	}
	mod := env.requests("yiwise", yiwise.EndpointJobModify)
	if len(mod) != 1 || mod[0].Method != http.MethodPatch || mod[0].Path != "/apiOpen/v1/job/modify" {
		t.Fatalf("job/modify requests %+v", mod)
	}
	if !containsValue(mod[0].Body, "改名的现行接口任务") {
		t.Errorf("job/modify body %v does not carry the new name", mod[0].Body)
	}
	checkJobHeaders(t, mod[0])
	// customer.import on its own, and pause.
	env.send(event.TopicCustomerImport, "cmd-job-import", map[string]any{"account": "yiwise-east", "taskId": r.TaskID, "customers": customers(2)})
	if _, ir := env.result("cmd-job-import"); ir.Outcome != command.Succeeded || ir.Imported == nil || ir.Imported.Accepted != 2 {
		t.Fatalf("customer.import %+v %+v", ir.Error, ir.Imported)
	}
	if imp := env.requests("yiwise", yiwise.EndpointJobImport); len(imp) != 2 || imp[1].Method != http.MethodPost {
		t.Fatalf("job/importCustomer requests %+v", imp)
	} else {
		checkJobHeaders(t, imp[1])
	}
	env.send(event.TopicTaskControl, "cmd-job-pause", map[string]any{"account": "yiwise-east", "taskId": r.TaskID, "action": "pause"})
	// The campaign has finished by now: the vendor refuses to pause it (412), a final
	// vendor_rejected, after one exact request.
	if _, pr := env.result("cmd-job-pause"); pr.Outcome != command.Failed || pr.Error == nil || pr.Error.Code != command.ErrVendorRejected {
		t.Fatalf("pause of a finished job: %+v %+v", pr.Outcome, pr.Error)
	}
	if pause := env.requests("yiwise", yiwise.EndpointJobPause); len(pause) != 1 || asNum(t, pause[0].Body, "robotCallJobId") != r.TaskID {
		t.Fatalf("job/pause %+v", pause)
	} else {
		checkJobHeaders(t, pause[0])
	}
	env.send(event.TopicTaskControl, "cmd-job-delete", map[string]any{"account": "yiwise-east", "taskId": r.TaskID, "action": "delete"})
	if _, cr := env.result("cmd-job-delete"); cr.Outcome != command.Succeeded {
		t.Fatalf("delete %+v", cr.Error)
	}
	if del := env.requests("yiwise", yiwise.EndpointJobDelete); len(del) != 1 || asNum(t, del[0].Body, "robotCallJobId") != r.TaskID {
		t.Fatalf("job/delete %+v", del)
	}

	// call.single: job/oneTimeCall, and its call comes back as call.finished.
	env.send(event.TopicCallSingle, "cmd-job-single", map[string]any{"account": "yiwise-east", "phone": "13900000077", "name": "单呼",
		"variables": map[string]string{"城市": "杭州"}, "script": map[string]any{"dialogFlowId": 96}})
	if _, sr := env.result("cmd-job-single"); sr.Outcome != command.Succeeded {
		t.Fatalf("call.single %+v", sr.Error)
	}
	one := env.requests("yiwise", yiwise.EndpointJobOneTimeCall)
	if len(one) != 1 || asNum(t, one[0].Body, "dialogFlowId") != "96" || one[0].Body["phoneType"] == nil {
		t.Fatalf("job/oneTimeCall %+v", one)
	}
	checkJobHeaders(t, one[0])
	persons, _ := one[0].Body["customerPersons"].([]any)
	if len(persons) != 1 || persons[0].(map[string]any)["phoneNumber"] != "13900000077" {
		t.Errorf("customerPersons %v", one[0].Body["customerPersons"])
	}
	if got := env.events(event.TopicCallFinished, 7); len(got) < 7 {
		t.Fatalf("the single call's call.finished did not arrive (%d events)", len(got))
	}
}

// containsValue reports whether v appears anywhere in the decoded JSON body.
func containsValue(body any, v string) bool {
	switch b := body.(type) {
	case string:
		return b == v
	case map[string]any:
		for _, x := range b {
			if containsValue(x, v) {
				return true
			}
		}
	case []any:
		for _, x := range b {
			if containsValue(x, v) {
				return true
			}
		}
	}
	return false
}
