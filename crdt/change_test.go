package crdt

import "testing"

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
