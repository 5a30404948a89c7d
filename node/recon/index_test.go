package recon

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
)

func TestIndexOrderIndependent(t *testing.T) {
	for _, n := range []int{0, 1, 2, blockCap - 1, blockCap, blockCap + 1, 3000} {
		rnd := rand.New(rand.NewPCG(uint64(n), 1))
		items := randItems(rnd, n)
		sorted := sortedCopy(items)
		reversed := slices.Clone(sorted)
		slices.Reverse(reversed)

		loaded := NewIndex()
		if err := loaded.Load(sorted); err != nil {
			t.Fatal(err)
		}
		for name, ix := range map[string]*Index{
			"random":   indexOf(t, items),
			"sorted":   indexOf(t, sorted),
			"reversed": indexOf(t, reversed),
			"loaded":   loaded,
		} {
			if ix.Len() != n {
				t.Fatalf("n=%d %s: Len %d", n, name, ix.Len())
			}
			if got := allItems(ix); !slices.Equal(got, sorted) && n > 0 {
				t.Fatalf("n=%d %s: items differ from the sorted input", n, name)
			}
			if ix.Digest() != loaded.Digest() {
				t.Fatalf("n=%d %s: digest %s, loaded %s", n, name, ix.Digest(), loaded.Digest())
			}
			for _, it := range items {
				if !ix.Has(it) {
					t.Fatalf("n=%d %s: lost %s", n, name, it)
				}
				if ix.Insert(it) {
					t.Fatalf("n=%d %s: second insert of %s reported new", n, name, it)
				}
			}
			if ix.Len() != n {
				t.Fatalf("n=%d %s: Len %d after duplicate inserts", n, name, ix.Len())
			}
		}
	}
}

func TestIndexInsertAfterLoad(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	items := randItems(rnd, 5000)
	ix := NewIndex()
	if err := ix.Load(sortedCopy(items[:2500])); err != nil {
		t.Fatal(err)
	}
	for _, it := range items[2500:] {
		if !ix.Insert(it) {
			t.Fatalf("insert of %s reported not new", it)
		}
	}
	if got := allItems(ix); !slices.Equal(got, sortedCopy(items)) {
		t.Fatal("items differ from the sorted input")
	}
	if ix.Digest() != indexOf(t, items).Digest() {
		t.Fatal("digest differs")
	}
}

func TestIndexDigest(t *testing.T) {
	empty := NewIndex().Digest()
	if len(empty) != 2*FingerprintSize {
		t.Fatalf("digest %q", empty)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	items := randItems(rnd, 10)
	a, b := indexOf(t, items), indexOf(t, items[:9])
	if a.Digest() == b.Digest() || b.Digest() == empty {
		t.Fatal("different sets share a digest")
	}
	b.Insert(items[9])
	if a.Digest() != b.Digest() {
		t.Fatal("same sets differ in digest")
	}
}

// TestIndexRanges checks counts, fingerprints and listings of ranges
// against a sorted slice.
func TestIndexRanges(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	items := randItems(rnd, 4000)
	sorted := sortedCopy(items)
	ix := indexOf(t, items)

	bounds := []Bound{{}, Infinity(), BoundAt(sorted[0]), BoundAt(sorted[len(sorted)-1])}
	for range 300 {
		i := 1 + rnd.IntN(len(sorted)-1)
		a, b := keyOf(sorted[i-1]), keyOf(sorted[i])
		bounds = append(bounds, BoundAt(sorted[i]), boundBetween(&a, &b))
		bounds = append(bounds, BoundAt(randItems(rnd, 1)[0]))
	}
	for i := range bounds {
		lo, hi := bounds[i], bounds[rnd.IntN(len(bounds))]
		wantFP, wantN := naiveRange(sorted, lo, hi)
		gotFP, gotN := ix.Fingerprint(lo, hi)
		if gotN != wantN || gotFP != wantFP || ix.Count(lo, hi) != wantN {
			t.Fatalf("[%s, %s): got %d %s, want %d %s", lo, hi, gotN, gotFP, wantN, wantFP)
		}
		var listed []Item
		ix.Range(lo, hi, func(it Item) bool { listed = append(listed, it); return true })
		if len(listed) != wantN {
			t.Fatalf("[%s, %s): listed %d, want %d", lo, hi, len(listed), wantN)
		}
		for _, it := range listed {
			k := keyOf(it)
			if lo.before(&k) || !hi.before(&k) {
				t.Fatalf("[%s, %s): listed %s", lo, hi, it)
			}
		}
	}
}

func TestBoundBetween(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	sorted := sortedCopy(randItems(rnd, 2000))
	for i := 1; i < len(sorted); i++ {
		a, b := keyOf(sorted[i-1]), keyOf(sorted[i])
		bd := boundBetween(&a, &b)
		if !bd.before(&a) || bd.before(&b) {
			t.Fatalf("bound %s does not separate %s and %s", bd, sorted[i-1], sorted[i])
		}
	}
}

func TestIndexLoadRejects(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 9))
	sorted := sortedCopy(randItems(rnd, 5))
	neg := slices.Clone(sorted)
	neg[0].Clock = crdt.Clock{Wall: -1}
	for name, items := range map[string][]Item{
		"unsorted":  {sorted[1], sorted[0]},
		"duplicate": {sorted[0], sorted[1], sorted[1]},
		"negative":  neg,
	} {
		ix := indexOf(t, sorted[:2])
		before := ix.Digest()
		if err := ix.Load(items); err == nil {
			t.Errorf("%s: loaded", name)
		}
		if ix.Digest() != before || ix.Len() != 2 {
			t.Errorf("%s: a failed load changed the index", name)
		}
	}
	if NewIndex().Has(neg[0]) {
		t.Error("Has a negative clock")
	}
}

func TestIndexPackedRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, blockCap, blockCap + 1, 3*blockCap + 17} {
		rnd := newRand(uint64(n) + 1)
		items := randItems(rnd, n)
		// Inserted one by one, so blocks are partly full, as a running
		// node's are when it closes.
		ix := indexOf(t, items)
		var packed []byte
		if err := ix.Packed(func(chunk []byte) error {
			if len(chunk) > blockCap*KeySize || len(chunk)%KeySize != 0 {
				t.Fatalf("n=%d: chunk of %d bytes", n, len(chunk))
			}
			packed = append(packed, chunk...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Read back in uneven chunks, as a file reader may hand them.
		got := NewIndex()
		for off := 0; off < len(packed); {
			end := min(len(packed), off+KeySize*(1+rnd.IntN(400)))
			if err := got.AppendPacked(packed[off:end]); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			off = end
		}
		if got.Len() != n || got.Digest() != ix.Digest() {
			t.Fatalf("n=%d: read back %d items, digest %s; want %d, %s", n, got.Len(), got.Digest(), n, ix.Digest())
		}
		sameItems(t, "read back", allItems(got), sortedCopy(items))
		last, ok := got.Last()
		if ok != (n > 0) || (ok && last != sortedCopy(items)[n-1]) {
			t.Fatalf("n=%d: Last = %s, %v", n, last, ok)
		}
	}
}

func TestIndexAppendPackedRejects(t *testing.T) {
	sorted := sortedCopy(randItems(newRand(5), 4))
	pack := func(items ...Item) []byte {
		var b []byte
		for _, it := range items {
			k := keyOf(it)
			b = append(b, k[:]...)
		}
		return b
	}
	neg := pack(sorted[2])
	neg[0] |= 0x80
	for name, packed := range map[string][]byte{
		"unsorted":      pack(sorted[3], sorted[2]),
		"duplicate":     pack(sorted[2], sorted[2]),
		"below held":    pack(sorted[0]),
		"negative":      neg,
		"partial item":  pack(sorted[2])[:KeySize-1],
		"equal to last": pack(sorted[1]),
	} {
		ix := NewIndex()
		if err := ix.AppendPacked(pack(sorted[0], sorted[1])); err != nil {
			t.Fatal(err)
		}
		before := ix.Digest()
		if err := ix.AppendPacked(packed); err == nil {
			t.Errorf("%s: appended", name)
		}
		if ix.Digest() != before || ix.Len() != 2 {
			t.Errorf("%s: a refused append changed the index", name)
		}
	}
}
