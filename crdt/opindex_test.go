package crdt

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestOpIndex checks the table a snapshot fills and the maps applied
// operations go to, with ids made to share their 8-byte prefix.
func TestOpIndex(t *testing.T) {
	id := func(prefix uint64, tail byte) OpID {
		var x OpID
		binary.LittleEndian.PutUint64(x[:8], prefix)
		x[31] = tail
		return x
	}
	table := []Op{
		{ID: id(5, 2)}, {ID: id(1<<63, 1)}, {ID: id(5, 1)}, {ID: id(7, 0)}, {ID: id(5, 3)}, {ID: id(1<<63|1<<48, 0)},
	}
	var x opIndex
	x.m = newIDMap[Op]()
	if !x.setTable(table) {
		t.Fatal("setTable refused distinct ids")
	}
	for i := range table {
		if got := x.get(table[i].ID); got != &table[i] {
			t.Fatalf("get(%x) = %p, want the table's %p", table[i].ID[:8], got, &table[i])
		}
	}
	applied := []*Op{{ID: id(5, 9)}, {ID: id(9, 0)}, {ID: id(9, 1)}}
	for _, o := range applied {
		if x.get(o.ID) != nil {
			t.Fatalf("get(%x) of a new id found one", o.ID[:8])
		}
		x.put(o)
	}
	for _, tc := range []struct {
		name string
		o    *Op
	}{
		{"held in the table, prefix unmapped", &Op{ID: id(7, 0)}},
		{"held in the table, prefix mapped", &Op{ID: id(5, 1)}},
		{"held in the main map", &Op{ID: id(9, 0)}},
		{"held in the second map", &Op{ID: id(9, 1)}},
	} {
		if x.get(tc.o.ID) == nil { // State.Apply would put it again
			t.Errorf("%s: get misses a held id", tc.name)
		}
	}
	for _, o := range applied {
		if x.get(o.ID) != o {
			t.Errorf("get(%x) lost an applied operation", o.ID[:8])
		}
	}
	for _, missing := range []OpID{id(5, 4), id(6, 0), id(0, 0), id(1<<64-1, 0)} {
		if x.get(missing) != nil {
			t.Errorf("get(%x %x) found an id never added", missing[:8], missing[31])
		}
	}
	if x.len() != len(table)+len(applied) {
		t.Errorf("len = %d, want %d", x.len(), len(table)+len(applied))
	}
	seen := map[OpID]int{}
	x.each(func(o *Op) { seen[o.ID]++ })
	if len(seen) != x.len() {
		t.Errorf("each saw %d ids, want %d", len(seen), x.len())
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("each gave %x %d times", id[:8], n)
		}
	}

	var y opIndex
	if y.setTable([]Op{{ID: id(3, 0)}, {ID: id(4, 0)}, {ID: id(3, 0)}}) {
		t.Error("setTable took a repeated id")
	}
}

// TestOpIndexTableSizes fills tables across directory sizes with random
// ids, and with ids made to share a directory entry (and, a third of
// them, their whole prefix): every id is found where the table holds it, and an id next to each (the
// same prefix, one more in the last byte) is not.
func TestOpIndexTableSizes(t *testing.T) {
	for _, tc := range []struct {
		n    int
		same bool // every id made to share the directory's bits
	}{{1, false}, {7, false}, {300, false}, {5000, false}, {40000, false}, {300, true}, {5000, true}} {
		n := tc.n
		rnd := rand.New(rand.NewPCG(uint64(n), 3))
		table := make([]Op, n)
		for i := range table {
			for j := 0; j < 32; j += 8 {
				binary.LittleEndian.PutUint64(table[i].ID[j:], rnd.Uint64())
			}
			if tc.same {
				table[i].ID[7] = 0xAB // the prefix's top byte
				if i%3 == 0 {
					copy(table[i].ID[:8], "samepref") // and whole prefixes
					table[i].ID[7] = 0xAB
				}
			}
		}
		var x opIndex
		x.m = newIDMap[Op]()
		if !x.setTable(table) {
			t.Fatalf("n=%d: setTable refused distinct ids", n)
		}
		if x.len() != n || len(x.dir) != 1<<x.bits+1 || n>>x.bits > 8 && x.bits < 28 {
			t.Fatalf("n=%d: len %d, %d directory entries for %d bits", n, x.len(), len(x.dir), x.bits)
		}
		for i := range table {
			if got := x.get(table[i].ID); got != &table[i] {
				t.Fatalf("n=%d: get(%x) = %p, want %p", n, table[i].ID[:8], got, &table[i])
			}
			near := table[i].ID
			near[31]++
			if x.get(near) != nil {
				t.Fatalf("n=%d: get(%x) found another id", n, near[:8])
			}
		}
	}
}
