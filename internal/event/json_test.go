package event

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func i64(n int64) *int64 { return &n }

func sp(s string) *string { return &s }

// allControls is every byte below 0x20, the ones with short escapes included.
var allControls = func() string {
	var b strings.Builder
	for c := byte(0); c < 0x20; c++ {
		b.WriteByte(c)
		b.WriteByte('x')
	}
	return b.String()
}()

var tricky = []string{
	"",
	"plain",
	`quote " and backslash \ and \"both\"`,
	allControls,
	"\x7f del",
	"<script>alert('x')</script> & more",
	"line\u2028sep\u2029para",
	"bad \xff utf8 \xc3 \xe4\xb8 \xed\xa0\x80 end\xf0\x9f",
	"overlong \xe0\x80\x80 \xc0\xaf, lone continuation \x80\xbf, cut U+2028 \xe2\x80",
	"\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa\xe2\x80",
	"您好，我是百应的智能客服，请问您现在方便接听电话吗？",
	"emoji 🔑 and \u00e9",
	"/slashes/ are not escaped",
}

func TestAppendJSON(t *testing.T) {
	full := &CallFinished{
		Vendor: "byai", Account: "main", Direction: "outbound", CallID: "9001",
		TaskID: sp("43"), TaskName: sp("回访"), CompanyID: sp("7"),
		Customer:     Customer{ID: sp("c1"), Name: sp("张三"), Phone: sp("13800000000")},
		CallerNumber: sp("02100000000"), Status: StatusAnswered, VendorStatus: "0",
		Answered: true, IntentLevel: sp("A"), IntentLabel: sp("有意向"),
		Tags: []string{"a", "b"}, Concerns: []string{}, DurationSeconds: math.MaxInt64,
		ChatRounds: math.MinInt64, StartedAt: sp("2019-01-12T16:09:32+08:00"),
		EndedAt: sp(""), HangupBy: sp("customer"), RecordingURL: sp("https://x/y?a=1&b=<2>"),
		CustomerRecordingURL: sp("\u2028"),
		Transcript: []Utterance{
			{Speaker: "robot", Text: "您好", StartMs: i64(0), EndMs: i64(-1)},
			{Speaker: "customer", Text: "\"\\\n", StartMs: nil, EndMs: i64(math.MaxInt64)},
			{},
		},
		Attempt: -3,
	}
	type appendCase struct {
		name string
		v    JSONAppender
	}
	cases := []appendCase{
		{"zero call", &CallFinished{}},
		{"zero task", &TaskStatus{}},
		{"zero intent", &IntentChanged{}},
		{"nil call", (*CallFinished)(nil)},
		{"nil task", (*TaskStatus)(nil)},
		{"nil intent", (*IntentChanged)(nil)},
		{"zero sms", &SMSSent{}},
		{"nil sms", (*SMSSent)(nil)},
		{"empty sms list", &SMSSent{Messages: []SMS{}}},
		{"sms", &SMSSent{Vendor: "yiwise", Account: "a", CallID: "53780", TaskID: sp("2454"), TaskName: sp("t"),
			Customer: Customer{ID: sp("7"), Name: sp("小姐姐"), Phone: sp("18326042077")},
			Messages: []SMS{{TemplateID: sp("152"), TemplateName: sp("lalala"), Signature: sp("一知智能T1"), Type: sp("NOTICE"), Text: "【一知智能T1】你好"}, {}}}},
		{"full call", full},
		{"empty slices", &CallFinished{Tags: []string{}, Concerns: []string{}, Transcript: []Utterance{}}},
		{"nil slices with elements elsewhere", &CallFinished{Tags: []string{""}, Transcript: []Utterance{{}}}},
		{"raw is omitted when empty", &CallFinished{Raw: json.RawMessage{}}},
		{"task", &TaskStatus{Vendor: "yiwise", Account: "a", TaskID: "1", TaskName: sp("t"), Status: TaskRunning, VendorStatus: "2", Finished: true}},
		{"intent", &IntentChanged{Vendor: "byai", CallID: "1", CompanyID: sp(""), IntentLevel: sp("B"), ChangedBy: "manual"}},
	}
	for _, s := range tricky {
		cases = append(cases,
			appendCase{"call " + s, &CallFinished{
				Vendor: s, TaskID: sp(s), Customer: Customer{Name: sp(s)}, Tags: []string{s, s},
				Transcript: []Utterance{{Speaker: s, Text: s}},
			}},
			appendCase{"task " + s, &TaskStatus{TaskID: s, CompanyID: sp(s)}},
			appendCase{"intent " + s, &IntentChanged{CallID: s, IntentLabel: sp(s)}},
			appendCase{"sms " + s, &SMSSent{CallID: s, Messages: []SMS{{Type: sp(s), Text: s}}}},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertSame(t, tc.v)
		})
	}
}

// TestAppendJSONAppends checks that existing bytes in dst are kept.
func TestAppendJSONAppends(t *testing.T) {
	got := (&TaskStatus{Vendor: "v"}).AppendJSON([]byte("prefix"))
	want, _ := json.Marshal(&TaskStatus{Vendor: "v"})
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("got %s", got)
	}
}

// TestAppendJSONEveryRune compares every rune (and each lone byte) in a string.
func TestAppendJSONEveryRune(t *testing.T) {
	var b strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		b.WriteRune(r)
	}
	for c := 0x80; c <= 0xff; c++ {
		b.WriteByte(byte(c))
		b.WriteString("\x80\xbf ")
	}
	assertSame(t, &TaskStatus{Vendor: b.String()})
}

