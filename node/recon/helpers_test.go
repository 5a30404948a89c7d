package recon

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convene/convene/crdt"
)

// Test helpers for the package.

// randItems returns n distinct items in random order. Clocks are dense
// (about one in four shares its clock with another item) so that bounds
// need id prefixes.
func randItems(rnd *rand.Rand, n int) []Item {
	out := make([]Item, 0, n)
	seen := make(map[crdt.OpID]bool, n)
	wall := int64(1_750_000_000_000)
	for len(out) < n {
		var it Item
		it.Clock = crdt.Clock{Wall: wall + rnd.Int64N(int64(n)*4+1), Logical: uint32(rnd.IntN(3))}
		for i := 0; i < 32; i += 8 {
			v := rnd.Uint64()
			for j := range 8 {
				it.ID[i+j] = byte(v >> (8 * j))
			}
		}
		if rnd.IntN(8) == 0 && len(out) > 0 {
			// Share clock and an id prefix with an earlier item.
			o := out[rnd.IntN(len(out))]
			it.Clock = o.Clock
			copy(it.ID[:rnd.IntN(31)], o.ID[:])
		}
		if seen[it.ID] {
			continue
		}
		seen[it.ID] = true
		out = append(out, it)
	}
	return out
}

func sortedCopy(items []Item) []Item {
	s := slices.Clone(items)
	slices.SortFunc(s, Item.Compare)
	return s
}

func indexOf(t testing.TB, items []Item) *Index {
	t.Helper()
	ix := NewIndex()
	for _, it := range items {
		ix.Insert(it)
	}
	return ix
}

func allItems(ix *Index) []Item {
	var out []Item
	ix.Range(Bound{}, Infinity(), func(it Item) bool {
		out = append(out, it)
		return true
	})
	return out
}

// naiveRange counts and fingerprints the items of sorted in [lo, hi).
func naiveRange(sorted []Item, lo, hi Bound) (Fingerprint, int) {
	var s sum
	n := 0
	for _, it := range sorted {
		k := keyOf(it)
		if lo.before(&k) || !hi.before(&k) {
			continue
		}
		s.add(&k)
		n++
	}
	return s.fingerprint(n), n
}

// session is the outcome of running the protocol between two indexes.
type session struct {
	aHave, aNeed, bHave, bNeed []Item
	messages                   int // messages exchanged, both ways
	roundTrips                 int // (messages+1)/2
	bytes                      int // bytes exchanged, both ways
	first                      []byte
}

// runSession reconciles a (initiator) with b (responder) in process.
func runSession(t testing.TB, a, b *Index, oa, ob Options) session {
	t.Helper()
	ra, rb := NewReconciler(a, oa), NewReconciler(b, ob)
	asked := map[*Reconciler]map[Ref]bool{ra: {}, rb: {}} // refs each side asked for
	var s session
	msg, err := ra.Initiate()
	if err != nil {
		t.Fatal(err)
	}
	s.first = msg
	to, from := rb, ra
	for msg != nil {
		s.messages++
		s.bytes += len(msg)
		if s.messages > 1000 {
			t.Fatal("no end after 1000 messages")
		}
		reply, have, need, done, err := to.Reconcile(msg)
		if err != nil {
			t.Fatalf("message %d: %v", s.messages, err)
		}
		// The peer told of everything this side learned it lacks, by the
		// time it learned it, and answers a request for it once. Like the
		// mesh, this side names each ref once per session: an item sharing
		// its ref with one asked for before came with that one's answer.
		var refs []Ref
		for _, it := range need {
			if !asked[to][it.Ref()] {
				asked[to][it.Ref()] = true
				refs = append(refs, it.Ref())
			}
		}
		if _, outside := from.Take(refs); outside != 0 {
			t.Fatalf("message %d: %d of %d needed items were not told by the peer", s.messages, outside, len(need))
		}
		if _, outside := from.Take(refs); outside != len(refs) {
			t.Fatalf("message %d: a second request for %d items was let through", s.messages, len(refs)-outside)
		}
		if to == ra {
			s.aHave, s.aNeed = append(s.aHave, have...), append(s.aNeed, need...)
		} else {
			s.bHave, s.bNeed = append(s.bHave, have...), append(s.bNeed, need...)
		}
		if done && reply == nil && !from.Done() {
			t.Fatalf("message %d: one side is done and silent while the other waits", s.messages)
		}
		msg = reply
		to, from = from, to
	}
	if !ra.Done() || !rb.Done() {
		t.Fatalf("session stopped with initiator done %v, responder done %v", ra.Done(), rb.Done())
	}
	as, bs := ra.Stats(), rb.Stats()
	if as.BytesSent+bs.BytesSent != s.bytes || as.BytesSent != bs.BytesReceived {
		t.Fatalf("stats disagree: %+v %+v, %d bytes", as, bs, s.bytes)
	}
	s.roundTrips = (s.messages + 1) / 2
	return s
}

// minus returns the items of x not in y, sorted.
func minus(x, y []Item) []Item {
	in := make(map[crdt.OpID]bool, len(y))
	for _, it := range y {
		in[it.ID] = true
	}
	var out []Item
	for _, it := range x {
		if !in[it.ID] {
			out = append(out, it)
		}
	}
	return sortedCopy(out)
}

func sameItems(t testing.TB, what string, got, want []Item) {
	t.Helper()
	got = sortedCopy(got)
	if len(got) != len(want) {
		t.Fatalf("%s: got %d items, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: item %d is %s, want %s", what, i, got[i], want[i])
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// refsOf names items as a request does.
func refsOf(items []Item) []Ref {
	out := make([]Ref, len(items))
	for i, it := range items {
		out[i] = it.Ref()
	}
	return out
}
