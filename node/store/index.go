package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	ds "github.com/ipfs/go-datastore"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/atomicfile"
	"github.com/convene/convene/internal/mapfile"
	"github.com/convene/convene/node/recon"
)

// A log's reconciliation index is saved at Close, so that the next start
// reads it instead of scanning every key of the log and decoding its hex
// (≈ 0.5 s of a million operations' start-up).
//
// The file, recon-<gathering hex>.idx in the store's directory (integers
// big-endian):
//
//	magic  8 bytes "cvnrecon"
//	version 1 byte (1)
//	count  8 bytes
//	items  count × recon.KeySize bytes, ascending
//	crc    4 bytes, CRC-32C of everything before it
//
// The file alone cannot tell whether writes followed it (a node killed
// after its last clean start). So Close also writes a marker into pebble,
// /x/recon/<gathering hex> = count | crc | digest, synced after the file;
// opening the log deletes the marker, synced, before the log takes any
// write. A marker therefore exists only while the log is exactly what the
// file holds.
//
// A start after kill -9 need not scan either. The open that deleted the
// marker put it back as the base, /x/recon-base/<gathering hex>, in the
// same synced batch, and from then on every write of the log also writes,
// in its own batch, a journal entry /x/recon-journal/<gathering hex>/<seq,
// 16 hex> holding the items it added (packed as in the file). So the
// file plus the journal is the log, whatever killed the process; the
// next open reads both. Close, having saved the file, deletes the base
// and the journal in the batch that writes the marker. A base that does
// not name the file (a crash between the two) is dropped, and the open
// scans the keys as before; so does a first start.
var indexMagic = [8]byte{'c', 'v', 'n', 'r', 'e', 'c', 'o', 'n'}

const (
	indexVersion = 1
	indexHead    = 8 + 1 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Store) indexPath(g crdt.GatheringID) string {
	return filepath.Join(s.dir, "recon-"+g.String()+".idx")
}

func indexMarker(g crdt.GatheringID) ds.Key { return ds.RawKey("/x/recon/" + g.String()) }

func indexBase(g crdt.GatheringID) ds.Key { return ds.RawKey("/x/recon-base/" + g.String()) }

func journalPrefix(g crdt.GatheringID) string { return "/x/recon-journal/" + g.String() }

func journalKey(g crdt.GatheringID, seq uint64) ds.Key {
	return ds.RawKey(fmt.Sprintf("%s/%016x", journalPrefix(g), seq))
}

// persists reports whether the store saves indexes: only pebble on the
// real file system (the in-memory store has nothing to start from, and
// tests that swap the file system test pebble, not this file).
func (s *Store) persists() bool { return s.db != nil && s.realFS }

// saveIndexes saves the index of every open log. It runs in Close, once no
// call is in flight and none can start, so the indexes are final. A
// failure is logged, not returned: the next start scans instead.
func (s *Store) saveIndexes(ctx context.Context) {
	if !s.persists() {
		return
	}
	for g, l := range s.logs {
		if err := s.saveIndex(ctx, g, l); err != nil {
			s.log.Warn("cannot save the reconciliation index; the next start scans the log", "gathering", g, "err", err)
		}
	}
}

func (s *Store) saveIndex(ctx context.Context, g crdt.GatheringID, l *Log) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	sum := l.savedSum
	if !l.saved || l.changed {
		var err error
		if sum, err = s.writeIndex(g, l.ix); err != nil {
			return err
		}
	}
	// A saved index nothing changed is still the file: read-only runs
	// (convene status, export) put the marker back and write nothing else.
	b, err := s.ds.Batch(ctx)
	if err != nil {
		return fmt.Errorf("mark %s: %w", s.indexPath(g), err)
	}
	if err := b.Put(ctx, indexMarker(g), markerValue(l.ix.Len(), sum, l.ix.Digest())); err != nil {
		return fmt.Errorf("mark %s: %w", s.indexPath(g), err)
	}
	if err := s.dropJournal(ctx, g, b); err != nil {
		return fmt.Errorf("mark %s: %w", s.indexPath(g), err)
	}
	if err := s.commit(ctx, b); err != nil {
		return fmt.Errorf("mark %s: %w", s.indexPath(g), err)
	}
	return nil
}

