package yiwise

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzObjectMembers checks the in-place reader against encoding/json: on valid JSON,
// objectMembers and arrayElements find what json.Unmarshal finds; on anything else
// they must not panic.
func FuzzObjectMembers(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"a":1,"b":[1,{"c":"]}\"{"}],"a":"x","\u0061":null, "d" : { "e" : [ ] } }`))
	f.Add([]byte(`[1, "a\\", {"x":[true,false,null]}, -1.5e3 ,[[]]]`))
	f.Add([]byte("{\"k\\u00e9\":\"\xff\",\"K\":\"\\ud800\"}"))
	f.Add([]byte(`{"a":`))
	f.Add([]byte(`"unterminated`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, isObj := objectMembers(b, nil)
		stablePayload(ms)
		for _, m := range ms {
			jsonString(m.val)
			appendCompact(nil, m.val)
		}
		elems, isArr := arrayElements(b, nil)
		for _, e := range elems {
			rawScalar(e)
		}
		if !json.Valid(b) || (len(b) > 0 && b[0] <= ' ') {
			return
		}

		var obj map[string]json.RawMessage
		wantObj := json.Unmarshal(b, &obj) == nil && obj != nil
		if isObj != wantObj {
			t.Fatalf("objectMembers ok = %v, json.Unmarshal into a map: %v", isObj, wantObj)
		}
		if isObj {
			keys := map[string]bool{}
			for _, m := range ms {
				keys[string(m.key)] = true
			}
			if len(keys) != len(obj) {
				t.Fatalf("%d distinct keys, encoding/json has %d", len(keys), len(obj))
			}
			for k, v := range obj {
				got, ok := ms.lookup(k)
				if !ok || !bytes.Equal(got, v) {
					t.Fatalf("member %q = %s, encoding/json has %s", k, got, v)
				}
			}
		}

		var arr []json.RawMessage
		wantArr := json.Unmarshal(b, &arr) == nil && arr != nil
		if isArr != wantArr {
			t.Fatalf("arrayElements ok = %v, json.Unmarshal into a slice: %v", isArr, wantArr)
		}
		if isArr {
			if len(elems) != len(arr) {
				t.Fatalf("%d elements, encoding/json has %d", len(elems), len(arr))
			}
			for i := range arr {
				if !bytes.Equal(elems[i], arr[i]) {
					t.Fatalf("element %d = %s, encoding/json has %s", i, elems[i], arr[i])
				}
			}
		}

		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			t.Fatal(err)
		}
		if got := appendCompact(nil, b); !bytes.Equal(got, compact.Bytes()) {
			t.Fatalf("appendCompact = %s, json.Compact gives %s", got, compact.Bytes())
		}
	})
}
