package byai

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/platform"
)

// fuzzParser checks a query answer's parser on any bytes: it never panics, and every
// row it returns fits its columns.
func fuzzParser(f *testing.F, parse func(json.RawMessage) ([][]string, []string, error), seeds ...string) {
	for _, s := range append(seeds, `null`, `[]`, `{}`, `[{"a":1}]`, `"x"`, `[1,"2",null]`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, cols, err := parse(b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(cols) {
				t.Fatalf("row %v does not fit columns %v", r, cols)
			}
		}
	})
}

func FuzzParseCompanies(f *testing.F) {
	fuzzParser(f, ParseCompanies, `[{"companyName":"阿里巴巴","companyId":1},{"companyName":"网易","companyId":"2"}]`)
}

func FuzzParsePhones(f *testing.F) {
	fuzzParser(f, ParsePhones, `[{"userPhoneId":0,"phone":"1400xxxxxxx","phoneName":"x","phoneType":6,"available":true,"totalConcurrencyQuota":5,"usedConcurrencyQuota":0,"lineAmount":1.040}]`)
}

func FuzzParseRobots(f *testing.F) {
	fuzzParser(f, ParseRobots, `[{"robotDefId":14,"robotName":"测试话术1","sceneDefId":34,"sceneRecords":[{"sceneRecordId":34,"sceneRecordName":"r"}]},{"robotDef":15}]`)
}

func FuzzParseSeats(f *testing.F) {
	fuzzParser(f, ParseSeats, `{"companyAllCallSeat":2,"companyUsingCallSeat":0}`)
}

func FuzzParseTaskDetail(f *testing.F) {
	fuzzParser(f, ParseTaskDetail, `{"callJobId":19,"jobName":"testJob","jobType":2,"status":2,"callPhones":[{"userPhoneId":1}]}`)
}

func FuzzParseCallDetail(f *testing.F) {
	fuzzParser(f, ParseCallDetail, `{"phoneLog":{"phoneLogs":[{"speaker":"AI","content":"x"}]},"sceneInstance":{"callInstanceId":540,"callJobId":31,"finishStatus":0,"duration":87,"luyunOssUrl":"u","robotDef":6}}`)
}

// FuzzParsePage covers the page answers (getTasks, queryDoneTaskPhones,
// notDialedCustomerList) and the rows read from their items.
func FuzzParsePage(f *testing.F) {
	for _, s := range []string{
		`{"pageNum":1,"pageSize":2,"total":2,"pages":1,"list":[{"callInstanceId":493,"callIndex":10,"duration":"27秒","finishStatus":0,"endTime":"2017-10-25 11:33:22"}]}`,
		`{"list":[{"callInstanceId":493,"customerName":"a","calledTimes":1}]}`, `{"list":null}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _, err := ParsePage(b)
		if err != nil {
			return
		}
		for _, it := range items {
			if len(ParseDoneCall(it)) != len(doneColumns) || len(ParsePending(it)) != len(pendingColumns) || len(taskRow(it)) != len(taskColumns) {
				t.Fatal("a row does not fit its columns")
			}
		}
	})
}

// FuzzRecoveredCall feeds phoneLogInfo answers to the reconciliation path: it never
// panics, and a call it reads has the id its webhook would have.
func FuzzRecoveredCall(f *testing.F) {
	f.Add([]byte(`{"sceneInstance":{"callInstanceId":540,"callJobId":31,"finishStatus":0,"endTime":"2018-01-24 20:53:28"},"taskResult":[],"phoneLog":{"phoneLogs":[]}}`))
	f.Add([]byte(`{"taskResult":[{"resultName":"客户意向等级","sceneInstanceId":1}]}`))
	f.Add([]byte(`null`))
	acct := &platform.Account{Name: "byai-main"}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := RecoveredCall(acct, b, time.Unix(0, 0))
		if err != nil {
			return
		}
		if out.ID == "" || out.Key == "" {
			t.Fatalf("recovered call without id or key: %+v", out)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{Task: 360001, Index: 49}.Encode())
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if back, err := ParseCursor(c.Encode()); err != nil || back != c {
			t.Fatalf("cursor %+v does not survive encoding: %+v, %v", c, back, err)
		}
	})
}