// dropJournal adds to b the deletion of g's base and journal.
func (s *Store) dropJournal(ctx context.Context, g crdt.GatheringID, b ds.Batch) error {
	if err := b.Delete(ctx, indexBase(g)); err != nil {
		return err
	}
	return s.scan(ctx, journalPrefix(g), nil, true, func(k, _ []byte) error {
		return b.Delete(ctx, ds.RawKey(string(k)))
	})
}

// writeIndex replaces g's index file with ix and returns its checksum.
func (s *Store) writeIndex(g crdt.GatheringID, ix *recon.Index) (uint32, error) {
	var sum uint32
	err := atomicfile.Write(s.indexPath(g), 0o600, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<16)
		head := append(indexMagic[:len(indexMagic):len(indexMagic)], indexVersion)
		head = binary.BigEndian.AppendUint64(head, uint64(ix.Len()))
		sum = crc32.Checksum(head, castagnoli)
		w.Write(head)
		ix.Packed(func(chunk []byte) error {
			sum = crc32.Update(sum, castagnoli, chunk)
			_, err := w.Write(chunk)
			return err
		})
		w.Write(binary.BigEndian.AppendUint32(nil, sum))
		return w.Flush() // a bufio.Writer keeps its first error
	})
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", s.indexPath(g), err)
	}
	return sum, nil
}

func markerValue(count int, sum uint32, digest string) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(count))
	v = binary.BigEndian.AppendUint32(v, sum)
	return append(v, digest...)
}

// savedIndex is what loadIndex found: the index, whether it is the file
// as saved (saved, with the file's checksum sum), and whether the log's
// writes go on into the journal from entry seq.
type savedIndex struct {
	ix      *recon.Index
	saved   bool
	sum     uint32
	journal bool
	seq     uint64
}

// loadIndex returns g's index from the saved file: as saved if a marker
// says it is the log's current one, or with the journal's items added if
// a base names the file; ix is nil if neither is usable (the caller
// scans). Either way no marker is left behind and the base names what
// the journal starts from: the log may change from now on. Only an error
// writing those is returned (the log must not open then, or a later start
// could trust a stale file).
func (s *Store) loadIndex(ctx context.Context, g crdt.GatheringID) (savedIndex, error) {
	if !s.persists() {
		return savedIndex{}, nil
	}
	marker, err := s.ds.Get(ctx, indexMarker(g))
	if err != nil && !errors.Is(err, ds.ErrNotFound) {
		return savedIndex{}, fmt.Errorf("store: read the index marker of %s: %w", g, err)
	}
	if err == nil {
		ix, rerr := s.readIndex(g, marker)
		b, err := s.ds.Batch(ctx)
		if err == nil {
			if err = b.Delete(ctx, indexMarker(g)); err == nil && rerr == nil {
				err = b.Put(ctx, indexBase(g), marker)
			}
		}
		if err == nil {
			err = s.commit(ctx, b)
		}
		if err != nil {
			return savedIndex{}, fmt.Errorf("store: replace the index marker of %s: %w", g, err)
		}
		if rerr != nil {
			s.log.Warn("cannot use the saved reconciliation index; scanning the log", "gathering", g, "err", rerr)
			return savedIndex{}, nil
		}
		return savedIndex{ix: ix, saved: true, sum: binary.BigEndian.Uint32(marker[8:12]), journal: true}, nil
	}
	base, err := s.ds.Get(ctx, indexBase(g))
	if errors.Is(err, ds.ErrNotFound) {
		return savedIndex{}, nil
	}
	if err != nil {
		return savedIndex{}, fmt.Errorf("store: read the index base of %s: %w", g, err)
	}
	si, rerr := s.readJournal(ctx, g, base)
	if rerr == nil {
		return si, nil
	}
	s.log.Warn("cannot use the saved reconciliation index and its journal; scanning the log", "gathering", g, "err", rerr)
	b, err := s.ds.Batch(ctx)
	if err == nil {
		if err = s.dropJournal(ctx, g, b); err == nil {
			err = s.commit(ctx, b)
		}
	}
	if err != nil {
		return savedIndex{}, fmt.Errorf("store: drop the index journal of %s: %w", g, err)
	}
	return savedIndex{}, nil
}

