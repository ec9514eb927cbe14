package privacy

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestPolicyRewritesEveryOccurrence(t *testing.T) {
	data := []byte(`{"customer":{"phone":"13733105333"},"recordingUrl":"https://x/20190112-161011_13733105333.wav","raw":{"properties":"{\"csStaffMobile\":\"15957182700\"}"}}`)
	phones := []string{"13733105333", "15957182700", "1010"}
	key := []byte("0123456789abcdef")

	cases := []struct {
		mode    Mode
		absent  []string
		present []string
	}{
		{Plain, nil, []string{"13733105333", "15957182700"}},
		{Mask, []string{"13733105333", "15957182700"}, []string{"137******33", "159******00"}},
		{Hash, []string{"13733105333", "15957182700"}, []string{"hmac-sha256:"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.mode), func(t *testing.T) {
			p, err := New(tc.mode, key)
			if err != nil {
				t.Fatal(err)
			}
			out := string(p.Apply(append([]byte(nil), data...), phones))
			for _, s := range tc.absent {
				if strings.Contains(out, s) {
					t.Errorf("%s still contains %s: %s", tc.mode, s, out)
				}
			}
			for _, s := range tc.present {
				if !strings.Contains(out, s) {
					t.Errorf("%s lacks %s: %s", tc.mode, s, out)
				}
			}
		})
	}
}

func TestHashIsStablePerKeyAndDiffersAcrossKeys(t *testing.T) {
	a, _ := New(Hash, []byte("0123456789abcdef"))
	b, _ := New(Hash, []byte("fedcba9876543210"))
	if a.Phone("13800000000") != a.Phone("13800000000") {
		t.Error("hash not stable")
	}
	if a.Phone("13800000000") == b.Phone("13800000000") {
		t.Error("hash does not depend on the key")
	}
	if _, err := New(Hash, []byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{"13733105333": "137******33", "1010": "**10", "12": "12", "": ""} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// Numbers people write or say are masked in every string, whatever the field.
func TestMaskFindsPhoneNumbersInFreeText(t *testing.T) {
	p, _ := New(Mask, nil)
	cases := []struct{ name, in, want string }{
		{"spoken in a transcript", `{"text":"我的手机号是13811112222"}`, `{"text":"我的手机号是138******22"}`},
		{"in a recording file name", `{"recordingUrl":"https://r.example/2019/01/12/13811112222_161011.wav"}`, `{"recordingUrl":"https://r.example/2019/01/12/138******22_161011.wav"}`},
		{"with +86 and spaces", `{"text":"call +86 138 1111 2222 now"}`, `{"text":"call +86138******22 now"}`},
		{"with 86 and no separator", `{"text":"8613811112222"}`, `{"text":"86138******22"}`},
		{"with 0086 and dashes", `{"text":"0086-138-1111-2222"}`, `{"text":"0086138******22"}`},
		{"with dashes", `["138-1111-2222"]`, `["138******22"]`},
		{"landline with area code", `{"label":"座机 010-12345678，或 0571 8888 6666"}`, `{"label":"座机 010******78，或 057*******66"}`},
		{"landline after +86 without its 0", `{"t":"+86 21 1234 5678"}`, `{"t":"+86211*****78"}`},
		{"next to a count", `{"t":"13811112222 3次"}`, `{"t":"138******22 3次"}`},
		{"in raw, nested JSON text", `{"raw":{"properties":"{\"mobile\":\"13811112222\"}"}}`, `{"raw":{"properties":"{\"mobile\":\"138******22\"}"}}`},
		{"a JSON number", `{"raw":{"tel":13811112222}}`, `{"raw":{"tel":"138******22"}}`},
		{"not inside a longer digit run", `{"t":"202313811112222","u":"x1381111222233"}`, `{"t":"202313811112222","u":"x1381111222233"}`},
		{"not a timestamp or a date", `{"t":"1539341215000","d":"2019-01-12 16:09:32","e":"2019-01-12T16:09:32+08:00"}`, `{"t":"1539341215000","d":"2019-01-12 16:09:32","e":"2019-01-12T16:09:32+08:00"}`},
		{"not an id member", `{"callId":"13811112222","taskID":13811112222,"id":"13811112222"}`, `{"callId":"13811112222","taskID":13811112222,"id":"13811112222"}`},
		{"not a member name", `{"13811112222":1}`, `{"13811112222":1}`},
		{"not a short local number", `{"t":"拨打 88886666"}`, `{"t":"拨打 88886666"}`},
		{"not the digits of an escape", `{"t":"\u0100000000"}`, `{"t":"\u0100000000"}`},
		{"right after an escape", `{"t":"\u00e913811112222"}`, `{"t":"\u00e9138******22"}`},
		{"after an escaped backslash", `{"t":"\\13811112222"}`, `{"t":"\\138******22"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(p.Apply([]byte(tc.in), nil))
			if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestHashRewritesFreeTextLikeFields(t *testing.T) {
	p, _ := New(Hash, []byte("0123456789abcdef"))
	got := string(p.Apply([]byte(`{"phone":"13811112222","text":"我的手机号是138 1111 2222"}`), []string{"13811112222"}))
	h := p.Phone("13811112222")
	if want := `{"phone":"` + h + `","text":"我的手机号是` + h + `"}`; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestPlainLeavesTextAlone(t *testing.T) {
	in := `{"text":"我的手机号是13811112222"}`
	if got := string((&Policy{}).Apply([]byte(in), nil)); got != in {
		t.Errorf("plain rewrote %s", got)
	}
}

func BenchmarkApplyMask(b *testing.B) {
	data, err := os.ReadFile("../../testdata/webhooks/byai/call_instance_result.json")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := New(Mask, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_ = p.Apply(data, []string{"13800000000"})
	}
}

// Whatever the data, masking keeps valid JSON valid and leaves no mobile number whole.
func FuzzApplyKeepsJSONValid(f *testing.F) {
	for _, s := range []string{`{"a":"13811112222","b":[13811112222,0,-1.5e3],"id":"x"}`, `"+86 10 1234 5678"`, `[0,"0","+8"]`, `{"t":"我的手机号是13811112222"}`} {
		f.Add([]byte(s))
	}
	p, _ := New(Mask, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		out := p.Apply(append([]byte(nil), data...), []string{"13811112222", "0571"})
		if !json.Valid(out) {
			t.Fatalf("%s became invalid JSON: %s", data, out)
		}
	})
}
