package yiwise

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/callbridge/callbridge/internal/event"
)

func TestParseWebhookSMSSampleMapsEveryField(t *testing.T) {
	body := sample(t, "robot_call_sms.json")
	acct := testAccount()
	out := parseOne(t, acct, body)
	d, ok := out.Data.(*event.SMSSent)
	if !ok {
		t.Fatalf("Data is %T", out.Data)
	}
	if out.Topic != event.TopicSMSSent || out.Type != event.TypeSMSSent {
		t.Errorf("topic/type = %q/%q", out.Topic, out.Type)
	}
	if out.Subject != "call/53780" || out.Key != "2454" {
		t.Errorf("subject/key = %q/%q, want the call and the task", out.Subject, out.Key)
	}
	if out.ID != event.SMSSentID(Name, acct.Name, "53780") {
		t.Errorf("ID = %q is not derived from the call id", out.ID)
	}
	if !out.Time.Equal(parseNow) {
		t.Errorf("Time = %v", out.Time)
	}
	if p := out.Phones(); len(p) != 1 || p[0] != "18326042077" {
		t.Errorf("Phones = %q", p)
	}
	want := event.SMSSent{
		Vendor: Name, Account: acct.Name, CallID: "53780", TaskID: strp("2454"), TaskName: strp("wokrtest04240009"),
		CompanyID: strp("916"), Customer: event.Customer{ID: strp("7180758"), Name: strp("漂亮小姐姐"), Phone: strp("18326042077")},
		Messages: []event.SMS{{TemplateID: strp("152"), TemplateName: strp("lalala"), Signature: strp("一知智能T1"),
			Type: strp("NOTICE"), Text: "【一知智能T1】漂亮小姐姐 你好，很高兴认识你"}},
	}
	got := *d
	got.Raw = nil
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("data\n got %s\nwant %s", gb, wb)
	}
	if !bytes.Equal(d.Raw, dataOf(t, body)) {
		t.Errorf("Raw is not the data object verbatim")
	}
}

func TestParseWebhookSMSIDFollowsTheCall(t *testing.T) {
	acct := testAccount()
	a := parseOne(t, acct, []byte(`{"dataType":"ROBOT_CALL_SMS","data":{"callRecordId":7,"robotCallRobotId":1,"msgList":[{"msg":"a"}]}}`))
	b := parseOne(t, acct, []byte(`{"data":{"callRecordId":"7","robotCallJobId":1,"robotCallJobName":"n","msgList":[{"text":"b"}]},"dataType":"ROBOT_CALL_SMS"}`))
	c := parseOne(t, acct, []byte(`{"dataType":"ROBOT_CALL_SMS","data":{"callRecordId":8,"robotCallRobotId":1,"msgList":[]}}`))
	if a.ID != b.ID {
		t.Error("two shapes of one call's messages have two ids")
	}
	if a.ID == c.ID {
		t.Error("two calls share an id")
	}
	if call := parseOne(t, acct, []byte(`{"dataType":"ROBOT_CALL_RECORD","data":{"callRecordId":7}}`)); call.ID == a.ID {
		t.Error("sms.sent and call.finished of one call share an id")
	}
	if d := b.Data.(*event.SMSSent); *d.TaskName != "n" || d.Messages[0].Text != "b" {
		t.Errorf("job names and template text are not read: %+v", d)
	}
}

func TestParseWebhookSMSWithoutCallIsUnparseable(t *testing.T) {
	if _, err := parseWebhook(testAccount(), []byte(`{"dataType":"ROBOT_CALL_SMS","data":{"msgList":[]}}`), parseNow); err == nil {
		t.Fatal("accepted")
	}
}

func TestSignHeadersOnJobOmitSecretAndTenantSign(t *testing.T) {
	in := map[string]string{"APP_KEY": "k", "APP_SECRET": "s", "TENANT_SIGN": "t", "TIMESTAMP": "1", "API": APIJob}
	hs, err := Vendor{}.SignHeaders(in, parseNow)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	if len(hs) != 4 || names[0] != "appKey" || names[3] != "signature" || hs[3].Value != Sign("k", "s", "t", "v1", "1") {
		t.Fatalf("headers %v", hs)
	}
}