func assertSame(t *testing.T, v JSONAppender) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON differs from json.Marshal\n got: %s\nwant: %s", got, want)
	}
}

func FuzzAppendJSON(f *testing.F) {
	for i, s := range tricky {
		f.Add(s, tricky[(i+1)%len(tricky)], "x", int64(i), int64(-i), uint64(i)*0x9e3779b97f4a7c15)
	}
	f.Add("", "", "", int64(math.MinInt64), int64(math.MaxInt64), uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, a, b, c string, n, m int64, bits uint64) {
		// Each call takes the next bit, so every field gets its own choice.
		bit := func() bool {
			v := bits&1 == 1
			bits = bits>>1 | bits<<63
			return v
		}
		ptr := func(s string) *string {
			if bit() {
				return nil
			}
			return &s
		}
		iptr := func(n int64) *int64 {
			if bit() {
				return nil
			}
			return &n
		}
		strs := func() []string {
			switch {
			case bit():
				return nil
			case bit():
				return []string{}
			}
			return []string{a, b, c}
		}
		var transcript []Utterance
		switch {
		case bit():
		case bit():
			transcript = []Utterance{}
		default:
			transcript = []Utterance{
				{Speaker: a, Text: b, StartMs: iptr(n), EndMs: iptr(m)},
				{Speaker: c, Text: a + b, StartMs: iptr(m), EndMs: iptr(n)},
			}
		}
		cf := &CallFinished{
			Vendor: a, Account: b, Direction: c, CallID: a + c,
			TaskID: ptr(b), TaskName: ptr(c), CompanyID: ptr(a),
			Customer:     Customer{ID: ptr(a), Name: ptr(b), Phone: ptr(c)},
			CallerNumber: ptr(b), Status: c, VendorStatus: a, Answered: bit(),
			IntentLevel: ptr(c), IntentLabel: ptr(a),
			Tags: strs(), Concerns: strs(),
			DurationSeconds: n, ChatRounds: m,
			StartedAt: ptr(a), EndedAt: ptr(b), HangupBy: ptr(c),
			RecordingURL: ptr(a), CustomerRecordingURL: ptr(b),
			Transcript: transcript, Attempt: int(n ^ m),
		}
		ts := &TaskStatus{
			Vendor: a, Account: b, TaskID: c, TaskName: ptr(a), CompanyID: ptr(b),
			Status: c, VendorStatus: a, Finished: bit(),
		}
		ic := &IntentChanged{
			Vendor: a, Account: b, CallID: c, CompanyID: ptr(a),
			IntentLevel: ptr(b), IntentLabel: ptr(c), ChangedBy: a,
		}
		sms := &SMSSent{
			Vendor: a, Account: b, CallID: c, TaskID: ptr(a), TaskName: ptr(b), CompanyID: ptr(c),
			Customer: Customer{ID: ptr(a), Name: ptr(b), Phone: ptr(c)},
			Messages: []SMS{{TemplateID: ptr(a), TemplateName: ptr(b), Signature: ptr(c), Type: ptr(a), Text: b}},
		}
		for _, v := range []JSONAppender{cf, ts, ic, sms} {
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			got := v.AppendJSON(nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendJSON differs from json.Marshal\n got: %s\nwant: %s", got, want)
			}
			// The publisher relies on it rather than check each event again.
			if !utf8.Valid(got) {
				t.Fatalf("AppendJSON wrote invalid UTF-8: %q", got)
			}
		}
	})
}

func benchCall() *CallFinished {
	return &CallFinished{
		Vendor: "byai", Account: "byai-main", Direction: "outbound", CallID: "1234567890",
		TaskID: sp("43"), TaskName: sp("三月会员回访"), CompanyID: sp("10086"),
		Customer:     Customer{ID: sp("c-778"), Name: sp("张三"), Phone: sp("13800138000")},
		CallerNumber: sp("02161234567"), Status: StatusAnswered, VendorStatus: "0", Answered: true,
		IntentLevel: sp("A"), IntentLabel: sp("有明确意向"),
		Tags: []string{"高意向", "已预约"}, DurationSeconds: 87, ChatRounds: 6,
		StartedAt: sp("2019-01-12T16:09:32+08:00"), EndedAt: sp("2019-01-12T16:10:59+08:00"),
		HangupBy:     sp("customer"),
		RecordingURL: sp("https://records.example.com/2019/01/12/1234567890.wav?sig=abc&exp=1547280659"),
		Transcript: []Utterance{
			{Speaker: "robot", Text: "您好，我是百应的智能客服，请问是张先生吗？", StartMs: i64(0), EndMs: i64(3200)},
			{Speaker: "customer", Text: "是的，你说。", StartMs: i64(3500), EndMs: i64(4600)},
			{Speaker: "robot", Text: "我们本月有会员回馈活动，续费可享八折优惠，您感兴趣吗？", StartMs: i64(4800), EndMs: i64(9900)},
			{Speaker: "customer", Text: "具体怎么参加？", StartMs: i64(10200), EndMs: i64(11500)},
			{Speaker: "robot", Text: "稍后会有专属顾问给您回电，详细介绍活动内容。", StartMs: i64(11800), EndMs: i64(15600)},
			{Speaker: "customer", Text: "好的，谢谢。", StartMs: i64(15900), EndMs: i64(16800)},
		},
		Attempt: 1,
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	v := benchCall()
	b.ReportAllocs()
	for b.Loop() {
		_ = v.AppendJSON(make([]byte, 0, 1024))
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := benchCall()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}
