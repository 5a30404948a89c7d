package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	ds "github.com/ipfs/go-datastore"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// Item names a stored operation in reconciliation order: by clock, then id.
type Item = recon.Item

const itemSize = 8 + 4 + 32

// Log is the stored operation set of one gathering.
type Log struct {
	s       *Store
	g       crdt.GatheringID
	opsPref string // "/g/<hex>/o"

	// mu serialises writers and guards the reconciliation index, which
	// mirrors the stored keys and answers membership without a disk read.
	mu sync.RWMutex
	ix *recon.Index
	// saved: the index was read from the file the last Close saved (whose
	// checksum is savedSum), not scanned; changed: a write added to it
	// since. Close rewrites only the marker of a saved, unchanged index.
	saved    bool
	savedSum uint32
	changed  bool
	// journal: a base names the saved file, so each write also adds its
	// items to the journal, as entry seq (index.go).
	journal bool
	seq     uint64
}

func openLog(ctx context.Context, s *Store, g crdt.GatheringID) (*Log, error) {
	l := &Log{
		s:       s,
		g:       g,
		opsPref: "/g/" + g.String() + "/o",
	}
	si, err := s.loadIndex(ctx, g)
	if err != nil {
		return nil, err
	}
	ix := si.ix
	l.saved, l.savedSum, l.journal, l.seq = si.saved, si.sum, si.journal, si.seq
	l.changed = ix != nil && !si.saved
	if ix == nil {
		if ix, err = l.scanIndex(ctx); err != nil {
			return nil, err
		}
	}
	l.ix = ix
	return l, nil
}

// scanIndex builds the log's index from its keys: a key-only scan, since
// the items are in the keys, whose hex decodes straight into the index's
// packed form, a chunk at a time.
func (l *Log) scanIndex(ctx context.Context) (*recon.Index, error) {
	ix := recon.NewIndex()
	chunk := make([]byte, 0, 1024*recon.KeySize)
	flush := func() error {
		err := ix.AppendPacked(chunk)
		chunk = chunk[:0]
		return err
	}
	p := len(l.opsPref) + 1
	err := l.s.scan(ctx, l.opsPref, nil, true, func(k, _ []byte) error {
		if len(k) != p+2*itemSize {
			return fmt.Errorf("store: malformed key %q", k)
		}
		n := len(chunk)
		chunk = chunk[:n+itemSize]
		if _, err := hex.Decode(chunk[n:], k[p:]); err != nil {
			return fmt.Errorf("store: malformed key %q", k)
		}
		if len(chunk) == cap(chunk) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", l.g, err)
	}
	return ix, nil
}

// Gathering is the gathering whose operations the log holds.
func (l *Log) Gathering() crdt.GatheringID { return l.g }

// Len is the number of stored operations.
func (l *Log) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ix.Len()
}

// Digest is the fingerprint of the whole stored set: logs holding the
// same operations have the same digest.
func (l *Log) Digest() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ix.Digest()
}

// Contains reports whether an item is stored, from memory.
func (l *Log) Contains(it Item) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ix.Has(it)
}

// ReadIndex runs fn with the reconciliation index under the read lock. fn
// must not keep ix or modify it.
func (l *Log) ReadIndex(fn func(ix *recon.Index)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.ix)
}

// Put stores the envelopes not already stored, as one synced batch, and
// reports how many were new. On error nothing is stored.
func (l *Log) Put(ctx context.Context, envs []*crdt.Envelope) (added int, err error) {
	added2, err := l.PutNew(ctx, envs)
	return len(added2), err
}

