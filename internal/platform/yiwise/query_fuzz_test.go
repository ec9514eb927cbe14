package yiwise

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/event"
	"github.com/callbridge/callbridge/internal/jsondoc"
)

// FuzzRecoveredCall feeds the query APIs' answers (a finished-call list item and a
// call detail) to the reconciliation path: it never panics, and what it makes is the
// call.finished the webhook parser makes for the same call id.
func FuzzRecoveredCall(f *testing.F) {
	f.Add([]byte(`{"callRecordId":47,"tenantId":1,"robotCallJobId":50,"calledPhoneNumber":"18817501728","resultStatus":"ANSWERED","intentLevel":"A","startTime":"2018-08-04 11:57:33","chatDuration":93,"callDetailList":[{"text":"喂","type":"ROBOT","callDetailId":1}]}`),
		[]byte(`{"callRecordId":47,"endTime":"2018-10-02T16:54:08","callDetailList":[{"text":"嗯","type":"PERSON"}],"customerPerson":{"attributes":["x"]}}`))
	f.Add([]byte(`{"callRecordId":"1","startTime":1539341215000}`), []byte(`null`))
	f.Add([]byte(`{"callRecordId":1e3,"callRecordId":2}`), []byte(`[]`))
	f.Add([]byte(`{}`), []byte(`{"endTime":{}}`))
	f.Fuzz(func(t *testing.T, item, detail []byte) {
		acct := testAccount()
		_, _ = jsondoc.With(item, func(it jsondoc.Value) (struct{}, error) {
			_, _ = jsondoc.With(detail, func(det jsondoc.Value) (struct{}, error) {
				out, err := recoveredCall(acct, it, det, time.Unix(0, 0))
				if err != nil {
					return struct{}{}, nil
				}
				d, ok := out.Data.(*event.CallFinished)
				if !ok || !d.Recovered {
					t.Fatalf("Data %T not a recovered call", out.Data)
				}
				if out.ID != CallFinishedID(acct.Name, d.CallID) || out.Key == "" {
					t.Fatalf("id %s key %q", out.ID, out.Key)
				}
				if _, err := json.Marshal(d); err != nil {
					t.Fatal(err)
				}
				return struct{}{}, nil
			})
			return struct{}{}, nil
		})
	})
}

// FuzzQueryAnswer feeds arbitrary data to the readers of query answers: the tables of
// `callbridge vendor`, the task id of a create answer and the job detail job/modify
// writes back. None panics; tables keep the answer verbatim.
func FuzzQueryAnswer(f *testing.F) {
	f.Add([]byte(`[{"tenantPhoneNumberId":276,"phoneNumber":"0000000000","phoneType":"MOBILE"}]`))
	f.Add([]byte(`{"tenantId":1,"tenantName":"杭州一知智能科技有限公司"}`))
	f.Add([]byte(`{"robotCallJobId":139}`))
	f.Add([]byte(`139`))
	f.Add([]byte(`{"robotCallJob":{"robotCallJobId":1,"dailyStartTime":"15:08:31","inactiveTimeList":[{"startTime":"12:00","endTime":"13:00"}],"redialCondition":["CALL_LOSS",1,null]},"jobPhoneNumberList":[{"tenantPhoneNumberId":675,"concurrencyQuota":5},7]}`))
	f.Add([]byte(`{"number":1,"pages":"x","content":[null,{"a":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb := table(data, []string{"tenantPhoneNumberId", "phoneNumber", "phoneType"})
		if string(tb.JSON) != string(data) {
			t.Fatal("table JSON is not the answer verbatim")
		}
		for _, r := range tb.Rows {
			if len(r) != 3 {
				t.Fatalf("row %v", r)
			}
		}
		if ft := fieldsTable(data, "robotCallJob"); string(ft.JSON) != string(data) {
			t.Fatal("fields JSON is not the answer verbatim")
		}
		_, _ = jsondoc.With(data, func(d jsondoc.Value) (struct{}, error) {
			_ = taskIDOf(d)
			if req, ok := jobFromDetail(1, d); ok {
				if req.RobotCallJob.RobotCallJobID != 1 || req.JobPhoneNumberIDList == nil || req.RobotCallJob.InactiveTimeList == nil {
					t.Fatalf("job %+v", req)
				}
				if _, err := json.Marshal(req); err != nil {
					t.Fatal(err)
				}
			}
			return struct{}{}, nil
		})
	})
}

// FuzzPendingAnswer feeds arbitrary data, as every page's data, to the pending query's
// reader (callRecord/toBeCalledList): paging stops within maxPages and never panics,
// the items are every page's content elements as one valid JSON array, and each makes
// one row of every column.
func FuzzPendingAnswer(f *testing.F) {
	f.Add([]byte(`{"number":1,"pageSize":20,"totalElements":1,"pages":1,"content":[{"robotCallTaskId":3033235,"customerPersonId":7170228,"customerPersonName":"不要拨打","calledPhoneNumber":"156****7777","customerPersonGroupName":"","status":"NOT_STARTED","inWhiteList":false,"properties":{"尾号数_单个":"1"},"inShareWhiteList":null}]}`))
	f.Add([]byte(`{"number":1,"pages":"3","content":[{"properties":"x","inWhiteList":"true"},7,null,[]]}`))
	f.Add([]byte(`{"pages":2,"content":{}}`))
	f.Add([]byte(`{"pages":1e1,"content":[{}],"content":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		calls := 0
		items, err := (&client{}).pages(context.Background(), func(int) (*envelope, error) {
			calls++
			return &envelope{Data: data}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls < 1 || calls > maxPages {
			t.Fatalf("%d pages asked", calls)
		}
		if !json.Valid(items) {
			t.Fatalf("items %s are not JSON", items)
		}
		var list []json.RawMessage
		if err := json.Unmarshal(items, &list); err != nil {
			t.Fatalf("items %s are not an array: %v", items, err)
		}
		perPage := 0
		_, _ = jsondoc.With(data, func(d jsondoc.Value) (struct{}, error) {
			perPage = d.Get("content").Len()
			if d.Get("content").Kind() != jsondoc.Array {
				perPage = 0
			}
			return struct{}{}, nil
		})
		if len(list) != calls*perPage {
			t.Fatalf("%d items from %d pages of %d", len(list), calls, perPage)
		}
		tab := pendingTable(items)
		if string(tab.JSON) != string(items) || len(tab.Rows) != len(list) {
			t.Fatalf("table of %d rows, JSON %s", len(tab.Rows), tab.JSON)
		}
		for _, r := range tab.Rows {
			if len(r) != len(tab.Columns) {
				t.Fatalf("row %q", r)
			}
		}
	})
}
