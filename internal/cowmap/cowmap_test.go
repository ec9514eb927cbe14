package cowmap_test

import (
	"sync"
	"testing"

	"github.com/callbridge/callbridge/internal/cowmap"
)

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		adds []int // keys added in order, each with the value key*10
		// want: each key's value after the adds; a key absent here is not kept
		want map[int]int
	}{
		{name: "empty", want: map[int]int{}},
		{name: "added", adds: []int{1, 2}, want: map[int]int{1: 10, 2: 20}},
		{name: "bounded", max: 2, adds: []int{1, 2, 3}, want: map[int]int{1: 10, 2: 20}},
		{name: "unbounded", adds: []int{1, 2, 3}, want: map[int]int{1: 10, 2: 20, 3: 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &cowmap.Map[int, int]{Max: tc.max}
			for _, k := range tc.adds {
				if got := m.Add(k, k*10); got != k*10 {
					t.Fatalf("Add(%d) = %d", k, got)
				}
			}
			for k := range 5 {
				v, ok := m.Get(k)
				if want, keep := tc.want[k]; ok != keep || v != want {
					t.Errorf("Get(%d) = %d, %v; want %d, %v", k, v, ok, want, keep)
				}
			}
		})
	}
}

// A key added twice keeps its first value, which both adds return: racing callers
// share one.
func TestAddKeepsTheFirstValue(t *testing.T) {
	var m cowmap.Map[string, *int]
	first, second := new(int), new(int)
	if m.Add("k", first) != first || m.Add("k", second) != first {
		t.Fatal("the second Add replaced the first value")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Add(string(rune('a'+i)), new(int))
			m.Get("k")
		}()
	}
	wg.Wait()
	if v, _ := m.Get("k"); v != first {
		t.Fatal("concurrent adds lost the first key")
	}
}
