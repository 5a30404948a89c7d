package crdt

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSharedBodies: people going to one event and the comments of one
// proposal held cold take one body each,
// whether applied in any order with duplicates, chilled as applied or
// loaded from a snapshot; and every state shows what the state fed them
// in order with every text does.
func TestSharedBodies(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("r", "alice", 21, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "two", Parents: []OpID{w.ref("p")}})
	w.op("e", "founder", 22, &EventBody{EventFields{Title: "March", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed}})
	const people = 40
	for i := range people {
		who := fmt.Sprint("person ", i)
		w.op("", who, int64(30+i), &IdentityBody{Name: who})
		w.op("", who, int64(200+i), &ParticipationBody{Event: w.ref("e"), Status: Going})
		w.op("", who, int64(300+i), &CommentBody{Proposal: w.ref("p"), Text: fmt.Sprint("comment ", i)})
	}
	founder := w.founder.ID
	want := dump(t, w.state())
	st := newStoreTexts(w.ops)

	// bodies counts the distinct bodies the state holds per kind.
	bodies := func(s *State) map[Kind]int {
		seen := make(map[Body]bool)
		n := make(map[Kind]int)
		s.ops.each(func(o *Op) {
			if !seen[o.Body] {
				seen[o.Body] = true
				n[o.Body.Kind()]++
			}
		})
		return n
	}
	check := func(what string, s *State) {
		t.Helper()
		requireSameDump(t, what, want, dump(t, s))
		n := bodies(s)
		for _, k := range []Kind{KindParticipation, KindComment} {
			if n[k] != 1 {
				t.Errorf("%s: %d bodies of kind %d for %d equal ones", what, n[k], k, people)
			}
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	applied := NewState(founder)
	applied.SetColdText(st)
	applied.chillMin = 16
	for _, op := range shuffled(r, w.ops) {
		applied.Apply(op)
	}
	applied.chill()
	check("applied in any order and chilled", applied)

	loaded, err := LoadSnapshot(founder, applied.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	loaded.SetColdText(st)
	check("loaded from a snapshot", loaded)

	// A participation that differs keeps its own body.
	w.op("", "person 0", 400, &ParticipationBody{Event: w.ref("e"), Status: Maybe})
	loaded.Apply(w.ops[len(w.ops)-1])
	if n := bodies(loaded)[KindParticipation]; n != 2 {
		t.Fatalf("a different participation: %d bodies, want 2", n)
	}
}
