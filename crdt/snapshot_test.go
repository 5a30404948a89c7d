package crdt

import (
	"bytes"
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
