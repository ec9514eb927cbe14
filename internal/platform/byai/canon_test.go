package byai

import (
	"bytes"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/jsondoc"
)

// digest is stableDigest of the record body.
func digest(t *testing.T, body string) []byte {
	t.Helper()
	d, err := jsondoc.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return stableDigest(d.Root())
}

func TestStableDigestIgnoresEncoding(t *testing.T) {
	base := `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null}],"sign":"s1","dateTime":"d1"}`
	stable := digest(t, base)
	tests := []struct {
		name, body string
		same       bool
	}{
		{"white space", " {\n \"sceneInstance\" : { \"callInstanceId\" : 1 , \"url\" : \"a/b\" , \"name\" : \"A\\\"B\" } ,\t\"taskResult\" : [ 1 , \"x\" , { \"k\" : null } ] , \"sign\":\"s1\",\"dateTime\":\"d1\" } ", true},
		{"member order", `{"dateTime":"d1","taskResult":[1,"x",{"k":null}],"sign":"s1","sceneInstance":{"name":"A\"B","url":"a/b","callInstanceId":1}}`, true},
		{"escapes", `{"sceneInstance":{"callInstance\u0049d":1,"url":"a\/b","name":"\u0041\u0022B"},"taskResult":[1,"\u0078",{"k":null}],"sign":"s1","dateTime":"d1"}`, true},
		{"sign and dateTime", `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null}]}`, true},
		{"repeated name, last wins", `{"sceneInstance":{"callInstanceId":2,"url":"a/b","name":"A\"B","callInstanceId":1},"taskResult":[1,"x",{"k":null}]}`, true},
		{"changed value", `{"sceneInstance":{"callInstanceId":2,"url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null}]}`, false},
		{"number as string", `{"sceneInstance":{"callInstanceId":"1","url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null}]}`, false},
		{"array order", `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B"},"taskResult":["x",1,{"k":null}]}`, false},
		{"nested sign is kept", `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B","sign":"s"},"taskResult":[1,"x",{"k":null}]}`, false},
		{"extra empty member", `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null,"":""}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := digest(t, tt.body)
			if same := bytes.Equal(got, stable); same != tt.same {
				t.Errorf("same digest %v, want %v", same, tt.same)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		body, dataType, rec, err string
	}{
		{`{"data":{"dataType":"X","data":{"a":1}}}`, "X", `{"a":1}`, ""},
		{`{"data":{"a":1}}`, "", `{"a":1}`, ""},
		{`{"data":{"dataType":null,"data":{"a":1}}}`, "", `{"dataType":null,"data":{"a":1}}`, ""},
		{`{"data":{"dataType":"X","data":{"a":1}},"data":{"dataType":"Y","data":{"b":2}}}`, "Y", `{"b":2}`, ""},
		{`{"Data":{"dataType":"X","data":{"a":1}},"data":{"dataType":"Y","data":{"b":2}}}`, "Y", `{"b":2}`, ""},
		{`{"data":{"dataType":"X","data":{"a":1},"DATA":{"b":2}}}`, "X", `{"a":1}`, ""},
		{`{"d\u0061ta":{"dataType":"\u0058","data" : {"a":1} }}`, "X", `{"a":1}`, ""},
		{`{"Data":{"dataType":"X","data":{"a":1}}}`, "", ``, "no data object"},
		{`[{"data":{}}]`, "", ``, "not a JSON object"},
		{`{"data":{"dataType":7,"data":{}}}`, "", ``, "dataType is not a string"},
		{`{"data":{"dataType":"X","data":[]}}`, "", ``, "X has no data object"},
	}
	for _, tt := range tests {
		d, err := jsondoc.Parse([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		dataType, rec, err := locate(d.Root())
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.body, err, tt.err)
			}
			continue
		}
		if err != nil || dataType != tt.dataType || string(rec.Raw()) != tt.rec {
			t.Errorf("%s: dataType %q record %s error %v, want %q %s", tt.body, dataType, rec.Raw(), err, tt.dataType, tt.rec)
		}
	}
}

func BenchmarkStableDigest(b *testing.B) {
	d, err := jsondoc.Parse(sample(b, "call_instance_result.json"))
	if err != nil {
		b.Fatal(err)
	}
	_, rec, err := locate(d.Root())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		stableDigest(rec)
	}
}
