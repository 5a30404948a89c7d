package crdt

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadSnapshot: a damaged snapshot file never panics the loader, and a
// state it accepts survives a snapshot round trip unchanged. (The bytes
// themselves need not be canonical: an unreferenced author, say, is dropped.)
func FuzzLoadSnapshot(f *testing.F) {
	w := newWorld(f)
	w.op("s", "founder", 10, &SessionBody{Title: "Water", Cap: 3})
	w.op("g", "ana", 11, &GroupBody{Name: "Table 1"})
	w.op("p", "ana", 12, &ProposalBody{Session: w.ref("s"), Group: w.ref("g"), Text: "Fountains"})
	f.Add(w.state().Snapshot())
	// Version 4: an old revision and a comment held cold (empty texts).
	w.op("r", "ana", 13, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("g"), Text: "Fountains, two", Parents: []OpID{w.ref("p")}})
	w.op("c", "bo", 14, &CommentBody{Proposal: w.ref("p"), Text: "Where?"})
	cold := w.state()
	cold.SetColdText(&storeTexts{})
	coldSnap := cold.Snapshot()
	f.Add(coldSnap)
	// The same under version 3's magic: empty texts there are damage.
	f.Add(withMagic(snapshotMagicV3, coldSnap))
	f.Add(withMagic(snapshotMagicV4, coldSnap))
	f.Add(NewState(w.founder.ID).Snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadSnapshot(w.founder.ID, b)
		if err != nil {
			return
		}
		if bytes.HasPrefix(b, snapshotMagicV3[:]) {
			if n := emptyTexts(s); n > 0 {
				t.Fatalf("a version 3 snapshot loaded with %d texts held cold", n)
			}
		}
		snap := s.Snapshot()
		s2, err := LoadSnapshot(w.founder.ID, snap)
		if err != nil {
			t.Fatalf("a state's own snapshot does not load: %v", err)
		}
		if again := s2.Snapshot(); !bytes.Equal(again, snap) {
			t.Fatalf("snapshot round trip changed the state (%d vs %d bytes)", len(again), len(snap))
		}
	})
}

// TestSnapshotRepeatedOp: a snapshot that holds one operation id twice, at
// two clocks (so still in increasing order), is refused: loading appends
// in order but still checks for repeats.
func TestSnapshotRepeatedOp(t *testing.T) {
	founder := testSigner("founder")
	ops := syntheticOps(40, 2)
	ops[30].ID = ops[20].ID
	var w writer
	w.b = append(w.b, snapshotMagicV4[:]...)
	w.uvarint(1)
	w.id(founder.ID)
	w.uvarint(uint64(len(ops)))
	var wall int64
	for _, o := range ops {
		w.id(o.ID)
		w.uvarint(0)
		w.uvarint(uint64(o.Clock.Wall - wall))
		w.uvarint(uint64(o.Clock.Logical))
		w.uvarint(o.Epoch())
		w.b = append(w.b, byte(o.Body.Kind()))
		o.Body.encode(&w)
		wall = o.Clock.Wall
	}
	if _, err := LoadSnapshot(founder.ID, w.b); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("err = %v, want a repeated operation refused", err)
	}
}