// readJournal reads the file base names and adds the journal's items.
func (s *Store) readJournal(ctx context.Context, g crdt.GatheringID, base []byte) (savedIndex, error) {
	ix, err := s.readIndex(g, base)
	if err != nil {
		return savedIndex{}, err
	}
	si := savedIndex{ix: ix, journal: true}
	pref := len(journalPrefix(g)) + 1
	err = s.scan(ctx, journalPrefix(g), nil, false, func(k, v []byte) error {
		seq, err := strconv.ParseUint(string(k[pref:]), 16, 64)
		if err != nil || len(k) != pref+16 || len(v) == 0 || len(v)%itemSize != 0 {
			return fmt.Errorf("malformed journal entry %q", k)
		}
		for raw := v; len(raw) > 0; raw = raw[itemSize:] {
			ix.Insert(unpackItem(raw))
		}
		si.seq = seq + 1
		return nil
	})
	if err != nil {
		return savedIndex{}, err
	}
	return si, nil
}

// mapping owns a mapped index file: the blocks using it hold one, and its
// collection unmaps the file.
type mapping struct{ _ byte }

// readIndex reads g's index file and checks it against the marker.
func (s *Store) readIndex(g crdt.GatheringID, marker []byte) (*recon.Index, error) {
	if len(marker) < 12 {
		return nil, errors.New("damaged marker")
	}
	count := binary.BigEndian.Uint64(marker[0:8])
	want := binary.BigEndian.Uint32(marker[8:12])
	digest := string(marker[12:])
	f, err := os.Open(s.indexPath(g))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if count > 1<<40 || info.Size() != indexHead+int64(count)*recon.KeySize+4 {
		return nil, fmt.Errorf("%s: %d bytes for %d items", f.Name(), info.Size(), count)
	}
	r := bufio.NewReaderSize(f, 1<<16)
	head := make([]byte, indexHead)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if !bytes.HasPrefix(head, indexMagic[:]) || head[8] != indexVersion || binary.BigEndian.Uint64(head[9:]) != count {
		return nil, fmt.Errorf("%s: not the index the marker names", f.Name())
	}
	sum := crc32.Checksum(head, castagnoli)
	ix := recon.NewIndex()
	// Mapped, the items are checked through the reads below and used in
	// place, so that they are only in memory where a reconciliation
	// reaches (mapfile). Where the file cannot be mapped they are copied.
	size := int64(count) * recon.KeySize
	var items []byte
	var owner *mapping
	if size > 0 {
		if mem, err := mapfile.Map(f, int(info.Size())); err == nil {
			items = mem[indexHead : indexHead+size]
			// The blocks that use the mapping hold owner: it is unmapped
			// once none is reachable.
			owner = new(mapping)
			runtime.AddCleanup(owner, func(mem []byte) { _ = mapfile.Unmap(mem) }, mem)
		} else {
			ix.Reserve(int(count))
		}
	}
	chunk := make([]byte, 16*recon.PackedBlock)
	for off := int64(0); off < size; {
		c := chunk[:min(int64(len(chunk)), size-off)]
		if _, err := io.ReadFull(r, c); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		sum = crc32.Update(sum, castagnoli, c)
		if items != nil {
			err = ix.AppendPackedIn(c, items[off:off+int64(len(c))], owner)
		} else {
			err = ix.AppendPacked(c)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		off += int64(len(c))
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if got := binary.BigEndian.Uint32(tail[:]); got != sum || got != want {
		return nil, fmt.Errorf("%s: checksum mismatch", f.Name())
	}
	if ix.Digest() != digest {
		return nil, fmt.Errorf("%s: digest mismatch", f.Name())
	}
	return ix, nil
}
