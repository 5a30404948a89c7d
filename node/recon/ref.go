package recon

import (
	"bytes"

	"github.com/convene/convene/crdt"
)

// RefLen is how many bytes of an id a Ref keeps.
const RefLen = 8

// Ref names an item in a request for operations: its clock and the first
// RefLen bytes of its id, a quarter of the item's bytes on the wire.
// Honest items sharing a Ref are as rare as a 64-bit hash collision at
// one clock; an author can make two on purpose (about 2^32 tries), so a
// Ref names the set of items that have it, never one picked among them
// (see Reconciler.Take). Reconciliation's own messages always carry whole
// ids: a crafted collision there could hide an item from convergence.
type Ref struct {
	Clock  crdt.Clock
	Prefix [RefLen]byte
}

// Ref is it's Ref.
func (it Item) Ref() Ref {
	r := Ref{Clock: it.Clock}
	copy(r.Prefix[:], it.ID[:RefLen])
	return r
}

// Compare orders refs as the items they name: -1, 0 or +1.
func (a Ref) Compare(b Ref) int {
	if c := a.Clock.Compare(b.Clock); c != 0 {
		return c
	}
	return bytes.Compare(a.Prefix[:], b.Prefix[:])
}

// matching calls fn with each item of the index that has r, in order.
func (ix *Index) matching(r Ref, fn func(*key)) {
	if r.Clock.Wall < 0 {
		return
	}
	lo := Bound{k: keyOf(Item{Clock: r.Clock})}
	copy(lo.k[12:], r.Prefix[:])
	for p, end := ix.seek(&lo), ix.seek(&Bound{inf: true}); p != end; p = ix.next(p) {
		k := ix.at(p)
		if [12 + RefLen]byte(k[:12+RefLen]) != [12 + RefLen]byte(lo.k[:12+RefLen]) {
			return
		}
		fn(k)
	}
}

// Take checks a peer's request against what this session told the peer,
// and returns the items to answer it with. A ref is within the session if
// an item this session listed (or Tell recorded), and that the peer has
// not asked for yet, has it; it is then answered with every item of the
// index that has it and was not answered before in this session (a ref
// two items share is answered with both: which one the peer lacks is not
// for this side to guess, and sending both is harmless). Any other ref is
// counted in outside. An honest peer asks only for items it learned it
// lacks from this session's messages, and names each ref once. That is
// more than have: the peer may learn it lacks an item (from an id list of
// ours it answers by splitting its range) before this side learns the peer
// lacks it.
//
// Take reads the index: call it with the index still (Options.Lock, or
// the caller's own lock).
func (r *Reconciler) Take(refs []Ref) (ok []Item, outside int) {
	defer r.lock()()
	for _, ref := range refs {
		start, fresh := len(ok), false
		r.ix.matching(ref, func(k *key) {
			it := k.item()
			asked, told := r.told[it.ID]
			if told && !asked {
				fresh = true
			}
			if !asked {
				ok = append(ok, it)
			}
		})
		if !fresh {
			ok = ok[:start]
			outside++
			continue
		}
		for _, it := range ok[start:] {
			r.told[it.ID] = true
		}
	}
	return ok, outside
}