// PutNew is Put returning the envelopes that were new, in input order.
func (l *Log) PutNew(ctx context.Context, envs []*crdt.Envelope) ([]*crdt.Envelope, error) {
	if err := l.s.enter(); err != nil {
		return nil, err
	}
	defer l.s.inflight.Done()
	for _, e := range envs {
		if e.Gathering != l.g {
			return nil, fmt.Errorf("store: %w: %s in the log of %s", crdt.ErrForeign, e.Gathering, l.g)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var fresh []*crdt.Envelope
	seen := make(map[crdt.OpID]struct{}, len(envs))
	for _, e := range envs {
		if _, dup := seen[e.ID()]; dup {
			continue
		}
		seen[e.ID()] = struct{}{}
		if !l.ix.Has(Item{Clock: e.Clock, ID: e.ID()}) {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	size := 0
	for _, e := range fresh {
		size += len(e.Bytes()) + 300 // the key and pebble's overhead, generously
	}
	if err := l.s.writable(size); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	b, err := l.s.ds.Batch(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: batch: %w", err)
	}
	for _, e := range fresh {
		if err := b.Put(ctx, l.opKey(Item{Clock: e.Clock, ID: e.ID()}), e.Bytes()); err != nil {
			return nil, fmt.Errorf("store: put %s: %w", e.ID(), err)
		}
	}
	if l.journal {
		entry := make([]byte, 0, len(fresh)*itemSize)
		for _, e := range fresh {
			entry = packItem(entry, Item{Clock: e.Clock, ID: e.ID()})
		}
		if err := b.Put(ctx, journalKey(l.g, l.seq), entry); err != nil {
			return nil, fmt.Errorf("store: journal: %w", err)
		}
	}
	if err := l.s.commit(ctx, b); err != nil {
		return nil, fmt.Errorf("store: commit %d operations: %w", len(fresh), err)
	}
	if l.journal {
		l.seq++
	}
	// The index changes only once the batch is durable, so a failed write
	// leaves the log as it was.
	for _, e := range fresh {
		l.ix.Insert(Item{Clock: e.Clock, ID: e.ID()})
	}
	l.changed = true
	return fresh, nil
}

// Get returns the encodings of the items that are stored, in input order;
// missing ones are skipped. An operation is read by its item only: the
// log keeps no index by id alone (the node's state knows every applied
// operation's clock).
func (l *Log) Get(ctx context.Context, items []Item) ([][]byte, error) {
	if err := l.s.enter(); err != nil {
		return nil, err
	}
	defer l.s.inflight.Done()
	out := make([][]byte, 0, len(items))
	for _, it := range items {
		b, err := l.s.ds.Get(ctx, l.opKey(it))
		if errors.Is(err, ds.ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("store: get %s: %w", it.ID, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Iterate calls fn with every stored envelope in (clock, id) order. An
// error from fn ends the iteration and is returned. A stored value that
// does not decode is reported as an error: it means the store is corrupt.
func (l *Log) Iterate(ctx context.Context, fn func(e *crdt.Envelope) error) error {
	// An envelope holds its encoding, and callers keep envelopes: each
	// encoding is copied, cut from shared arenas of about a megabyte (one
	// allocation per value was a third of reading a million of them).
	var arena []byte
	read := 0
	return l.IterateRaw(ctx, func(v []byte) error {
		read++
		if len(v) > cap(arena)-len(arena) {
			arena = make([]byte, 0, max(iterArena, len(v)))
		}
		at := len(arena)
		arena = append(arena, v...)
		e, err := crdt.DecodeEnvelope(arena[at:len(arena):len(arena)])
		if err != nil {
			return fmt.Errorf("store: corrupt entry (the %d-th in the log's order): %w", read, err)
		}
		return fn(e)
	})
}

// iterArena is the size of Iterate's arenas.
const iterArena = 1 << 20

// IterateRaw calls fn with the encoding of every stored operation, in
// clock order, undecoded: for a reader that decodes on other cores. The
// slice is the store's and valid only until fn returns: a caller that
// keeps it copies it, into memory of its own that it can use again (a
// rebuild from the log reads a gigabyte, and fresh copies of it were a
// sixth of the rebuild's time in page faults, and garbage).
func (l *Log) IterateRaw(ctx context.Context, fn func(raw []byte) error) error {
	if err := l.s.enter(); err != nil {
		return err
	}
	defer l.s.inflight.Done()
	return l.s.scan(ctx, l.opsPref, nil, false, func(_, v []byte) error { return fn(v) })
}

// Items calls fn with every stored item in order, reading keys only.
func (l *Log) Items(ctx context.Context, fn func(Item) error) error {
	if err := l.s.enter(); err != nil {
		return err
	}
	defer l.s.inflight.Done()
	return l.eachItem(ctx, fn)
}

// eachItem is Items for a caller that already holds the store open.
func (l *Log) eachItem(ctx context.Context, fn func(Item) error) error {
	return l.s.scan(ctx, l.opsPref, nil, true, func(k, _ []byte) error {
		it, err := l.parseOpKey(k)
		if err != nil {
			return err
		}
		return fn(it)
	})
}

// DiskUsage is the on-disk size of the whole store holding this log.
// Like every method that reads the store, it returns ErrClosed once the
// store is closed.
func (l *Log) DiskUsage(ctx context.Context) (int64, error) { return l.s.DiskUsage(ctx) }

func (l *Log) opKey(it Item) ds.Key {
	var raw [itemSize]byte
	var hexed [2 * itemSize]byte
	hex.Encode(hexed[:], packItem(raw[:0], it))
	var b strings.Builder // one allocation: the key
	b.Grow(len(l.opsPref) + 1 + len(hexed))
	b.WriteString(l.opsPref)
	b.WriteByte('/')
	b.Write(hexed[:])
	return ds.RawKey(b.String())
}

// packItem appends it as keys and the index file hold it: wall (8 bytes,
// big-endian), logical (4), id (32).
func packItem(b []byte, it Item) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(it.Clock.Wall))
	b = binary.BigEndian.AppendUint32(b, it.Clock.Logical)
	return append(b, it.ID[:]...)
}

// unpackItem reads an item packItem wrote; raw holds at least itemSize bytes.
func unpackItem(raw []byte) Item {
	var it Item
	it.Clock.Wall = int64(binary.BigEndian.Uint64(raw[0:8]))
	it.Clock.Logical = binary.BigEndian.Uint32(raw[8:12])
	copy(it.ID[:], raw[12:itemSize])
	return it
}

func (l *Log) parseOpKey(k []byte) (Item, error) {
	var it Item
	p := len(l.opsPref) + 1
	if len(k) != p+2*itemSize {
		return it, fmt.Errorf("store: malformed key %q", k)
	}
	var raw [itemSize]byte
	if _, err := hex.Decode(raw[:], k[p:]); err != nil {
		return it, fmt.Errorf("store: malformed key %q", k)
	}
	return unpackItem(raw[:]), nil
}
