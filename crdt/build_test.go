package crdt

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBuilder: a state built from operations in (clock, id) order, as a
// log holds them, is the state applying them in any order gives: the same
// documents and the same snapshot, with and without texts going cold;
// and an operation out of order, a repeat, or one more than the builder
// was made for ends the table without changing the result.
func TestBuilder(t *testing.T) {
	w := sampleOps(t)
	ops := append(slices.Clone(w.ops), syntheticOps(3000, 4)...)
	founder := w.founder.ID
	r := rand.New(rand.NewPCG(5, 6))
	sorted := slices.Clone(ops)
	slices.SortFunc(sorted, func(a, b Op) int { return opCompare(&a, &b) })

	for _, cold := range []bool{false, true} {
		var texts ColdText
		if cold {
			texts = newStoreTexts(ops)
		}
		applied := NewState(founder)
		applied.SetColdText(texts)
		if cold {
			applied.chillMin = 64
		}
		for _, op := range shuffled(r, ops) {
			applied.Apply(op)
		}
		want, wantSnap := dump(t, applied), applied.Snapshot()

		// feed is what a builder for n operations is handed.
		cases := []struct {
			name  string
			n     int
			feed  []Op
			table bool // every operation tabled
		}{
			{"in order", len(sorted), sorted, true},
			{"one out of order", len(sorted), swapAt(sorted, len(sorted)/2), false},
			{"a repeat", len(sorted) + 1, slices.Insert(slices.Clone(sorted), 100, sorted[99]), false},
			{"more than announced", len(sorted) - 10, sorted, false},
			{"none announced", 0, sorted, false},
		}
		for _, c := range cases {
			b := NewBuilder(founder, c.n, texts)
			if cold {
				b.s.chillMin = 64
			}
			for _, op := range c.feed {
				b.Add(op)
			}
			got := b.State()
			if tabled := got.ops.m.len() == 0; tabled != c.table {
				t.Errorf("cold %v, %s: every operation tabled: %v, want %v", cold, c.name, tabled, c.table)
			}
			if got.Len() != len(sorted) {
				t.Errorf("cold %v, %s: %d operations, want %d", cold, c.name, got.Len(), len(sorted))
			}
			requireSameDump(t, c.name, want, dump(t, got))
			if !bytes.Equal(got.Snapshot(), wantSnap) {
				t.Errorf("cold %v, %s: the snapshot differs from the applied state's", cold, c.name)
			}
			// Applied after it is built, as after a rebuild.
			extra := syntheticOpsFrom(got, 50)
			again := applyOps(founder, append(slices.Clone(ops), extra...))
			for _, op := range extra {
				got.Apply(op)
			}
			requireSameDump(t, c.name+", then applied", dump(t, again), dump(t, got))
		}
	}
}

// swapAt is ops with the operations at i and i+1 swapped.
func swapAt(ops []Op, i int) []Op {
	out := slices.Clone(ops)
	out[i], out[i+1] = out[i+1], out[i]
	return out
}

// TestBuilderRepeatInTable: were a repeat ever tabled (Add refuses one),
// the table is dropped and its operations applied again, to the state
// applying them gives.
func TestBuilderRepeatInTable(t *testing.T) {
	w := sampleOps(t)
	ops := append(slices.Clone(w.ops), syntheticOps(500, 2)...)
	slices.SortFunc(ops, func(a, b Op) int { return opCompare(&a, &b) })
	want := dump(t, applyOps(w.founder.ID, ops))
	b := NewBuilder(w.founder.ID, len(ops)+1, nil)
	for _, op := range ops[:100] {
		b.Add(op)
	}
	// Behind Add's back: a repeat of the last, tabled.
	b.all = append(b.all, ops[99])
	b.s.file(&b.all[len(b.all)-1])
	for _, op := range ops[100:] {
		b.Add(op)
	}
	got := b.State()
	if got.Len() != len(ops) {
		t.Fatalf("%d operations, want %d", got.Len(), len(ops))
	}
	requireSameDump(t, "a repeat tabled", want, dump(t, got))
}
