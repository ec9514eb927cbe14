package byai

import (
	"bytes"
	"testing"
)

func TestReadRecordIgnoresEncoding(t *testing.T) {
	base := `{"sceneInstance":{"callInstanceId":1,"url":"a/b","name":"A\"B"},"taskResult":[1,"x",{"k":null}],"sign":"s1","dateTime":"d1"}`
	stable := readRecord([]byte(base))
	if !stable.hasScene || !stable.hasResults {
		t.Fatalf("sceneInstance %v taskResult %v, want both", stable.hasScene, stable.hasResults)
	}
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
			got := readRecord([]byte(tt.body))
			if same := bytes.Equal(got.stable, stable.stable); same != tt.same {
				t.Errorf("same digest %v, want %v", same, tt.same)
			}
		})
	}
	for body, want := range map[string][2]bool{
		`{}`:                                     {false, false},
		`{"sceneInstance":null,"taskResult":[]}`: {false, true},
		`{"sceneInstance":{},"sceneInstance":null}`:  {false, false},
		`{"sceneInstance":null,"sceneInstance":"x"}`: {true, false},
	} {
		if r := readRecord([]byte(body)); r.hasScene != want[0] || r.hasResults != want[1] {
			t.Errorf("%s: sceneInstance %v taskResult %v, want %v", body, r.hasScene, r.hasResults, want)
		}
	}
}

func TestLocateMatchesDecodedMaps(t *testing.T) {
	tests := []struct {
		body, dataType, inner string
		exact                 bool
	}{
		{`{"data":{"dataType":"X","data":{"a":1}}}`, "X", `{"a":1}`, true},
		{`{"data":{"a":1}}`, "", `{"a":1}`, true},
		{`{"data":{"dataType":null,"data":{"a":1}}}`, "", `{"dataType":null,"data":{"a":1}}`, true},
		{`{"data":{"dataType":"X","data":{"a":1}},"data":{"dataType":"Y","data":{"b":2}}}`, "Y", `{"b":2}`, false},
		{`{"Data":{"dataType":"X","data":{"a":1}},"data":{"dataType":"Y","data":{"b":2}}}`, "Y", `{"b":2}`, false},
		{`{"data":{"dataType":"X","data":{"a":1},"DATA":{"b":2}}}`, "X", `{"a":1}`, false},
		{`{"d\u0061ta":{"dataType":"\u0058","data" : {"a":1} }}`, "X", `{"a":1}`, true},
	}
	for _, tt := range tests {
		loc, err := locate([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if loc.dataType != tt.dataType || string(loc.inner) != tt.inner || loc.exact != tt.exact {
			t.Errorf("%s: dataType %q inner %s exact %v, want %q %s %v", tt.body, loc.dataType, loc.inner, loc.exact, tt.dataType, tt.inner, tt.exact)
		}
	}
}
