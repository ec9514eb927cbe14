package privacy

import (
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
