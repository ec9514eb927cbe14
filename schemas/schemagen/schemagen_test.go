package schemagen

import (
	"encoding/json"
	"testing"
)

func TestSpliceReplacesOneMemberAndKeepsTheRest(t *testing.T) {
	doc := "{\n  \"a\": [1,   2],\n  \"defs\": {\n    \"x\": {\"old\": true},\n    \"y\": \"kept\"\n  }\n}\n"
	got, err := Splice([]byte(doc), []string{"defs", "x"}, json.RawMessage(`{"z":1,"b":["p","q"],"o":{"k":[{"r":1}]}}`), Style{Indent: "  ", InlineScalarArrays: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [1,   2],\n  \"defs\": {\n    \"x\": {\n      \"z\": 1,\n      \"b\": [\"p\", \"q\"],\n      \"o\": {\n        \"k\": [\n          {\n            \"r\": 1\n          }\n        ]\n      }\n    },\n    \"y\": \"kept\"\n  }\n}\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Splicing the same value again changes nothing: what the tests compare is stable.
	again, err := Splice(got, []string{"defs", "x"}, json.RawMessage(`{"z":1,"b":["p","q"],"o":{"k":[{"r":1}]}}`), Style{Indent: "  ", InlineScalarArrays: true})
	if err != nil || string(again) != want {
		t.Errorf("second splice changed the document: %v\n%s", err, again)
	}
}

func TestSpliceExpandsArraysWithoutInlineAndKeepsHTML(t *testing.T) {
	got, err := Splice([]byte(`{"k": 0}`), []string{"k"}, json.RawMessage(`["<a>"]`), Style{Indent: "  "})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"k\": [\n  \"<a>\"\n]}"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSpliceNamesAMissingMember(t *testing.T) {
	for _, path := range [][]string{{"defs", "nope"}, {"a", "b"}} {
		if _, err := Splice([]byte(`{"a": 1, "defs": {}}`), path, json.RawMessage(`1`), Style{}); err == nil {
			t.Errorf("splice at %v succeeded", path)
		}
	}
}

func TestObjectKeepsOrder(t *testing.T) {
	b, err := json.Marshal(Object{{Key: "z", Value: 1}, {Key: "a", Value: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"z":1,"a":"x"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
