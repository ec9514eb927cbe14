package platform_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/callbridge/callbridge/internal/testvectors"

	// Registers the vendors the binary runs with: their names are the words looked for.
	_ "github.com/callbridge/callbridge/bridge"
	"github.com/callbridge/callbridge/internal/platform"
)

// pendingLeaks are files that still name a vendor, each to be fixed by its area's
// owner. The test fails when a file not listed here names a vendor, and when a listed
// file no longer does (so the list only shrinks): delete its line then.
var pendingLeaks = map[string]string{}

// exempt are the directories (slash-separated, from the module root) whose files may
// name vendors besides the vendor packages themselves: the simulators and the dev
// demo's set-up.
var exempt = []string{"internal/simulator", "bridge/devenv"}

// TestNoVendorOutsideItsPackage: outside internal/platform/<vendor>/, the simulators
// and the dev demo, no Go file (tests aside) names a registered vendor, except for the
// one blank import per vendor that registers it in bridge/bridge.go.
func TestNoVendorOutsideItsPackage(t *testing.T) {
	root := testvectors.ModuleRoot(t)
	names := platform.Names()
	if len(names) == 0 {
		t.Fatal("no vendor is registered")
	}
	skip := slices.Clone(exempt)
	alts := make([]string, len(names))
	for i, n := range names {
		skip = append(skip, "internal/platform/"+n)
		alts[i] = regexp.QuoteMeta(n)
	}
	word := regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
	registration := regexp.MustCompile(`^\s*_\s+"github\.com/callbridge/callbridge/internal/platform/(` + strings.Join(alts, "|") + `)"\s*$`)

	found := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(path, root), string(filepath.Separator)))
		if d.IsDir() {
			base := d.Name()
			if rel != "" && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" || base == "vendor" ||
				slices.ContainsFunc(skip, func(s string) bool { return rel == s })) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(bytes.NewReader(src))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if !word.MatchString(line) || (rel == "bridge/bridge.go" && registration.MatchString(line)) {
				continue
			}
			found[rel] = append(found[rel], strings.TrimSpace(line))
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, lines := range found {
		if _, ok := pendingLeaks[file]; ok {
			continue
		}
		t.Errorf("%s names a vendor outside its package (%d lines), e.g. %q", file, len(lines), lines[0])
	}
	for file, why := range pendingLeaks {
		if _, ok := found[file]; !ok {
			t.Errorf("%s no longer names a vendor (%s): remove it from pendingLeaks", file, why)
		}
	}
}
