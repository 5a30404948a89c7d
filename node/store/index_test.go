package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	ds "github.com/ipfs/go-datastore"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/testkit"
	"github.com/convene/convene/node/recon"
)

// TestSavedIndex: a clean Close saves each log's index and a marker; the
// next open reads the file (same items, same digest) and deletes the
// marker before any write, so only the first open after a clean Close
// trusts the file. A damaged or missing file, or a marker that does not
// name it, falls back to the scan with the same result.
func TestSavedIndex(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "saved")
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, s *Store)
		saved  bool
	}{
		{"clean", func(*testing.T, *Store) {}, true},
		{"no file", func(t *testing.T, s *Store) { os.Remove(s.indexPath(g.keys.Gathering)) }, false},
		{"flipped byte", func(t *testing.T, s *Store) { flipByte(t, s.indexPath(g.keys.Gathering), 30) }, false},
		{"flipped checksum", func(t *testing.T, s *Store) { flipByte(t, s.indexPath(g.keys.Gathering), -1) }, false},
		{"truncated", func(t *testing.T, s *Store) { os.Truncate(s.indexPath(g.keys.Gathering), 100) }, false},
		{"no marker", func(t *testing.T, s *Store) {
			reopenAnd(t, s, func(s *Store) { s.ds.Delete(ctx, indexMarker(g.keys.Gathering)) })
		}, false},
		{"foreign marker", func(t *testing.T, s *Store) {
			reopenAnd(t, s, func(s *Store) { s.ds.Put(ctx, indexMarker(g.keys.Gathering), markerValue(40, 1, "x")) })
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			l := openLogT(t, s, g.keys.Gathering)
			if l.saved {
				t.Fatal("a new log claims a saved index")
			}
			if _, err := l.Put(ctx, g.ops(t, 40)); err != nil {
				t.Fatal(err)
			}
			items, digest := indexItems(l), l.Digest()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, s)

			s, err = Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			l = openLogT(t, s, g.keys.Gathering)
			if l.saved != tc.saved {
				t.Fatalf("read from the saved index: %v, want %v", l.saved, tc.saved)
			}
			if l.Len() != 40 || l.Digest() != digest {
				t.Fatalf("after reopen: %d items, digest %s; want 40, %s", l.Len(), l.Digest(), digest)
			}
			got := indexItems(l)
			for i := range items {
				if got[i] != items[i] {
					t.Fatalf("item %d differs after reopen", i)
				}
			}
			if _, err := s.ds.Get(ctx, indexMarker(g.keys.Gathering)); !errors.Is(err, ds.ErrNotFound) {
				t.Fatalf("the marker outlived the open: %v", err)
			}
			// Writes after the open go into the index (and the next save).
			if _, err := l.Put(ctx, []*crdt.Envelope{g.op(t, crdt.Clock{Wall: 1_800_000_000_000}, "late")}); err != nil {
				t.Fatal(err)
			}
			if l.Len() != 41 {
				t.Fatalf("%d items after a write", l.Len())
			}
		})
	}
}

func indexItems(l *Log) []Item {
	var out []Item
	l.ReadIndex(func(ix *recon.Index) {
		ix.Range(recon.Bound{}, recon.Infinity(), func(it Item) bool {
			out = append(out, it)
			return true
		})
	})
	return out
}

