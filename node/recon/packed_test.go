package recon

import (
	"bytes"
	"testing"
)

// packedOf is the index's items as Packed writes them.
func packedOf(t *testing.T, ix *Index) []byte {
	t.Helper()
	var packed []byte
	if err := ix.Packed(func(chunk []byte) error {
		packed = append(packed, chunk...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return packed
}

// TestIndexAppendPackedIn reads items in place: the index must hold what
// a copying read holds, use mem's bytes for whole blocks (an insert
// writes there, not to a copy), and go on working as any index does.
func TestIndexAppendPackedIn(t *testing.T) {
	for _, tc := range []struct {
		n     int
		chunk int // items per call
	}{
		{0, blockCap}, {blockCap - 1, blockCap}, {blockCap, blockCap}, {3*blockCap + 17, 2 * blockCap},
		{5 * blockCap, 16 * blockCap},
		// Chunks that are not whole blocks leave a part-full block, after
		// which everything is copied: still the same index.
		{4*blockCap + 3, blockCap + 5},
	} {
		rnd := newRand(uint64(tc.n) + 7)
		items := randItems(rnd, tc.n)
		want := sortedCopy(items)
		packed := packedOf(t, indexOf(t, items))
		mem := bytes.Clone(packed)
		got := NewIndex()
		for off := 0; off < len(packed); {
			end := min(len(packed), off+tc.chunk*KeySize)
			if err := got.AppendPackedIn(packed[off:end], mem[off:end], nil); err != nil {
				t.Fatalf("n=%d: %v", tc.n, err)
			}
			off = end
		}
		copied := NewIndex()
		if err := copied.AppendPacked(packed); err != nil {
			t.Fatal(err)
		}
		if got.Len() != tc.n || got.Digest() != copied.Digest() {
			t.Fatalf("n=%d: %d items, digest %s; want %d, %s", tc.n, got.Len(), got.Digest(), tc.n, copied.Digest())
		}
		sameItems(t, "in place", allItems(got), want)
		if last, ok := got.Last(); ok != (tc.n > 0) || (ok && last != want[tc.n-1]) {
			t.Fatalf("n=%d: Last = %s, %v", tc.n, last, ok)
		}
		if tc.chunk%blockCap == 0 && tc.n >= blockCap {
			if &got.blocks[0].keys[0][0] != &mem[0] {
				t.Fatalf("n=%d: the first block was copied, not used in place", tc.n)
			}
		}
		// Inserts land anywhere, including inside blocks that lie in mem.
		more := randItems(newRand(uint64(tc.n)+99), 300)
		for _, it := range more {
			got.Insert(it)
			copied.Insert(it)
		}
		sameItems(t, "after inserts", allItems(got), allItems(copied))
		if got.Digest() != copied.Digest() {
			t.Fatalf("n=%d: digest after inserts differs", tc.n)
		}
		if last, _ := got.Last(); last != allItems(copied)[copied.Len()-1] {
			t.Fatalf("n=%d: Last after inserts = %s", tc.n, last)
		}
		if tc.n >= blockCap && tc.chunk%blockCap == 0 && bytes.Equal(mem, packed) {
			t.Fatalf("n=%d: inserts into blocks in place did not write to mem", tc.n)
		}
	}
}

func TestIndexAppendPackedInRejects(t *testing.T) {
	items := sortedCopy(randItems(newRand(11), 2*blockCap))
	packed := packedOf(t, indexOf(t, items))
	bad := bytes.Clone(packed)
	copy(bad[blockCap*KeySize:], packed[:KeySize]) // out of order in the second block
	for name, tc := range map[string]struct{ packed, mem []byte }{
		"length differs": {packed, packed[:len(packed)-KeySize]},
		"out of order":   {bad, bytes.Clone(bad)},
		"partial item":   {packed[:KeySize-1], packed[:KeySize-1]},
	} {
		ix := NewIndex()
		if err := ix.AppendPackedIn(tc.packed, tc.mem, nil); err == nil {
			t.Errorf("%s: appended", name)
		}
		if ix.Len() != 0 || len(ix.blocks) != 0 {
			t.Errorf("%s: a refused append changed the index", name)
		}
	}
}
