package byai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbridge/callbridge/internal/jsondoc"
	"github.com/callbridge/callbridge/internal/platform"
)

// FuzzCallMatchesReference maps call records both ways, the mapping and the one it
// replaced (webhook_ref_test.go), and wants the same events or the same error.
func FuzzCallMatchesReference(f *testing.F) {
	for _, name := range []string{"call_instance_result.json", "inbound_call_instance_result.json"} {
		f.Add(sample(f, name))
	}
	f.Add(readFile(f, "testdata/legacy_call.json"))
	f.Add([]byte(`{"sceneInstance":{"inboundInstanceId":" ","callInstanceId":" 7\u3000","callJobId":1e3,"jobName":"a\u0062",` +
		`"startTime":"2024-02-29 7:05:09.123","endTime":1700000000000,"corpName":"{\"calledTimes\":\"3\"}","luyunOssUrl":"u"},` +
		`"taskResult":[{"resultName":"客户意向等级","resultValueAlias":"ı","resultValue":"b级"},{"resultName":"客户关注点","resultValue":"价格，售后、 ,质量"},` +
		`{"resultName":"客户标签","resultLabels":[{"value":" x "},{"value":""},{"value":7}]}],` +
		`"phoneLog":{"phoneLogs":[{"speaker":"me","content":"\u4f60","startTime":"5"},{"speaker":"x"},{"speaker":" AI ","content":null,"endTime":-1}]}}`))
	accts := []*platform.Account{testAccount(), testAccount(), testAccount()}
	accts[1].Location, accts[2].Location = time.UTC, time.FixedZone("X", -3*3600-1800)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := jsondoc.Parse(body)
		if err != nil {
			return
		}
		rec := d.Root()
		if r := rec.Path("data", "data"); r.Kind() == jsondoc.Object {
			rec = r
		}
		for _, acct := range accts {
			for _, direction := range []string{"outbound", "inbound"} {
				p := &parser{acct: acct, raw: json.RawMessage(rec.Raw()), rec: rec, now: parseNow, scene: rec.Get("sceneInstance"), results: rec.Get("taskResult")}
				got, gotErr := p.call(direction)
				want, wantErr := p.refCall(direction)
				if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
					t.Fatalf("%s: error %v, want %v", direction, gotErr, wantErr)
				}
				if len(got) != len(want) {
					t.Fatalf("%s: %d events, want %d", direction, len(got), len(want))
				}
				for i := range got {
					g, w := got[i], want[i]
					g.Phones, w.Phones = nil, nil
					if !reflect.DeepEqual(g, w) {
						gj, _ := json.Marshal(g)
						wj, _ := json.Marshal(w)
						t.Fatalf("%s: event\n%s\nwant\n%s\n%+v\n%+v", direction, gj, wj, g, w)
					}
				}
			}
		}
	})
}

// FuzzLocalTimeMatchesReference reads times both ways, in a zone with summer time too.
func FuzzLocalTimeMatchesReference(f *testing.F) {
	for _, s := range []string{"2019-01-12 16:09:32", "2024-02-29 00:00:00", "2023-02-29 00:00:00", "2019-01-12 7:09:32",
		"2019-01-12  16:09:32", "2019-01-12 16:09:32.5", "2019-01-12 16:09:32,123456789012", "2019-13-01 00:00:00",
		"2019-04-31 00:00:00", "2019-01-12 24:00:00", "2019-01-12 23:60:00", "2019-01-12 23:59:60", "1546506273268",
		"0000-02-29 00:00:00", "1900-02-29 00:00:00", "2019-1-12 16:09:32", "+019-01-12 16:09:32", "", "-1"} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("NY", -5*3600)
	}
	locs := []*time.Location{testAccount().Loc(), time.UTC, ny}
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range locs {
			got, gotOK := localTimeText(s, loc)
			want, wantOK := refLocalTimeText(s, loc)
			if gotOK != wantOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q in %v: %v %v, want %v %v", s, loc, got, gotOK, want, wantOK)
			}
		}
	})
}

// FuzzAttemptMatchesReference reads calledTimes both ways from corpName's text,
// written with and without escaped HTML.
func FuzzAttemptMatchesReference(f *testing.F) {
	for _, s := range []string{`{"calledTimes":1,"callerId":887,"host":"byrobot-prod27","ip":"172.16.67.198","useAsr":"pay"}`,
		`{}`, `{"calledTimes":3}`, `{"calledTimes":"3"}`, `{"calledTimes":-2}`, `{"calledTimes":2147483648}`, `{"calledTimes":1.0}`,
		`{"calledTimes":01}`, `{"calledTimes":true,"x":null}`, `{"calledTimes":2,"calledTimes":3}`, `{"a":"\n","calledTimes":4}`,
		`{"calledTimes":5,}`, `{"calledTimes":5} `, `{ "calledTimes":5}`, `{"a":{"calledTimes":5}}`, `{"calledTimes":12345678901234567890}`,
		`[1]`, `x`, `{"<&>":1,"calledTimes":6}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{true, false} {
			var b strings.Builder
			b.WriteString(`{"c":`)
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(`}`)
			d, err := jsondoc.Parse([]byte(b.String()))
			if err != nil {
				// encoding/json writes invalid UTF-8 as U+FFFD and never half a surrogate pair.
				t.Fatalf("%s: %v", b.String(), err)
			}
			v := d.Root().Get("c")
			if got, want := attempt(v), refAttempt(v); got != want {
				t.Fatalf("%s: attempt %d, want %d", v.Raw(), got, want)
			}
		}
	})
}

func TestSpacesAreUnicodeSpaces(t *testing.T) {
	var want []rune
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if unicode.IsSpace(r) {
			want = append(want, r)
		}
	}
	if got := []rune(spaces); !slices.Equal(got, want) {
		t.Errorf("spaces %q, unicode.IsSpace %q", got, want)
	}
}

// FuzzTrimSpace: trimSpace is bytes.TrimSpace.
func FuzzTrimSpace(f *testing.F) {
	for _, s := range []string{"", " ", "a", " a ", "无效用户", "\u3000x\u3000", "x\u00a0", "\u2000", "\xe2", "\xe3\x80", "a\x85", "\x85a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := trimSpace(b), bytes.TrimSpace(b); !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("%q: %q, want %q", b, got, want)
		}
	})
}
