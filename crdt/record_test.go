package crdt

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRecords: a state holds every endorsement and revision as a record
// that encodes exactly as the body applied, whether applied in order, in
// any order with duplicates, or loaded from a snapshot; a record applied
// after what it names points at a copy of each id the state holds anyway
// (the operation's own, or its proposal's or group's entry); and every such
// state shows what the state fed the public bodies in order does.
func TestRecords(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("r1", "alice", 21, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "two", Parents: []OpID{w.ref("p")}})
	w.op("r2", "alice", 22, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "three", Parents: []OpID{w.ref("r1")}})
	w.op("r3", "alice", 22, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "four", Parents: []OpID{w.ref("r1")}})
	heads := []OpID{w.ref("r2"), w.ref("r3")}
	slices.SortFunc(heads, OpID.compare)
	w.op("r4", "alice", 23, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "five", Parents: heads})
	w.op("", "bob", 24, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("r4"), Endorse: true})
	w.op("", "bob", 25, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("r4"), Endorse: false})
	w.op("", "bob", 26, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("r4"), Endorse: true})
	// Naming what never comes: the record holds its own copies.
	var ghost OpID
	ghost[0] = 0xee
	w.op("", "bob", 27, &EndorseBody{Proposal: ghost, Group: w.ref("gb"), Revision: ghost, Endorse: true})
	w.op("", "alice", 28, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "six", Parents: []OpID{ghost}})
	founder := w.founder.ID
	want := dump(t, w.state())

	public := make(map[OpID][]byte)
	for _, op := range w.ops {
		var wr writer
		op.Body.encode(&wr)
		public[op.ID] = wr.b
	}
	check := func(what string, s *State, pointsHome bool) {
		t.Helper()
		requireSameDump(t, what, want, dump(t, s))
		n := 0
		s.ops.each(func(o *Op) {
			var ids []*OpID
			switch b := o.Body.(type) {
			case *RevisionBody, *EndorseBody:
				t.Errorf("%s: %s held as %T", what, o.ID, b)
			case *endorseRec:
				ids = []*OpID{b.proposal, b.group, b.revision}
			case *revisionRec:
				ids = append([]*OpID{b.proposal, b.group}, b.parentRefs()...)
			default:
				return
			}
			n++
			var wr writer
			o.Body.encode(&wr)
			if !bytes.Equal(wr.b, public[o.ID]) {
				t.Errorf("%s: %s encodes as %x, applied as %x", what, o.ID, wr.b, public[o.ID])
			}
			for _, id := range ids {
				h := s.ops.get(*id)
				if !pointsHome || h == nil || !h.Clock.Less(o.Clock) || id == &h.ID {
					continue
				}
				if p := s.proposals.get(*id); p != nil && id == &p.id {
					continue
				}
				if g := s.groups.get(*id); g != nil && id == &g.id {
					continue
				}
				t.Errorf("%s: %s points at a copy of %s, not at one the state holds", what, o.ID, *id)
			}
		})
		if n != 9 {
			t.Errorf("%s: %d records, want 9", what, n)
		}
	}

	inOrder := NewState(founder)
	for _, op := range w.ops {
		inOrder.Apply(op)
	}
	check("applied in order", inOrder, true)

	// Chilled, a record drops its text where it is: a copy would leave
	// the old record, text and all, in its slab for good.
	cold := NewState(founder)
	cold.SetColdText(newStoreTexts(w.ops))
	for _, op := range w.ops {
		cold.Apply(op)
	}
	held := make(map[*Op]Body)
	cold.ops.each(func(o *Op) {
		if _, ok := o.Body.(*revisionRec); ok {
			held[o] = o.Body
		}
	})
	if n := cold.chill(); n == 0 {
		t.Fatal("nothing chilled")
	}
	for o, b := range held {
		if o.Body != b {
			t.Errorf("chilled revision %s holds a new record", o.ID)
		}
	}
	requireSameDump(t, "chilled", want, dump(t, cold))

	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5 {
		s := NewState(founder)
		for _, op := range shuffled(r, w.ops) {
			s.Apply(op)
		}
		check("applied in any order", s, false)
		loaded, err := LoadSnapshot(founder, s.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		check("loaded from a snapshot", loaded, true)
		if i == 0 && !bytes.Equal(loaded.Snapshot(), inOrder.Snapshot()) {
			t.Error("the snapshots of a loaded state and one applied in order differ")
		}
	}
}

// TestLoadRefsEvicted: a loader's table keeps one id per slot; an id
// evicted from it is copied, equal and apart.
func TestLoadRefsEvicted(t *testing.T) {
	var copies recSlab
	refs := &loadRefs{make([]refSlot, refSlotsFor(100)), &copies}
	var a, b OpID
	a[0], b[0] = 1, 1 // the same slot in any table
	a[7], b[7] = 2, 3 // different prefixes
	a[31], b[31] = 'a', 'b'
	refs.put(&a)
	if p := refs.ref(a); p != &a {
		t.Fatalf("ref of a put id is a copy")
	}
	refs.put(&b)
	p := refs.ref(a)
	if p == &a || *p != a {
		t.Fatalf("ref of an evicted id: %p (a at %p), %x", p, &a, *p)
	}
	if q := refs.ref(a); q != p {
		t.Errorf("a second ref of the copied id makes another copy")
	}
}
