package platform_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/callbridge/callbridge/internal/platform/byai"
	"github.com/callbridge/callbridge/internal/platform/yiwise"
)

// vectors reads a signature table, preferring ../shared/testdata (the vendors' own
// output) and falling back to the repository's copy.
func vectors(t *testing.T, name string) [][]string {
	t.Helper()
	var path string
	for _, p := range []string{"../../../shared/testdata/signatures/" + name, "../../testdata/signatures/" + name} {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatalf("no signature vectors %s", name)
	}
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no vectors", path)
	}
	return rows[1:]
}

func TestSignaturesMatchVendorVectors(t *testing.T) {
	for _, row := range vectors(t, "byai.tsv") {
		if got := byai.Sign(row[0], row[1], row[2]); got != row[3] {
			t.Errorf("byai.Sign(%q, <secret>, %q) = %q, want %q", row[0], row[2], got, row[3])
		}
	}
	for _, row := range vectors(t, "yiwise.tsv") {
		if got := yiwise.Sign(row[0], row[1], row[2], row[3], row[4]); got != row[5] {
			t.Errorf("yiwise.Sign(%q, <secret>, %q, %q, %q) = %q, want %q", row[0], row[2], row[3], row[4], got, row[5])
		}
	}
}
