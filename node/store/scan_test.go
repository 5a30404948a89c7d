package store

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
)

// BenchmarkScan compares reading a whole log through pebble's iterator
// (what scan does) with the go-datastore query over the same store (what
// it would do otherwise): the figures behind scanPebble's comment.
func BenchmarkScan(b *testing.B) {
	const n = 20_000
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newTestGathering(b, "scan")
	envs := g.ops(b, n)
	l := openLogT(b, s, envs[0].Gathering)
	for i := 0; i < n; i += 1000 {
		if _, err := l.Put(context.Background(), envs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	db := s.db
	for _, tt := range []struct {
		name string
		db   bool
	}{{"pebble iterator", true}, {"datastore query", false}} {
		b.Run(tt.name, func(b *testing.B) {
			s.db = nil
			if tt.db {
				s.db = db
			}
			defer func() { s.db = db }()
			for b.Loop() {
				got := 0
				if err := l.Iterate(context.Background(), func(*crdt.Envelope) error { got++; return nil }); err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("scanned %d operations, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/op-read")
		})
	}
}

// TestIterateRaw: the encodings IterateRaw hands out are the stored
// envelopes, in clock order, and each stays intact after later ones are
// read (they share arenas) or after its holder appends to it.
func TestIterateRaw(t *testing.T) {
	g := newTestGathering(t, "raw")
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := openLogT(t, s, g.keys.Gathering)
			envs := g.ops(t, 5000) // several of Iterate's arenas
			if _, err := l.Put(context.Background(), envs); err != nil {
				t.Fatal(err)
			}
			// IterateRaw lends the store's buffer: a caller that keeps
			// an encoding copies it.
			var raws [][]byte
			if err := l.IterateRaw(context.Background(), func(raw []byte) error {
				raws = append(raws, bytes.Clone(raw))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// Iterate's envelopes are the caller's to keep, each its own
			// encoding even where it is appended to.
			var kept []*crdt.Envelope
			if err := l.Iterate(context.Background(), func(e *crdt.Envelope) error {
				kept = append(kept, e)
				if b := e.Bytes(); cap(b) != len(b) {
					// An append by its holder would write over the next.
					t.Fatalf("envelope %d: %d bytes with room for %d", len(kept), len(b), cap(b))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			// In (clock, id) order: what was stored, sorted.
			want := slices.Clone(envs)
			slices.SortFunc(want, func(a, b *crdt.Envelope) int {
				if c := a.Clock.Compare(b.Clock); c != 0 {
					return c
				}
				ida, idb := a.ID(), b.ID()
				return bytes.Compare(ida[:], idb[:])
			})
			if len(raws) != len(envs) || len(kept) != len(envs) {
				t.Fatalf("%d encodings, %d envelopes, %d stored", len(raws), len(kept), len(envs))
			}
			for i, raw := range raws {
				if !bytes.Equal(raw, want[i].Bytes()) {
					t.Fatalf("encoding %d is not the %d-th stored in order", i, i)
				}
				if !bytes.Equal(kept[i].Bytes(), raw) {
					t.Fatalf("envelope %d kept from Iterate changed after it", i)
				}
			}
		})
	}
}
