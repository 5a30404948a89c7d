package recon

import "testing"

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
