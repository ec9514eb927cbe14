package inbound

import "hash/maphash"

// ackWindow remembers the event ids acknowledged recently, up to a fixed count, in
// about 2 MiB for the default 65,536 ids, allocated and touched once at start: an
// instance's size then does not creep up as the window fills, and a burst (an
// outage's backlog) leaves nothing behind that the steady state would not hold anyway.
//
// Ids are kept as 128-bit keyed hashes, not strings: two seeds drawn per process make a
// collision between distinct ids (which would skip a write) as unlikely as a random
// 128-bit clash, about n²/2¹²⁹ for n remembered ids. Being random already, the first
// half of a key places it in an open-addressing table of ring positions.
type ackWindow struct {
	seeds [2]maphash.Seed
	// ring holds the entries oldest first from head; it never grows past its length.
	ring       []ackEntry
	head, size int
	// slots holds ring positions + 1 (0: empty), probed linearly from a key's home
	// slot; at most half full. A slot points at the newest entry of its key.
	slots []uint32
	mask  uint64
}

type ackKey [2]uint64

type ackEntry struct {
	key     ackKey
	expires int64 // Unix nanoseconds
}

func newAckWindow(max int) *ackWindow {
	if max <= 0 {
		return &ackWindow{}
	}
	n := 1
	for n < 2*max {
		n <<= 1
	}
	a := &ackWindow{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		ring:  make([]ackEntry, max),
		slots: make([]uint32, n),
		mask:  uint64(n - 1),
	}
	// Fault the pages in now, so that the process's resident size is its steady one
	// from the start.
	clear(a.ring)
	clear(a.slots)
	return a
}

func (a *ackWindow) key(id string) ackKey {
	return ackKey{maphash.String(a.seeds[0], id), maphash.String(a.seeds[1], id)}
}

// find returns k's slot, or the empty slot where it would go.
func (a *ackWindow) find(k ackKey) (slot uint64, found bool) {
	for i := k[0] & a.mask; ; i = (i + 1) & a.mask {
		s := a.slots[i]
		if s == 0 {
			return i, false
		}
		if a.ring[s-1].key == k {
			return i, true
		}
	}
}

// has says whether id was acknowledged and is still remembered at now.
func (a *ackWindow) has(id string, now int64) bool {
	if len(a.ring) == 0 {
		return false
	}
	i, ok := a.find(a.key(id))
	return ok && now < a.ring[a.slots[i]-1].expires
}

// add remembers id until expires, forgetting what expired by now and, when the window
// is full, the oldest id.
func (a *ackWindow) add(id string, now, expires int64) {
	if len(a.ring) == 0 {
		return
	}
	for a.size > 0 && (a.size == len(a.ring) || a.ring[a.head].expires <= now) {
		// A later add of the same key has its own entry further on, and the slot
		// points there: only the newest entry of a key frees its slot.
		if i, ok := a.find(a.ring[a.head].key); ok && int(a.slots[i]-1) == a.head {
			a.free(i)
		}
		a.ring[a.head] = ackEntry{}
		a.head = (a.head + 1) % len(a.ring)
		a.size--
	}
	k := a.key(id)
	pos := (a.head + a.size) % len(a.ring)
	a.ring[pos] = ackEntry{k, expires}
	a.size++
	i, _ := a.find(k)
	a.slots[i] = uint32(pos + 1)
}

// free empties slot i, moving later slots of the same probe run back so that every
// key stays reachable from its home slot (deletion without tombstones).
func (a *ackWindow) free(i uint64) {
	for {
		a.slots[i] = 0
		j := i
		for {
			j = (j + 1) & a.mask
			s := a.slots[j]
			if s == 0 {
				return
			}
			home := a.ring[s-1].key[0] & a.mask
			// The entry at j may fill i when its home is not cyclically within (i, j].
			if (i < j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
				a.slots[i] = s
				i = j
				break
			}
		}
	}
}

// len is how many ids are remembered.
func (a *ackWindow) len() int {
	n := 0
	for _, s := range a.slots {
		if s != 0 {
			n++
		}
	}
	return n
}
