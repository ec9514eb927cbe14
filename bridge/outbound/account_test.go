package outbound

import (
	"context"
	"testing"

	"github.com/callbridge/callbridge/internal/command"
	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/platform"
)

func TestACommandForAnAccountWithoutAClientSettlesAsUnknownAccount(t *testing.T) {
	checkRefusals(t, []refusal{
		{name: "an account that is not configured", typ: event.TopicCallSingle, data: map[string]any{"account": "nobody", "phone": "13900000005", "script": script},
			code: command.ErrUnknownAccount, says: `"nobody"`},
		{name: "an account whose vendor is not registered", typ: event.TopicTaskControl, data: taskControl("1", command.ActionStart), client: nil,
			code: command.ErrUnknownAccount, says: testAccount, vendor: testVendor},
	})
}

func TestVendorClientsSendThroughTheConfiguredTransport(t *testing.T) {
	api := &vendorAPI{}
	cfg := Config{Transport: api, Accounts: map[string]*platform.Account{
		"mine":     {Name: "mine", Vendor: testVendor, BaseURL: "http://vendor.test", RateLimit: 100},
		"orphaned": {Name: "orphaned", Vendor: "unregistered"},
	}}
	clients := vendorClients(cfg)
	if _, ok := clients["orphaned"]; ok || len(clients) != 1 {
		t.Fatalf("clients %v, want one for the registered vendor only", clients)
	}
	reply, err := clients["mine"].ControlTask(context.Background(), &command.TaskControl{TaskID: "1", Action: command.ActionPause})
	if err != nil || reply.RequestID != "rq-pause" || api.n.Load() != 1 {
		t.Errorf("reply %+v err %v after %d requests, want the transport's answer", reply, err, api.n.Load())
	}
}
