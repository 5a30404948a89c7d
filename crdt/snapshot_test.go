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
	f.Add(cold.Snapshot())
	f.Add(NewState(w.founder.ID).Snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadSnapshot(w.founder.ID, b)
		if err != nil {
			return
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
	w.b = append(w.b, snapshotMagic[:]...)
	w.uvarint(1)
	w.id(founder.ID)
	w.uvarint(uint64(len(ops)))
	var wall int64
	for _, o := range ops {
		w.id(o.ID)
		w.uvarint(0)
		w.uvarint(uint64(o.Clock.Wall - wall))
		w.uvarint(uint64(o.Clock.Logical))
		w.uvarint(o.Epoch)
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
