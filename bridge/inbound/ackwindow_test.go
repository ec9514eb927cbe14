package inbound

import (
	"fmt"
	"testing"
)

func TestAckWindow(t *testing.T) {
	type step struct {
		add      string // id to add at now, expiring at exp
		now, exp int64
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
		at    int64
		has   []string
		lacks []string
	}{
		{name: "remembered until it expires", max: 4,
			steps: []step{{"a", 0, 10}}, at: 9, has: []string{"a"}},
		{name: "forgotten at expiry", max: 4,
			steps: []step{{"a", 0, 10}}, at: 10, lacks: []string{"a"}},
		{name: "oldest goes when full", max: 2,
			steps: []step{{"a", 0, 100}, {"b", 1, 100}, {"c", 2, 100}}, at: 3, has: []string{"b", "c"}, lacks: []string{"a"}},
		{name: "a re-added id keeps its newer expiry when its older entry goes", max: 2,
			steps: []step{{"a", 0, 10}, {"a", 5, 50}, {"b", 6, 60}}, at: 20, has: []string{"a", "b"}},
		{name: "expired entries make room before the oldest live one goes", max: 3,
			steps: []step{{"a", 0, 5}, {"b", 1, 100}, {"c", 2, 100}, {"d", 6, 100}}, at: 7, has: []string{"b", "c", "d"}, lacks: []string{"a"}},
		{name: "disabled", max: 0,
			steps: []step{{"a", 0, 10}}, at: 1, lacks: []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAckWindow(tc.max)
			for _, s := range tc.steps {
				a.add(s.add, s.now, s.exp)
			}
			for _, id := range tc.has {
				if !a.has(id, tc.at) {
					t.Errorf("%q forgotten", id)
				}
			}
			for _, id := range tc.lacks {
				if a.has(id, tc.at) {
					t.Errorf("%q still remembered", id)
				}
			}
			if a.len() > tc.max {
				t.Errorf("%d ids held, more than %d", a.len(), tc.max)
			}
		})
	}
}

// The window's memory is what it allocated at start, however many ids pass through.
func TestAckWindowDoesNotGrow(t *testing.T) {
	a := newAckWindow(1000)
	ring := &a.ring[0]
	for i := range 100_000 {
		a.add(fmt.Sprint("call.finished-", i), int64(i), int64(i)+1_000_000)
	}
	if a.len() != 1000 || len(a.ring) != 1000 || &a.ring[0] != ring {
		t.Fatalf("%d ids in a ring of %d (reallocated: %v)", a.len(), len(a.ring), &a.ring[0] != ring)
	}
}

// Against a model (a queue of entries, searched newest first) under the same rules,
// with ids that recur so that probe runs wrap and deletions shift entries back.
func TestAckWindowMatchesAModel(t *testing.T) {
	const max = 50
	a := newAckWindow(max)
	type entry struct {
		id  string
		exp int64
	}
	var queue []entry
	modelHas := func(id string, now int64) bool {
		for i := len(queue) - 1; i >= 0; i-- {
			if queue[i].id == id {
				return now < queue[i].exp
			}
		}
		return false
	}
	for step := range 20_000 {
		now := int64(step)
		id := fmt.Sprint(step * 7919 % 173)
		exp := now + int64(step%97)
		for len(queue) > 0 && (len(queue) == max || queue[0].exp <= now) {
			queue = queue[1:]
		}
		queue = append(queue, entry{id, exp})
		a.add(id, now, exp)
		for probe := range 173 {
			p := fmt.Sprint(probe)
			if got, want := a.has(p, now), modelHas(p, now); got != want {
				t.Fatalf("step %d: has(%q) = %v, want %v", step, p, got, want)
			}
		}
	}
}
