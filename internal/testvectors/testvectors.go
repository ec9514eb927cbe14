// Package testvectors reads the vendors' test vectors for tests (and finds the module
// root for tests that walk the repository): tab-separated tables
// with one header row, no quoting and no escaping. It prefers the project's shared copy
// (../shared/testdata beside the module, made by the vendors' own sample code) and falls
// back to the repository's testdata/, so a plain clone still tests.
package testvectors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Read returns the rows of testdata/rel as maps from column name to value.
func Read(t testing.TB, rel string) []map[string]string {
	t.Helper()
	root := ModuleRoot(t)
	var data []byte
	for _, dir := range []string{filepath.Join(root, "..", "shared", "testdata"), filepath.Join(root, "testdata")} {
		if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
			data = b
			break
		}
	}
	if data == nil {
		t.Fatalf("testvectors: no %s in ../shared/testdata or testdata", rel)
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	head := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for i, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != len(head) {
			t.Fatalf("testvectors: %s row %d has %d fields, want %d", rel, i+1, len(f), len(head))
		}
		row := make(map[string]string, len(head))
		for j, h := range head {
			row[h] = f[j]
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("testvectors: %s has no rows", rel)
	}
	return rows
}

// ModuleRoot is the directory holding go.mod, at or above the working directory (a
// test's package directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testvectors: no go.mod above the working directory")
		}
		dir = parent
	}
}
