// Package cowmap provides a map read on every request and written rarely: reads take
// no lock (a read lock's shared counter is contended by every request), and each new
// entry replaces the map with a copy.
package cowmap

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Map holds at most Max entries (0: no bound); its zero value is empty and ready.
// A Map must not be copied after first use.
type Map[K comparable, V any] struct {
	// Max bounds the entries, should the keys turn out not to be few: past it, Add
	// keeps nothing more.
	Max int

	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serializes adds
}

// Get returns k's value.
func (c *Map[K, V]) Get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Add stores v under k and returns it, unless k was added meanwhile: then it
// returns that value, so that racing callers share one. Past Max, v is returned
// without being kept.
func (c *Map[K, V]) Add(k K, v V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if prev, ok := old[k]; ok {
		return prev
	}
	if c.Max > 0 && len(old) >= c.Max {
		return v
	}
	m := make(map[K]V, len(old)+1)
	maps.Copy(m, old)
	m[k] = v
	c.m.Store(&m)
	return v
}
