package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A partition's local store is one bbolt file, <Dir>/<topic>/<partition>.db, holding
// the partition's entries (bucket "entries", key command id), an index of the settled
// ones by time (bucket "settled") and how far the changelog has been applied (bucket
// "meta"). It is a cache of the ledger topic:
// losing it costs a restore from the topic, never an entry. Memory is bbolt's page
// cache (file-backed, reclaimable), not a map of every key.
var (
	bucketEntries = []byte("entries")
	bucketMeta    = []byte("meta")
	// bucketSettled indexes settled entries by when they were written (8 bytes of
	// Unix nanoseconds, then the id), so a retention sweep reads only what expired.
	bucketSettled = []byte("settled")
	keyApplied    = []byte("applied") // next changelog offset to apply
	keyCount      = []byte("count")   // entries held
	keyCluster    = []byte("cluster") // cluster id the store was built from
)

// stageLimit is how many of this instance's own writes a store holds in memory
// before writing them to bbolt together. Each bbolt transaction rewrites the path to
// every page it touches plus the meta page (several pwrite calls): one per Put was a
// fifth of an instance's CPU. Held writes are already on the changelog, so a crash
// that loses them only means replaying them (the applied offset never passes them).
const stageLimit = 64

// Value layout in bucket "entries": changelog offset (8 bytes), UpdatedAt in Unix
// nanoseconds (8), flags (1: bit 0 = settled), then the record's JSON.
const valueHeader = 17

type store struct {
	p    int
	path string
	db   *bolt.DB

	mu      sync.Mutex     // serializes applied/ahead bookkeeping and staged
	applied int64          // every offset below is applied
	ahead   map[int64]bool // offsets above applied already applied by Put
	// staged are own acknowledged writes not yet in bbolt, oldest first, and
	// stagedAt the index of each key's newest: get answers from them first.
	staged   []record
	stagedAt map[string]int
	count    atomic.Int64
	loaded   atomic.Bool  // caught up with the target of the current assignment
	target   atomic.Int64 // high watermark the current load aims at
}

func storePath(dir, topic string, p int) string {
	return filepath.Join(dir, topic, strconv.Itoa(p)+".db")
}

// openStore opens (or creates) partition p's store. A store built from another
// cluster, or one bbolt cannot open (a crash of the machine mid-write with NoSync),
// is discarded: it is rebuilt from the changelog.
func openStore(dir, topic, cluster string, p int) (*store, error) {
	path := storePath(dir, topic, p)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("ledger: state dir: %w", err)
	}
	s, err := tryOpenStore(path, cluster, p)
	if err != nil && !errors.Is(err, bolt.ErrTimeout) {
		// Unreadable: start over from the changelog.
		_ = os.Remove(path)
		s, err = tryOpenStore(path, cluster, p)
	}
	return s, err
}

func tryOpenStore(path, cluster string, p int) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: 2 * time.Second,
		// The changelog is the durable copy; a store that loses its last writes to a
		// machine crash replays them (applied is written in the same transaction).
		NoSync:         true,
		NoGrowSync:     true,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: false,
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: open local store %s: %w", path, err)
	}
	s := &store{p: p, path: path, db: db, ahead: map[int64]bool{}, stagedAt: map[string]int{}}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if c := meta.Get(keyCluster); c != nil && string(c) != cluster {
			// Another cluster's ledger (or an old test broker): nothing here is ours.
			for _, b := range [][]byte{bucketEntries, bucketSettled} {
				if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
					return err
				}
			}
			for _, k := range [][]byte{keyApplied, keyCount} {
				if err := meta.Delete(k); err != nil {
					return err
				}
			}
		}
		if err := meta.Put(keyCluster, []byte(cluster)); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketEntries, bucketSettled} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		s.applied = getInt(meta, keyApplied)
		s.count.Store(getInt(meta, keyCount))
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("ledger: open local store %s: %w", path, err)
	}
	return s, nil
}

// reset empties the store (the changelog was replaced: its offsets are not ours).
func (s *store) reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketSettled} {
			if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		putInt(meta, keyApplied, 0)
		return putInt(meta, keyCount, 0)
	})
	if err == nil {
		s.applied, s.ahead = 0, map[int64]bool{}
		s.staged, s.stagedAt = nil, map[string]int{}
		s.count.Store(0)
	}
	return err
}

// close writes what is staged and closes the file.
func (s *store) close() error {
	err := s.flush()
	return errors.Join(err, s.db.Close())
}

func getInt(b *bolt.Bucket, k []byte) int64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putInt(b *bolt.Bucket, k []byte, n int64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(n))
	return b.Put(k, v[:])
}

// record is one changelog record to apply: a nil value is a tombstone.
type record struct {
	off     int64
	key     string
	value   []byte // JSON of the Entry, nil for a tombstone
	updated int64
	done    bool
}

