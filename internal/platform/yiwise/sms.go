package yiwise

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/loose"
	"github.com/callbridge/callbridge/internal/platform"
)

// DataTypeSMS is the callback of the text messages sent after a call (callBack.md,
// 通话记录短信回调接口).
const DataTypeSMS = "ROBOT_CALL_SMS"

// SMSSentID is the id of the sms.sent event of call callID (callRecordId) of account: a
// call's messages arrive in one callback, so a retried callback keeps its id.
func SMSSentID(account, callID string) string {
	return event.SMSSentID(Name, account, strings.TrimSpace(callID))
}

// parseSMS turns the data of ROBOT_CALL_SMS into sms.sent. The document names the task
// robotCallRobotId / robotCallRobotName; robotCallJobId / robotCallJobName, the names
// every other record uses, are read too.
func parseSMS(acct *platform.Account, data jsondoc.Value, raw json.RawMessage, now time.Time) (event.Out, error) {
	callID := loose.Get(data, "callRecordId").ID()
	if callID == "" {
		return event.Out{}, fmt.Errorf("%w: yiwise: ROBOT_CALL_SMS without callRecordId", platform.ErrUnparseable)
	}
	taskID := first(loose.Get(data, "robotCallRobotId").ID(), loose.Get(data, "robotCallJobId").ID())
	taskName := first(loose.Get(data, "robotCallRobotName").String(), loose.Get(data, "robotCallJobName").String())
	phone := loose.Get(data, "phoneNumber").String()
	msgs := []event.SMS{}
	for m := range data.Get("msgList").Elems {
		if m.Kind() != jsondoc.Object {
			continue
		}
		// msg is the message as sent; text is its template, with ${variables}.
		text := loose.Get(m, "msg").String()
		if text == "" {
			text = loose.Get(m, "text").String()
		}
		msgs = append(msgs, event.SMS{
			TemplateID:   event.Str(loose.Get(m, "smsTemplateId").ID()),
			TemplateName: loose.Get(m, "smsTemplateName").Ptr(),
			Signature:    loose.Get(m, "smsSignatureName").Ptr(),
			Type:         event.Str(loose.Get(m, "type").ID()),
			Text:         text,
		})
	}
	data2 := &event.SMSSent{
		Vendor:    Name,
		Account:   acct.Name,
		CallID:    callID,
		TaskID:    event.Str(taskID),
		TaskName:  event.Str(taskName),
		CompanyID: event.Str(loose.Get(data, "tenantId").ID()),
		Customer: event.Customer{
			ID:    event.Str(loose.Get(data, "customerPersonId").ID()),
			Name:  loose.Get(data, "customerPersonName").Ptr(),
			Phone: event.Str(phone),
		},
		Messages: msgs,
		Raw:      raw,
	}
	key := taskID
	if key == "" {
		key = callID
	}
	return event.Out{
		Topic:   event.TopicSMSSent,
		Type:    event.TypeSMSSent,
		ID:      SMSSentID(acct.Name, callID),
		Subject: "call/" + callID,
		// The callback carries no time of its own.
		Time:   now,
		Key:    key,
		Data:   data2,
		Phones: func() []string { return phonesIn(raw, phone) },
	}, nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
