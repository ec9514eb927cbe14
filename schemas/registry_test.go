package schemas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	// The vendors register themselves, as in the binary: the schemas describe the set
	// the binary runs with.
	_ "github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/platform"
	"github.com/callbridge/callbridge/schemas"
	"github.com/callbridge/callbridge/schemas/schemagen"
)

var update = flag.Bool("update", false, "rewrite the registry-generated parts of the schema files")

// scriptFiles are the command schemas whose $defs.script is made from the registry.
var scriptFiles = []string{"task.create.v1.json", "call.single.v1.json"}

// TestScriptSchemaMatchesRegistry: a command's script is any one of the registered
// vendors' ScriptSchema, and the committed files say so. After changing a vendor's
// ScriptSchema or registering a vendor, regenerate with
//
//	go test ./schemas -run TestScriptSchemaMatchesRegistry -update
func TestScriptSchemaMatchesRegistry(t *testing.T) {
	want, err := schemagen.Script(platform.Vendors())
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range scriptFiles {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		got, err := schemagen.Splice(doc, []string{"$defs", "script"}, want, schemagen.Style{Indent: "  ", InlineScalarArrays: true})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if bytes.Equal(got, doc) {
			continue
		}
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: $defs.script rewritten from the registry", file)
			continue
		}
		t.Errorf("%s: $defs.script is not the registered vendors' ScriptSchema; run go test ./schemas -run TestScriptSchemaMatchesRegistry -update", file)
	}
}

// TestEveryVendorScriptIsAccepted: each vendor's own example of a script passes the
// command schemas, and a script mixing two vendors' ids does not.
func TestEveryVendorScriptIsAccepted(t *testing.T) {
	vendors := platform.Vendors()
	if len(vendors) == 0 {
		t.Fatal("no vendor is registered")
	}
	for _, v := range vendors {
		script := minimalScript(t, v)
		data := `{"account": "a", "phone": "13800000000", "script": ` + script + `}`
		if err := schemas.Validate("call.single", []byte(data)); err != nil {
			t.Errorf("%s script %s rejected: %v", v.Name(), script, err)
		}
	}
	// Two vendors' ids in one script fit neither vendor.
	if len(vendors) > 1 {
		var a, b map[string]string
		_ = json.Unmarshal([]byte(minimalScript(t, vendors[0])), &a)
		_ = json.Unmarshal([]byte(minimalScript(t, vendors[1])), &b)
		for k, v := range b {
			a[k] = v
		}
		mixed, _ := json.Marshal(a)
		data := `{"account": "a", "phone": "13800000000", "script": ` + string(mixed) + `}`
		if err := schemas.Validate("call.single", []byte(data)); err == nil {
			t.Errorf("a script mixing %s and %s ids (%s) is accepted", vendors[0].Name(), vendors[1].Name(), mixed)
		}
	}
}

// minimalScript is a script with "1" for each property v's ScriptSchema requires.
func minimalScript(t *testing.T, v platform.Vendor) string {
	t.Helper()
	var s struct {
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(v.ScriptSchema(), &s); err != nil {
		t.Fatalf("%s: ScriptSchema: %v", v.Name(), err)
	}
	m := map[string]string{}
	for _, r := range s.Required {
		m[r] = "1"
	}
	b, _ := json.Marshal(m)
	return string(b)
}
