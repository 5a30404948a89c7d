package crdt

import (
	"slices"
	"testing"
)

func TestTouches(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("s2", "founder", 14, &SessionUpdateBody{Session: w.ref("s"), Title: ptr("Pasts")})
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("r", "alice", 21, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "two", Parents: []OpID{w.ref("p")}})
	w.op("en", "bob", 22, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("r"), Endorse: true})
	w.op("c", "bob", 23, &CommentBody{Proposal: w.ref("p"), Text: "hm"})
	w.op("h", "founder", 24, &HideBody{Target: w.ref("c"), Hidden: true})
	w.op("orphan", "alice", 25, &CommentBody{Proposal: OpID{1}, Text: "x"})
	w.op("e", "founder", 26, &EventBody{EventFields{Title: "March", Start: "2026-05-01T10:00:00+02:00", End: "2026-05-01T12:00:00+02:00", Timezone: "Europe/Paris", Status: "confirmed"}})
	w.op("eu", "founder", 27, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("Walk")}})
	w.op("rsvp", "bob", 28, &ParticipationBody{Event: w.ref("e"), Status: "going"})
	w.op("he", "founder", 29, &HideBody{Target: w.ref("e"), Hidden: true})
	w.op("hg", "founder", 30, &HideBody{Target: w.ref("ga"), Hidden: true})
	w.op("hi", "founder", 31, &HideBody{Target: OpID(who("bob")), Hidden: true})
	w.op("seat", "founder", 32, &SeatBody{Group: w.ref("ga"), Seated: true})
	w.op("seating", "founder", 33, &SeatingBody{Seating: SeatingSeated})
	w.op("rm", "founder", 34, &RemovalBody{Identity: who("bob")})
	s := w.state()
	byID := make(map[OpID]Op, len(w.ops))
	for _, op := range w.ops {
		byID[op.ID] = op
	}
	for _, tc := range []struct {
		op             string
		session, event string // names; "" for none
		all            bool
	}{
		{"s", "s", "", false},
		{"s2", "s", "", false},
		{"ga", "", "", false},
		{"p", "s", "", false},
		{"r", "s", "", false},
		{"en", "s", "", false},
		{"c", "s", "", false},
		{"h", "s", "", false},
		{"orphan", "", "", false},
		{"e", "", "e", false},
		{"eu", "", "e", false},
		{"rsvp", "", "e", false},
		{"he", "", "e", false},
		{"hg", "", "", true},
		{"hi", "", "", true},
		{"seat", "", "", false},
		{"seating", "", "", true},
		{"rm", "", "", true},
	} {
		var want [2]OpID
		for i, name := range []string{tc.session, tc.event} {
			if name != "" {
				want[i] = w.ref(name)
			}
		}
		session, event := s.Touches(byID[w.ref(tc.op)])
		if session != want[0] || event != want[1] {
			t.Errorf("%s: Touches = %v, %v; want %v, %v", tc.op, session, event, want[0], want[1])
		}
		if all := s.TouchesAll(byID[w.ref(tc.op)]); all != tc.all {
			t.Errorf("%s: TouchesAll = %v, want %v", tc.op, all, tc.all)
		}
	}
}

// places is what a state shows: the proposals its documents show (in
// place or hidden), those in place, and per event the identities seated.
type places struct {
	shown, inPlace map[OpID]bool
	seated         map[OpID]map[IdentityID]bool
}

func placesOf(st *State) places {
	p := places{shown: map[OpID]bool{}, inPlace: map[OpID]bool{}, seated: map[OpID]map[IdentityID]bool{}}
	for _, ss := range st.Sessions() {
		d, _ := st.Document(ss.ID)
		for _, pr := range d.Proposals {
			p.shown[pr.ID] = true
			p.inPlace[pr.ID] = pr.Rank > 0
		}
	}
	for _, ev := range st.Events() {
		p.seated[ev.ID] = map[IdentityID]bool{}
		for _, pt := range ev.Participants {
			if pt.Status == Going && !pt.Waitlisted {
				p.seated[ev.ID][pt.Identity] = true
			}
		}
	}
	return p
}

// TestMayDisplace replays the simulation's operations in batches, in clock
// order and shuffled, and checks what the node's flags of backdating rely
// on: an operation for which MayDisplace was false before its batch never
// took a place in it. A proposal takes one when it is shown in place after
// the batch while a proposal shown before it waits; a
// registration, when its author is seated after the batch and was not
// before, while an identity seated before is waitlisted and did not
// register again in the batch.
func TestMayDisplace(t *testing.T) {
	founder := testSigner("founder")
	var took, could, couldNot int
	for seed := range uint64(4) {
		m := runSim(t, seed, 3000)
		inOrder := slices.Clone(m.sites[0].ops)
		slices.SortFunc(inOrder, func(a, b Op) int { return opCompare(&a, &b) })
		for _, ops := range [][]Op{inOrder, shuffled(m.r, m.sites[0].ops)} {
			st := NewState(founder.ID)
			for lo := 0; lo < len(ops); {
				hi := min(lo+1+m.r.IntN(64), len(ops))
				batch := ops[lo:hi]
				lo = hi
				before := placesOf(st)
				may := map[OpID]bool{}
				again := map[OpID]map[IdentityID]bool{} // registered in the batch, per event
				for _, op := range batch {
					if st.Has(op.ID) {
						continue
					}
					may[op.ID] = st.MayDisplace(op)
					if b, ok := op.Body.(*ParticipationBody); ok {
						if again[b.Event] == nil {
							again[b.Event] = map[IdentityID]bool{}
						}
						again[b.Event][op.Author()] = true
					}
				}
				for _, op := range batch {
					st.Apply(op)
				}
				after := placesOf(st)
				for _, op := range batch {
					mayDisplace, fresh := may[op.ID]
					if !fresh {
						continue
					}
					delete(may, op.ID) // a repeat in the batch is not fresh
					var tookPlace bool
					switch b := op.Body.(type) {
					case *ProposalBody:
						d, _ := st.Document(b.Session)
						tookPlace = after.inPlace[op.ID] && slices.ContainsFunc(d.Waiting, func(w Waiting) bool { return before.shown[w.ID] })
					case *ParticipationBody:
						if !before.seated[b.Event][op.Author()] && after.seated[b.Event][op.Author()] {
							ev, _ := st.Event(b.Event)
							tookPlace = slices.ContainsFunc(ev.Participants, func(pt Participant) bool {
								return pt.Waitlisted && before.seated[b.Event][pt.Identity] && !again[b.Event][pt.Identity]
							})
						}
					default:
						if mayDisplace {
							t.Fatalf("seed %d: MayDisplace of a %T", seed, op.Body)
						}
						continue
					}
					switch {
					case tookPlace && !mayDisplace:
						t.Fatalf("seed %d: %T %s took a place, but MayDisplace said it could not", seed, op.Body, op.ID)
					case tookPlace:
						took++
					case mayDisplace:
						could++
					default:
						couldNot++
					}
				}
			}
		}
	}
	t.Logf("%d took a place, %d could have, %d could not", took, could, couldNot)
	if took == 0 || couldNot == 0 {
		t.Error("the replay exercised too little")
	}
}