// TestSnapshotThenApply: a state loaded from a snapshot, appending to its
// lists as it loads, sorts what is applied afterwards, in any order, as a
// state that applied everything does.
func TestSnapshotThenApply(t *testing.T) {
	w := sampleOps(t)
	ops := append(slices.Clone(w.ops), syntheticOps(3000, 3)...)
	late := ops[:len(ops)/2] // the oldest, applied after the load
	loaded, err := LoadSnapshot(w.founder.ID, applyOps(w.founder.ID, ops[len(ops)/2:]).Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	for i := len(late) - 1; i >= 0; i-- {
		loaded.Apply(late[i])
	}
	requireSameDump(t, "loaded, then applied", dump(t, applyOps(w.founder.ID, ops)), dump(t, loaded))
}

// withMagic is snapshot b under another version's magic.
// A current snapshot's hints, which versions 3 and 4 do not have, are
// dropped.
func withMagic(magic [8]byte, b []byte) []byte {
	out := append(magic[:len(magic):len(magic)], b[len(magic):]...)
	if magic == snapshotMagic || !bytes.HasPrefix(b, snapshotMagic[:]) {
		return out
	}
	r := reader{b: out, off: len(magic)}
	n := r.uvarint()
	r.off += int(n) * 32 // the authors
	r.uvarint()          // the count
	hints := r.off
	for range 4 {
		r.uvarint()
	}
	if r.err != nil {
		panic(r.err)
	}
	return append(out[:hints:hints], out[r.off:]...)
}

// emptyTexts counts the proposals, revisions and comments s holds without
// their text (cold).
func emptyTexts(s *State) int {
	n := 0
	s.ops.each(func(o *Op) {
		if isCold(o) {
			n++
		}
	})
	return n
}

// TestSnapshotColdOnlyV4: only a version 4 snapshot holds texts cold. The
// same bytes under version 3's magic, which was written holding every
// text, are refused rather than loaded as a state whose texts must be read
// back; with their texts, both versions load.
func TestSnapshotColdOnlyV4(t *testing.T) {
	w := newWorld(t)
	w.op("s", "founder", 10, &SessionBody{Title: "Water", Cap: 3})
	w.op("g", "ana", 11, &GroupBody{Name: "Table 1"})
	w.op("p", "ana", 12, &ProposalBody{Session: w.ref("s"), Group: w.ref("g"), Text: "Fountains"})
	w.op("r", "ana", 13, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("g"), Text: "Fountains, two", Parents: []OpID{w.ref("p")}})
	w.op("c", "bo", 14, &CommentBody{Proposal: w.ref("p"), Text: "Where?"})
	full := w.state().Snapshot()
	s := w.state()
	s.SetColdText(&storeTexts{})
	cold := s.Snapshot()
	cases := []struct {
		name      string
		snap      []byte
		wantCold  int // texts the loaded state holds cold
		wantError bool
	}{
		{name: "v4 with every text", snap: full},
		{name: "v4 with texts cold", snap: cold, wantCold: 2}, // the old revision's and the comment's
		{name: "v3 with every text", snap: withMagic(snapshotMagicV3, full)},
		{name: "v3 with empty texts", snap: withMagic(snapshotMagicV3, cold), wantError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadSnapshot(w.founder.ID, tc.snap)
			if tc.wantError {
				if err == nil {
					t.Fatalf("loaded, with %d texts held cold; want it refused", emptyTexts(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := emptyTexts(got); n != tc.wantCold {
				t.Errorf("%d texts held cold, want %d", n, tc.wantCold)
			}
		})
	}
}

// TestSnapshotHints: a version 5 snapshot's hints size the loader's
// slabs; right or absent (version 4), the same state loads; wrong, the
// snapshot is refused as damaged (the node rebuilds from its log), and
// hints beyond the operations are refused before anything is sized by
// them. A state's hints count what it holds.
func TestSnapshotHints(t *testing.T) {
	w := sampleOps(t)
	s := applyOps(w.founder.ID, append(slices.Clone(w.ops), syntheticOps(2000, 5)...))
	want := dump(t, s)
	snap := s.Snapshot()
	var ops []*Op
	s.ops.each(func(o *Op) { ops = append(ops, o) })
	h := hintsOf(ops)
	if h.endorse == 0 || h.rev == 0 || h.prop == 0 || h.parents < h.rev {
		t.Fatalf("hints %+v of a state with endorsements, revisions and proposals", h)
	}
	// withHints is snap with other hints.
	withHints := func(v [4]uint64) []byte {
		r := reader{b: snap, off: len(snapshotMagic)}
		r.off += int(r.uvarint()) * 32
		r.uvarint()
		at := r.off
		for range 4 {
			r.uvarint()
		}
		w := writer{b: slices.Clone(snap[:at])}
		for _, x := range v {
			w.uvarint(x)
		}
		return append(w.b, snap[r.off:]...)
	}
	right := [4]uint64{uint64(h.endorse), uint64(h.rev), uint64(h.prop), uint64(h.parents)}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"right", withHints(right)},
		{"version 4", withMagic(snapshotMagicV4, snap)},
	} {
		got, err := LoadSnapshot(w.founder.ID, c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		requireSameDump(t, c.name, want, dump(t, got))
		if !bytes.Equal(got.Snapshot(), snap) {
			t.Errorf("%s: the loaded state's snapshot differs", c.name)
		}
	}
	huge := uint64(1) << 40
	for _, c := range []struct {
		name string
		v    [4]uint64
	}{
		{"zero", [4]uint64{}},
		{"one endorsement short", [4]uint64{right[0] - 1, right[1], right[2], right[3]}},
		{"one parent over", [4]uint64{right[0], right[1], right[2], right[3] + 1}},
		{"more than the operations together", [4]uint64{uint64(s.Len()), 1, 0, 0}},
		{"huge", [4]uint64{huge, huge, huge, huge}},
		{"parents beyond the bytes", [4]uint64{right[0], right[1], right[2], uint64(len(snap))}},
	} {
		if _, err := LoadSnapshot(w.founder.ID, withHints(c.v)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want malformed", c.name, err)
		}
	}
}

// TestGroupChangeAfterLoad: a state loaded from a snapshot (or built from
// a log) files its proposals under their groups only when a group first
// changes; a change to a group then reaches every proposal it holds, as
// in a state that applied everything.
func TestGroupChangeAfterLoad(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("q", "bob", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "two"})
	// By dave, no scribe of A yet: it does not count until he is one.
	w.op("r", "dave", 22, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "one, by dave", Parents: []OpID{w.ref("p")}})
	w.op("e", "carol", 23, &EndorseBody{Proposal: w.ref("q"), Group: w.ref("gc"), Revision: w.ref("q"), Endorse: true})
	before := slices.Clone(w.ops)
	w.op("", "alice", 30, &ScribeBody{Group: w.ref("ga"), Identity: who("dave")})
	want := dump(t, applyOps(w.founder.ID, w.ops))

	snap := applyOps(w.founder.ID, before).Snapshot()
	loaded, err := LoadSnapshot(w.founder.ID, snap)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(before)
	slices.SortFunc(sorted, func(a, b Op) int { return opCompare(&a, &b) })
	b := NewBuilder(w.founder.ID, len(sorted), nil)
	for _, op := range sorted {
		b.Add(op)
	}
	for name, s := range map[string]*State{"loaded": loaded, "built": b.State()} {
		if !s.propsStale {
			t.Errorf("%s: groups filed one proposal at a time", name)
		}
		dump(t, s) // every view computed before the change
		for _, op := range w.ops[len(before):] {
			s.Apply(op)
		}
		requireSameDump(t, name+", then a scribe", want, dump(t, s))
	}
}