// decodeRecord reads what the header needs from a changelog value.
func decodeRecord(off int64, key string, value []byte) (record, error) {
	r := record{off: off, key: key, value: value}
	if value == nil {
		return r, nil
	}
	var head struct {
		State     string    `json:"state"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	if err := json.Unmarshal(value, &head); err != nil {
		return r, err
	}
	r.done = head.State == StateDone
	r.updated = head.UpdatedAt.UnixNano()
	return r, nil
}

// apply writes records in one transaction, each only if newer than what the store
// holds for its key, and advances applied. contiguous says the records are the
// changelog itself from applied on (a load); otherwise they are this instance's own
// acknowledged writes, which advance applied only once nothing below them is missing.
func (s *store) apply(recs []record, next int64, contiguous bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyLocked(recs, next, contiguous)
}

// stage holds r, one of this instance's own acknowledged writes, for the next
// transaction: get sees it at once. Every stageLimit writes go to bbolt together.
func (s *store) stage(r record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stagedAt[r.key] = len(s.staged)
	s.staged = append(s.staged, r)
	if len(s.staged) < stageLimit {
		return nil
	}
	return s.flushLocked()
}

// flush writes what is staged to bbolt: before a load (whose records may be newer),
// before reading what only bbolt answers (counts, the settled index) and on close.
func (s *store) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

// flushLocked applies the staged writes in one transaction. Failing, it drops them
// all the same: they are on the changelog, and the caller marks the store unloaded
// so that the next load replays them.
func (s *store) flushLocked() error {
	if len(s.staged) == 0 {
		return nil
	}
	recs := s.staged
	s.staged = make([]record, 0, stageLimit)
	clear(s.stagedAt)
	return s.applyLocked(recs, 0, false)
}

func (s *store) applyLocked(recs []record, next int64, contiguous bool) error {
	delta := int64(0)
	applied := s.applied
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bucketEntries), tx.Bucket(bucketSettled)
		for _, r := range recs {
			cur := b.Get([]byte(r.key))
			if cur != nil && len(cur) >= valueHeader && int64(binary.BigEndian.Uint64(cur)) >= r.off {
				continue // something newer is already here
			}
			if len(cur) >= valueHeader && cur[16]&1 != 0 {
				if err := idx.Delete(settledKey(int64(binary.BigEndian.Uint64(cur[8:])), r.key)); err != nil {
					return err
				}
			}
			if r.done && r.value != nil {
				if err := idx.Put(settledKey(r.updated, r.key), nil); err != nil {
					return err
				}
			}
			if r.value == nil {
				if cur != nil {
					if err := b.Delete([]byte(r.key)); err != nil {
						return err
					}
					delta--
				}
				continue
			}
			v := make([]byte, valueHeader+len(r.value))
			binary.BigEndian.PutUint64(v, uint64(r.off))
			binary.BigEndian.PutUint64(v[8:], uint64(r.updated))
			if r.done {
				v[16] = 1
			}
			copy(v[valueHeader:], r.value)
			if err := b.Put([]byte(r.key), v); err != nil {
				return err
			}
			if cur == nil {
				delta++
			}
		}
		if contiguous {
			applied = max(applied, next)
		} else {
			for _, r := range recs {
				if r.off >= applied {
					s.ahead[r.off] = true
				}
			}
			for s.ahead[applied] {
				delete(s.ahead, applied)
				applied++
			}
		}
		for off := range s.ahead {
			if off < applied {
				delete(s.ahead, off)
			}
		}
		meta := tx.Bucket(bucketMeta)
		if err := putInt(meta, keyApplied, applied); err != nil {
			return err
		}
		return putInt(meta, keyCount, s.count.Load()+delta)
	})
	if err != nil {
		return fmt.Errorf("ledger: local store of partition %d: %w", s.p, err)
	}
	s.applied = applied
	s.count.Add(delta)
	// A zombie writer leaves gaps that only a load fills; do not let own writes pile up.
	if len(s.ahead) > 10000 {
		s.ahead = map[int64]bool{}
	}
	return nil
}

func (s *store) appliedOffset() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// get reads one entry: a staged write of it, else bbolt's.
func (s *store) get(id string) (Entry, bool, error) {
	var e Entry
	s.mu.Lock()
	i, staged := s.stagedAt[id]
	var r record
	if staged {
		r = s.staged[i]
	}
	s.mu.Unlock()
	if staged {
		if r.value == nil {
			return Entry{}, false, nil // forgotten
		}
		if err := json.Unmarshal(r.value, &e); err != nil {
			return Entry{}, false, fmt.Errorf("ledger: read %s from partition %d: %w", id, s.p, err)
		}
		e.Partition = s.p
		return e, true, nil
	}
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketEntries).Get([]byte(id))
		if len(v) < valueHeader {
			return nil
		}
		found = true
		return json.Unmarshal(v[valueHeader:], &e)
	})
	if err != nil {
		return Entry{}, false, fmt.Errorf("ledger: read %s from partition %d: %w", id, s.p, err)
	}
	e.Partition = s.p
	return e, found, nil
}

// settledKey is the index key of an entry settled at updated (Unix nanoseconds).
func settledKey(updated int64, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(updated))
	copy(k[8:], id)
	return k
}

// settledBefore appends up to limit ids of settled entries last written before t
// (Unix nanoseconds), oldest first, reading only those.
func (s *store) settledBefore(t int64, limit int, out []Ref) ([]Ref, error) {
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSettled).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= t {
				break
			}
			out = append(out, Ref{Partition: s.p, ID: string(k[8:])})
		}
		return nil
	})
	return out, err
}