// reopenAnd opens the closed store s's directory, runs fn and closes it
// without opening the log (so the saved index stays as it was).
func reopenAnd(t *testing.T, s *Store, fn func(*Store)) {
	t.Helper()
	s2, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	fn(s2)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

// flipByte flips the byte at offset off of path (counted from the end when
// negative).
func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkOpenLog compares the two ways a log's index is built when the
// log opens: read from the file saved at the last Close, or scanned from
// the keys (after kill -9). Per item, so that sizes compare.
func BenchmarkOpenLog(b *testing.B) {
	const n = 20_000
	ctx := context.Background()
	dir := b.TempDir()
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	g := newTestGathering(b, "open")
	envs := g.ops(b, n)
	l := openLogT(b, s, g.keys.Gathering)
	for i := 0; i < n; i += 1000 {
		if _, err := l.Put(ctx, envs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l = openLogT(b, s, g.keys.Gathering)
	// The file and marker as Close leaves them.
	if err := s.saveIndex(ctx, g.keys.Gathering, l); err != nil {
		b.Fatal(err)
	}
	marker, err := s.ds.Get(ctx, indexMarker(g.keys.Gathering))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("saved", func(b *testing.B) {
		for b.Loop() {
			ix, err := s.readIndex(g.keys.Gathering, marker)
			if err != nil || ix.Len() != n {
				b.Fatalf("%v", err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			ix, err := l.scanIndex(ctx)
			if err != nil || ix.Len() != n {
				b.Fatalf("%v", err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
	})
}

// TestSavedIndexUnchanged: a run that wrote nothing puts the marker back
// without rewriting the file; a run that wrote rewrites it.
func TestSavedIndexUnchanged(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "unchanged")
	dir := t.TempDir()
	run := func(write bool) (saved bool, n int) {
		t.Helper()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		l := openLogT(t, s, g.keys.Gathering)
		saved = l.saved
		if write {
			if _, err := l.Put(ctx, g.ops(t, 10+l.Len())[l.Len():]); err != nil {
				t.Fatal(err)
			}
		}
		n = l.Len()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return saved, n
	}
	run(true)
	path := filepath.Join(dir, "recon-"+g.keys.Gathering.String()+".idx")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Time{}, time.Unix(1, 0))
	if saved, _ := run(false); !saved {
		t.Fatal("the first reopen scanned")
	}
	if info, err := os.Stat(path); err != nil || !info.ModTime().Equal(time.Unix(1, 0)) {
		t.Fatalf("a run that wrote nothing rewrote the index file (%v)", err)
	}
	if saved, n := run(true); !saved || n != 20 {
		t.Fatalf("second reopen: saved %v, %d items; want true, 20", saved, n)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatal("a run that wrote did not rewrite the index file")
	}
	if saved, n := run(false); !saved || n != 20 {
		t.Fatalf("third reopen: saved %v, %d items; want true, 20", saved, n)
	}
}

// TestIndexJournal: after kill -9 of a log opened from its saved index,
// the next open reads the file plus the journal of what was written since
// (no scan), with the same items as a scan; a clean Close then drops the
// journal; a journal or base that does not fit the file falls back to the
// scan with the same result.
func TestIndexJournal(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "journal")
	gid := g.keys.Gathering
	all := g.ops(t, 70)
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, s *Store)
		journal bool // read from the file and the journal
	}{
		{"crash", func(*testing.T, *Store) {}, true},
		{"file replaced", func(t *testing.T, s *Store) { flipByte(t, s.indexPath(gid), 30) }, false},
		{"malformed entry", func(t *testing.T, s *Store) {
			reopenAnd(t, s, func(s *Store) { s.ds.Put(ctx, journalKey(gid, 9), []byte("short")) })
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			l := openLogT(t, s, gid)
			if _, err := l.Put(ctx, all[:40]); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Opened from the saved file, then two writes, the second
			// repeating part of the first.
			s, err = Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			l = openLogT(t, s, gid)
			if !l.saved || !l.journal {
				t.Fatalf("opened after a clean Close: saved %v, journal %v", l.saved, l.journal)
			}
			if _, err := l.Put(ctx, all[40:60]); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Put(ctx, all[50:70]); err != nil {
				t.Fatal(err)
			}
			items, digest := indexItems(l), l.Digest()
			image := testkit.CopyDir(t, dir) // kill -9 now
			s.Close()

			crashed := &Store{dir: image}
			tc.damage(t, crashed)
			s, err = Open(image)
			if err != nil {
				t.Fatal(err)
			}
			l = openLogT(t, s, gid)
			if l.journal != tc.journal || l.saved {
				t.Fatalf("after kill -9: journal %v saved %v, want journal %v, not saved", l.journal, l.saved, tc.journal)
			}
			if l.Len() != 70 || l.Digest() != digest || !slices.Equal(indexItems(l), items) {
				t.Fatalf("after kill -9: %d items, digest %s; want 70, %s", l.Len(), l.Digest(), digest)
			}
			scanned, err := l.scanIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if scanned.Digest() != digest {
				t.Fatal("the index read differs from a scan of the keys")
			}
			// Writes go on into the journal (or not, after a scan), and
			// a clean Close leaves only the marker.
			late := g.op(t, crdt.Clock{Wall: 1_800_000_000_000}, "late")
			if _, err := l.Put(ctx, []*crdt.Envelope{late}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			reopenAnd(t, s, func(s *Store) {
				if _, err := s.ds.Get(ctx, indexBase(gid)); !errors.Is(err, ds.ErrNotFound) {
					t.Errorf("the base outlived a clean Close: %v", err)
				}
				n := 0
				s.scan(ctx, journalPrefix(gid), nil, true, func([]byte, []byte) error { n++; return nil })
				if n != 0 {
					t.Errorf("%d journal entries outlived a clean Close", n)
				}
			})
			s, err = Open(image)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if l = openLogT(t, s, gid); !l.saved || l.Len() != 71 {
				t.Fatalf("after the clean Close: saved %v, %d items; want the file, 71", l.saved, l.Len())
			}
		})
	}
}

// TestSavedIndexInPlace: a saved index large enough to hold whole blocks
// is used where it lies in the file (mapped, where the platform maps
// files). Writes after the open land inside those blocks without changing
// the file; the next Close replaces the file while it is still mapped,
// and the open after that reads what the log holds.
func TestSavedIndexInPlace(t *testing.T) {
	ctx := context.Background()
	g := newTestGathering(t, "in place")
	all := g.ops(t, 4*recon.PackedBlock/recon.KeySize+5)
	var first, later []*crdt.Envelope
	for i, e := range all {
		if i%7 == 3 {
			later = append(later, e) // their clocks fall inside saved blocks
		} else {
			first = append(first, e)
		}
	}
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := openLogT(t, s, g.keys.Gathering)
	if _, err := l.Put(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := s.indexPath(g.keys.Gathering)
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	l = openLogT(t, s, g.keys.Gathering)
	if !l.saved || l.Len() != len(first) {
		t.Fatalf("reopened: saved %v, %d items; want the saved index of %d", l.saved, l.Len(), len(first))
	}
	if _, err := l.Put(ctx, later); err != nil {
		t.Fatal(err)
	}
	want, digest := indexItems(l), l.Digest()
	if len(want) != len(all) || !slices.IsSortedFunc(want, Item.Compare) {
		t.Fatalf("%d items after the writes, want %d in order", len(want), len(all))
	}
	if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, saved) {
		t.Fatalf("writes into the index changed its saved file (err %v)", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l = openLogT(t, s, g.keys.Gathering)
	if !l.saved || l.Digest() != digest || !slices.Equal(indexItems(l), want) {
		t.Fatalf("after the second close: saved %v, %d items, digest %s; want %d, %s", l.saved, l.Len(), l.Digest(), len(want), digest)
	}
}
