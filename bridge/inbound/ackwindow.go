package inbound

import "hash/maphash"

// ackWindow remembers the event ids acknowledged recently, up to a fixed count, in
// memory allocated once at start: an instance's size then does not creep up as the
// window fills, and a burst (an outage's backlog) leaves nothing behind that the
// steady state would not hold anyway.
//
// Ids are kept as 128-bit keyed hashes, not strings: two seeds drawn per process make a
// collision between distinct ids (which would skip a write) as unlikely as a random
// 128-bit clash, about n²/2¹²⁹ for n remembered ids.
type ackWindow struct {
	seeds [2]maphash.Seed
	// expires maps an id's key to when it is forgotten (Unix nanoseconds).
	expires map[ackKey]int64
	// ring holds the keys oldest first from head; it never grows past its length.
	ring       []ackEntry
	head, size int
}

type ackKey [2]uint64

type ackEntry struct {
	key     ackKey
	expires int64
}

func newAckWindow(max int) *ackWindow {
	if max <= 0 {
		return &ackWindow{}
	}
	return &ackWindow{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		expires: make(map[ackKey]int64, max),
		ring:    make([]ackEntry, max),
	}
}

func (a *ackWindow) key(id string) ackKey {
	return ackKey{maphash.String(a.seeds[0], id), maphash.String(a.seeds[1], id)}
}

// has says whether id was acknowledged and is still remembered at now.
func (a *ackWindow) has(id string, now int64) bool {
	if len(a.ring) == 0 {
		return false
	}
	exp, ok := a.expires[a.key(id)]
	return ok && now < exp
}

// add remembers id until expires, forgetting what expired by now and, when the window
// is full, the oldest id.
func (a *ackWindow) add(id string, now, expires int64) {
	if len(a.ring) == 0 {
		return
	}
	for a.size > 0 && (a.size == len(a.ring) || a.ring[a.head].expires <= now) {
		e := a.ring[a.head]
		// A later add of the same id has its own entry further on; only the newest
		// entry's expiry matches the map's.
		if a.expires[e.key] == e.expires {
			delete(a.expires, e.key)
		}
		a.head = (a.head + 1) % len(a.ring)
		a.size--
	}
	k := a.key(id)
	a.expires[k] = expires
	a.ring[(a.head+a.size)%len(a.ring)] = ackEntry{k, expires}
	a.size++
}

// len is how many ids are remembered.
func (a *ackWindow) len() int { return len(a.expires) }
