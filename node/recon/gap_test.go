package recon

import (
	"math/rand/v2"
	"testing"

	"github.com/convene/convene/crdt"
)

// A peer holding a handful of items of a large set learns of a gap on the
// side that holds it in the first round, long before the id lists name
// every item; a peer in sync or a little behind shows none. Items told
// through Tell pass Take once.
func TestGaps(t *testing.T) {
	cases := []struct {
		name          string
		common, onlyA int
		wantGap       bool
	}{
		{name: "new laptop", common: 3, onlyA: 5000, wantGap: true},
		{name: "a little behind", common: 5000, onlyA: 40},
		{name: "in sync", common: 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pair(newRand(7), tc.common, tc.onlyA, 0)
			ra := NewReconciler(indexOf(t, a), Options{})
			rb := NewReconciler(indexOf(t, b), Options{})
			msg, err := rb.Initiate()
			if err != nil {
				t.Fatal(err)
			}
			// The first answer of the side that holds more.
			if _, _, _, _, err := ra.Reconcile(msg); err != nil {
				t.Fatal(err)
			}
			if got := ra.Lacking() > 0; got != tc.wantGap {
				t.Fatalf("Lacking() = %d after the first round, want a gap: %v", ra.Lacking(), tc.wantGap)
			}
			if !tc.wantGap {
				return
			}
			if ra.Lacking() < tc.onlyA {
				t.Errorf("Lacking() = %d, want at least %d", ra.Lacking(), tc.onlyA)
			}
			only := minus(a, b)
			for _, it := range only[:10] {
				if !ra.InGap(it) {
					t.Fatalf("%s is not in a gap", it)
				}
			}
			ra.Tell(only[:10])
			if ok, outside := ra.Take(refsOf(only[:10])); len(ok) != 10 || outside != 0 {
				t.Errorf("Take of told items: %d ok, %d outside", len(ok), outside)
			}
			if ok, outside := ra.Take(refsOf(only[:10])); len(ok) != 0 || outside != 10 {
				t.Errorf("Take of items asked before: %d ok, %d outside", len(ok), outside)
			}
		})
	}
}

// at is the item at wall clock w (its id zero) and the bound there.
func at(w int64) (Item, Bound) {
	it := Item{Clock: crdt.Clock{Wall: w}}
	return it, BoundAt(it)
}

// TestGapRanges: ranges added in any order, nested, overlapping or
// touching (a later round splits a range named before; a hostile peer
// names what it likes) are kept sorted and apart, and InGap answers as a
// scan of every range added would; past maxGaps ranges apart, every item
// is in a gap.
func TestGapRanges(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 9))
	for round := range 200 {
		var g gaps
		var added [][2]int64
		n := 1 + rnd.IntN(60)
		for range n {
			lo := rnd.Int64N(1000)
			hi := lo + 1 + rnd.Int64N(80)
			if rnd.IntN(10) == 0 && len(added) > 0 {
				// Nested in, or touching, one added before.
				prev := added[rnd.IntN(len(added))]
				lo, hi = prev[0]+rnd.Int64N(prev[1]-prev[0]), prev[1]
				if rnd.IntN(2) == 0 {
					lo, hi = prev[1], prev[1]+1+rnd.Int64N(20)
				}
			}
			_, blo := at(lo)
			_, bhi := at(hi)
			if rnd.IntN(20) == 0 {
				bhi = Infinity()
				hi = lo + 1<<50 // after every wall asked about
			}
			g.add(&blo, &bhi, 1)
			added = append(added, [2]int64{lo, hi})
		}
		for i := 1; i < len(g.ranges); i++ {
			if cmpBound(&g.ranges[i-1][1], &g.ranges[i][0]) >= 0 {
				t.Fatalf("round %d: ranges %d and %d are not sorted and apart", round, i-1, i)
			}
		}
		r := &Reconciler{gaps: g}
		for w := range int64(1100) {
			want := false
			for _, a := range added {
				if a[0] <= w && w < a[1] {
					want = true
				}
			}
			it, _ := at(w)
			if got := r.InGap(it); got != want {
				t.Fatalf("round %d: InGap(wall %d) = %v, want %v (ranges %v)", round, w, got, want, added)
			}
		}
	}

	var g gaps
	for i := range int64(maxGaps + 1) {
		_, lo := at(10 * i)
		_, hi := at(10*i + 5)
		g.add(&lo, &hi, 1)
	}
	it, _ := at(7)
	if r := (&Reconciler{gaps: g}); !g.wide || !r.InGap(it) {
		t.Errorf("past %d ranges apart: wide %v, an item between them in a gap %v", maxGaps, g.wide, r.InGap(it))
	}
}

// TestInGapProbes: InGap compares an item with O(log n) of the n ranges
// remembered, not with each of them. The mesh asks it for up to 16,384
// items a scan, several scans a session: a scan of every range was up to
// 256 comparisons an item. Counted, not timed.
func TestInGapProbes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	var g gaps
	// maxGaps ranges apart, added in random order.
	for _, i := range rnd.Perm(maxGaps) {
		_, lo := at(int64(100 * i))
		_, hi := at(int64(100*i + 50))
		g.add(&lo, &hi, 1)
	}
	if len(g.ranges) != maxGaps || g.wide {
		t.Fatalf("%d ranges kept (wide %v), want %d", len(g.ranges), g.wide, maxGaps)
	}
	r := &Reconciler{gaps: g}
	const items = 16_384
	inside := 0
	for range items {
		it, _ := at(rnd.Int64N(100 * maxGaps))
		if r.InGap(it) {
			inside++
		}
	}
	if inside < items/3 || inside > 2*items/3 {
		t.Fatalf("%d of %d items in a gap, want about half", inside, items)
	}
	// ⌈log₂(257)⌉ = 9 steps of the search, and one look at the range found.
	if per := float64(r.gaps.probes) / items; per > 10 {
		t.Errorf("%.1f ranges compared per item among %d, want at most 10 (log n)", per, maxGaps)
	}
	t.Logf("%.2f ranges compared per item among %d", float64(r.gaps.probes)/items, maxGaps)
}
