package byai

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/callbridge/internal/jsondoc"
)

// BenchmarkParseWebhook parses each documented BYAI callback body and the legacy
// record without dataType.
func BenchmarkParseWebhook(b *testing.B) {
	dir := samplesDir(b)
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	paths = append(paths, "testdata/legacy_call.json")
	acct := testAccount()
	for _, path := range paths {
		body := readFile(b, path)
		b.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := (Vendor{}).ParseWebhook(acct, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseRecord maps the call record of an already parsed body: the mapping's
// cost apart from jsondoc's parse.
func BenchmarkParseRecord(b *testing.B) {
	body := readFile(b, filepath.Join(samplesDir(b), "call_instance_result.json"))
	doc, err := jsondoc.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	dataType, rec, err := locate(doc.Root())
	if err != nil {
		b.Fatal(err)
	}
	acct, now := testAccount(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseRecord(acct, dataType, rec, now); err != nil {
			b.Fatal(err)
		}
	}
}
