package reconcile

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/callbridge/callbridge/internal/event"
)

// Published is the set of call.finished event ids already on the topic, for the
// accounts being reconciled, read from the topic itself.
//
// Why read the topic rather than keep a store of seen ids: the topic is the only
// record that cannot disagree with what consumers received — every path that
// publishes (webhooks on any instance, earlier sweeps, `callbridge reconcile`) writes
// there, so there is no second write to lose and nothing to keep in sync. A call that
// ended within the window was published, if at all, after it ended, so reading each
// partition from the offset of the window's start (kafka-go's offset by time, less
// Skew for clocks that disagree) sees every publication that matters. Only the ce_id
// and ce_account headers are kept, as 16 bytes per id, and ids older than the window
// are dropped on every Refresh: memory is bounded by the calls of the window, not by
// the topic's retention. Refresh reads only what was appended since the previous one,
// so a sweep every few minutes costs the tail, not the window.
type Published struct {
	// Dialer reaches the brokers (TLS, SASL); nil is kafka.DefaultDialer.
	Dialer *kafka.Dialer
	// Brokers are the bootstrap addresses (required).
	Brokers []string
	// Topic is the physical call.finished topic (required).
	Topic string
	// Accounts are the accounts whose ids are kept; empty keeps every account's.
	Accounts []string
	// Skew is how much earlier than the window's start the topic is read, for clocks
	// that disagree between the vendor, callbridge and the brokers; default 1h.
	Skew time.Duration

	refreshing sync.Mutex // one Refresh at a time
	mu         sync.Mutex
	ids        map[[16]byte]time.Time // id → record time
	next       map[int]int64          // partition → next offset to read
	since      time.Time              // records before this were not read
}

// Has reports whether id was published.
func (p *Published) Has(id string) bool {
	k, ok := idKey(id)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, seen := p.ids[k]
	return seen
}

// Add records that id was just published (Refresh would find it on the topic too).
func (p *Published) Add(id string, at time.Time) {
	if k, ok := idKey(id); ok {
		p.mu.Lock()
		if p.ids == nil {
			p.ids = map[[16]byte]time.Time{}
		}
		p.ids[k] = at
		p.mu.Unlock()
	}
}

// Len is the number of ids held.
func (p *Published) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// idKey packs a UUID-formatted event id into 16 bytes; other ids (never made by
// event.ID) are not kept.
func idKey(id string) (k [16]byte, ok bool) {
	h := strings.ReplaceAll(id, "-", "")
	if len(h) != 32 {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(h)); err != nil {
		return k, false
	}
	return k, true
}

// Refresh reads what was published since the previous Refresh (or, the first time
// and whenever from moves earlier than the previous from, since from - Skew) up to the
// end of every partition as it is now, and forgets ids of records older than
// from - Skew. Callers sharing one Published should pass the same window (the engine
// passes its widest lookback), or each narrower one drops what a wider one needs
// and the next wider one reads the topic again.
func (p *Published) Refresh(ctx context.Context, from time.Time) error {
	skew := p.Skew
	if skew <= 0 {
		skew = time.Hour
	}
	start := from.Add(-skew)
	dialer := p.Dialer
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	if len(p.Brokers) == 0 {
		return errors.New("reconcile: no brokers")
	}
	conn, err := dialer.DialContext(ctx, "tcp", p.Brokers[0])
	if err != nil {
		return fmt.Errorf("reconcile: dial: %w", err)
	}
	parts, err := conn.ReadPartitions(p.Topic)
	conn.Close()
	if err != nil {
		return fmt.Errorf("reconcile: partitions of %s: %w", p.Topic, err)
	}
	// One refresh at a time; sweeps keep reading the index while one runs.
	p.refreshing.Lock()
	defer p.refreshing.Unlock()
	p.mu.Lock()
	if p.ids == nil {
		p.ids = map[[16]byte]time.Time{}
	}
	if p.next == nil || start.Before(p.since) {
		// Read again from the earlier start. The ids held stay: another account's
		// sweep may be consulting them right now, and every one is still true.
		p.next, p.since = map[int]int64{}, start
	}
	for k, t := range p.ids {
		if t.Before(start) {
			delete(p.ids, k)
		}
	}
	// What is held now starts at start: a later Refresh from earlier reads again.
	p.since = start
	next := make(map[int]int64, len(p.next))
	for k, v := range p.next {
		next[k] = v
	}
	p.mu.Unlock()

	accounts := map[string]bool{}
	for _, a := range p.Accounts {
		accounts[a] = true
	}
	type found struct {
		id [16]byte
		at time.Time
	}
	results := make([][]found, len(parts))
	ends := make([]int64, len(parts))
	read := func(i, partition int) error {
		off, hasNext := next[partition]
		end, first, err := p.bounds(ctx, dialer, partition, start, hasNext)
		if err != nil {
			return err
		}
		if !hasNext || off < first {
			off = first
		}
		ends[i] = end
		if off >= end {
			return nil
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: p.Brokers, Dialer: dialer, Topic: p.Topic, Partition: partition,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		if err := r.SetOffset(off); err != nil {
			return err
		}
		for off < end {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				return fmt.Errorf("reconcile: read %s/%d@%d: %w", p.Topic, partition, off, err)
			}
			off = m.Offset + 1
			var id, acct, typ string
			for _, h := range m.Headers {
				switch h.Key {
				case "ce_id":
					id = string(h.Value)
				case "ce_account":
					acct = string(h.Value)
				case "ce_type":
					typ = string(h.Value)
				}
			}
			if typ != event.TypeCallFinished || (len(accounts) > 0 && !accounts[acct]) || m.Time.Before(start) {
				continue
			}
			if k, ok := idKey(id); ok {
				results[i] = append(results[i], found{k, m.Time})
			}
		}
		return nil
	}
	// A few partitions at a time.
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, part := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = read(i, part.ID)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, part := range parts {
		for _, f := range results[i] {
			p.ids[f.id] = f.at
		}
		if ends[i] > p.next[part.ID] {
			p.next[part.ID] = ends[i]
		}
	}
	return nil
}

// bounds returns the partition's end offset and, when it is read for the first time,
// the offset of its first record at or after start.
func (p *Published) bounds(ctx context.Context, dialer *kafka.Dialer, partition int, start time.Time, known bool) (end, first int64, err error) {
	conn, err := dialer.DialLeader(ctx, "tcp", p.Brokers[0], p.Topic, partition)
	if err != nil {
		return 0, 0, fmt.Errorf("reconcile: dial leader of %s/%d: %w", p.Topic, partition, err)
	}
	defer conn.Close()
	lo, hi, err := conn.ReadOffsets()
	if err != nil {
		return 0, 0, fmt.Errorf("reconcile: offsets of %s/%d: %w", p.Topic, partition, err)
	}
	if known {
		return hi, lo, nil
	}
	at, err := conn.ReadOffset(start)
	switch {
	case err != nil:
		at = lo // cannot tell: read the whole partition rather than miss an id
	case at < lo || at > hi:
		at = hi // no record at or after start
	}
	return hi, at, nil
}
