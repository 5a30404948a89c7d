package store

import (
	"context"
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
