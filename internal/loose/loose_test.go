package loose

import (
	"encoding/json"
	"testing"

	"github.com/callbridge/callbridge/internal/jsondoc"
)

// A value reads the same from a parsed document and through encoding/json.
func TestScalarReadsEveryJSONType(t *testing.T) {
	tests := []struct {
		json, text, id string
		n              int64
		isInt          bool
	}{
		{`"abc"`, "abc", "abc", 0, false},
		{`" 42 "`, " 42 ", "42", 42, true},
		{`"\u0034\u0032"`, "42", "42", 42, true},
		{`42`, "42", "42", 42, true},
		{`-7`, "-7", "-7", -7, true},
		{`1e3`, "1000", "1000", 1000, true},
		{`12.0`, "12", "12", 12, true},
		{`1.5404e9`, "1540400000", "1540400000", 1540400000, true},
		{`1.5`, "1.5", "1.5", 0, false},
		{`1234567890123456789`, "1234567890123456789", "1234567890123456789", 1234567890123456789, true},
		{`true`, "true", "true", 0, false},
		{`false`, "false", "false", 0, false},
		{`null`, "", "", 0, false},
		{`{"a":1}`, "", "", 0, false},
		{`[1]`, "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			d, err := jsondoc.Parse([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			var decoded Scalar
			if err := json.Unmarshal([]byte(tt.json), &decoded); err != nil {
				t.Fatal(err)
			}
			for _, s := range []Scalar{Of(d.Root()), decoded} {
				if s.String() != tt.text || s.ID() != tt.id {
					t.Errorf("text %q id %q, want %q %q", s, s.ID(), tt.text, tt.id)
				}
				if n, ok := s.Int(); n != tt.n || ok != tt.isInt {
					t.Errorf("Int = %d, %v, want %d, %v", n, ok, tt.n, tt.isInt)
				}
				if (s.Ptr() == nil) != (tt.text == "") {
					t.Errorf("Ptr = %v", s.Ptr())
				}
			}
		})
	}
}

// An out-of-range number never reads as a plausible value: a parsed document
// rejects it (jsondoc), and through encoding/json it stays text that is no integer.
func TestOutOfRangeNumberIsNoValue(t *testing.T) {
	if _, err := jsondoc.Parse([]byte(`{"duration":1e400}`)); err == nil {
		t.Error("a document with 1e400 parsed")
	}
	var s Scalar
	if err := json.Unmarshal([]byte(`1e400`), &s); err != nil {
		t.Fatal(err)
	}
	if n, ok := s.Int(); ok || s != "1e400" {
		t.Errorf("1e400 reads as %q, Int %d %v", s, n, ok)
	}
}

func TestGetReadsAMemberOrNothing(t *testing.T) {
	d, err := jsondoc.Parse([]byte(`{"id":"2","x":null}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Scalar{"id": "2", "x": "", "missing": ""} {
		if got := Get(d.Root(), name); got != want {
			t.Errorf("Get(%q) = %q, want %q", name, got, want)
		}
	}
	if got := Get(d.Root().Get("id"), "id"); got != "" {
		t.Errorf("Get on a non-object = %q", got)
	}
}

func TestDecodeLeavesOddFieldsZero(t *testing.T) {
	var v struct {
		ID    Scalar `json:"id"`
		Count int    `json:"count"`
		Name  string `json:"name"`
	}
	if err := Decode([]byte(`{"id":7,"count":"many","name":"n"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != "7" || v.Count != 0 || v.Name != "n" {
		t.Errorf("decoded %+v", v)
	}
	if err := Decode([]byte(`{`), &v); err == nil {
		t.Error("invalid JSON decoded")
	}
}

// View, Append and IntOf read every value as Of does.
func TestViewAppendAndIntOfReadAsOf(t *testing.T) {
	doc := `{"s":"abc","e":"a\u0062c","sp":" 42 ","esp":" \u0034\u0032","n":42,"neg":-7,"z":-0,"f":1e3,"x":1.5,"r":12.0,` +
		`"big":1234567890123456789,"huge":12345678901234567890,"t":true,"no":false,"0":null,"o":{"a":[" 7 ",""]},"fl":"1.5e3","w":"ı"}`
	d, err := jsondoc.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v jsondoc.Value)
	walk = func(v jsondoc.Value) {
		if got, want := string(View(v)), string(Of(v)); got != want {
			t.Errorf("%s: View %q, Of %q", v.Raw(), got, want)
		}
		if got, want := string(Append([]byte("x"), v)), "x"+string(Of(v)); got != want {
			t.Errorf("%s: Append %q, want %q", v.Raw(), got, want)
		}
		n, ok := IntOf(v)
		if wn, wok := Of(v).Int(); n != wn || ok != wok {
			t.Errorf("%s: IntOf %d %v, Of.Int %d %v", v.Raw(), n, ok, wn, wok)
		}
		v.Members(func(_, m jsondoc.Value) bool { walk(m); return true })
		v.Elems(func(e jsondoc.Value) bool { walk(e); return true })
	}
	walk(d.Root())
	walk(jsondoc.Value{})
	if a := testing.AllocsPerRun(100, func() { _, _ = IntOf(d.Root().Get("sp")); _, _ = IntOf(d.Root().Get("n")) }); a != 0 {
		t.Errorf("IntOf allocates %v times", a)
	}
	buf := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(100, func() { buf = Append(Append(buf[:0], d.Root().Get("esp")), d.Root().Get("n")) }); a != 0 {
		t.Errorf("Append allocates %v times", a)
	}
}

// FuzzReadsAsOf: View, Append and IntOf read every value of any document as Of does.
func FuzzReadsAsOf(f *testing.F) {
	f.Add(`{"s":"abc","e":"a\u0062c","sp":" 42 ","n":42,"neg":-7,"z":-0,"f":1e3,"x":1.5,"big":1234567890123456789,"t":true,"0":null,"a":[" 7 ",""]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := jsondoc.Parse([]byte(doc))
		if err != nil {
			return
		}
		var walk func(v jsondoc.Value)
		walk = func(v jsondoc.Value) {
			of := Of(v)
			if got := string(View(v)); got != string(of) {
				t.Fatalf("%s: View %q, Of %q", v.Raw(), got, of)
			}
			if got := string(Append([]byte("x"), v)); got != "x"+string(of) {
				t.Fatalf("%s: Append %q, Of %q", v.Raw(), got, of)
			}
			n, ok := IntOf(v)
			if wn, wok := of.Int(); n != wn || ok != wok {
				t.Fatalf("%s: IntOf %d %v, Of.Int %d %v", v.Raw(), n, ok, wn, wok)
			}
			v.Members(func(_, m jsondoc.Value) bool { walk(m); return true })
			v.Elems(func(e jsondoc.Value) bool { walk(e); return true })
		}
		walk(d.Root())
	})
}
