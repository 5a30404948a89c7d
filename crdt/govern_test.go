package crdt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keep names operations of a world for a removal's Keep.
func keep(w *world, names ...string) []uint64 {
	out := make([]uint64, 0, len(names))
	for _, n := range names {
		out = append(out, KeepPrefix(w.ref(n)))
	}
	slices.Sort(out)
	return out
}

func member(t *testing.T, s *State, name string) Member {
	t.Helper()
	for _, m := range s.Members() {
		if m.ID == who(name) {
			return m
		}
	}
	t.Fatalf("%s is not a member", name)
	return Member{}
}

func groupIDs(s *State) []OpID {
	var out []OpID
	for _, g := range s.Groups() {
		out = append(out, g.ID)
	}
	return out
}

func TestGovernRules(t *testing.T) {
	runRules(t, []ruleCase{
		{
			name: "removal: operations not kept count nowhere, whatever their clock",
			build: func(w *world) {
				setup(w)
				w.op("name", "mallory", 1, &IdentityBody{Name: "Mal"})
				w.op("gm", "mallory", 14, &GroupBody{Name: "M"})
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "alice's"})
				w.op("pm", "mallory", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gm"), Text: "kept"})
				w.op("", "alice", 22, &EndorseBody{Proposal: w.ref("pm"), Group: w.ref("ga"), Revision: w.ref("pm"), Endorse: true})
				w.op("e", "alice", 23, &EventBody{EventFields{Title: "E", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed, Capacity: 1}})
				w.op("", "founder", 50, &RemovalBody{Identity: who("mallory"), Reason: "disruption", Keep: keep(w, "name", "gm", "pm")})
				// Later, and backdated to before the removal: none counts.
				w.op("", "mallory", 60, &IdentityBody{Name: "Evil"})
				w.op("", "mallory", 2, &IdentityBody{Name: "Evil early"})
				w.op("late", "mallory", 24, &ProposalBody{Session: w.ref("s"), Group: w.ref("gm"), Text: "backdated"})
				w.op("", "mallory", 25, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gm"), Revision: w.ref("p"), Endorse: true})
				w.op("", "mallory", 26, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gm"), Text: "vandal", Parents: ids(w, "p")})
				w.op("", "mallory", 27, &CommentBody{Proposal: w.ref("p"), Text: "spam"})
				w.op("", "mallory", 28, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "bob", 61, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("gm2", "mallory", 15, &GroupBody{Name: "M2"})
				w.op("", "mallory", 29, &ScribeBody{Group: w.ref("gm"), Identity: who("mallet")})
			},
			check: func(t *testing.T, w *world, s *State) {
				in, _ := docOrder(doc(t, w, s))
				if !slices.Equal(in, ids(w, "pm", "p")) {
					t.Errorf("document %v", in)
				}
				if p := prop(t, w, s, "p"); p.Text != "alice's" || p.Endorsements != 1 || p.Revisions != 1 {
					t.Errorf("proposal %+v", p)
				}
				if p := prop(t, w, s, "pm"); p.Endorsements != 2 {
					t.Errorf("kept proposal %+v", p)
				}
				if cs, _ := s.Comments(w.ref("p")); len(cs) != 0 {
					t.Errorf("comments %+v", cs)
				}
				if e, _ := s.Event(w.ref("e")); e.Going != 1 || e.Participants[0].Identity != who("bob") {
					t.Errorf("event %+v", e)
				}
				if got := groupIDs(s); !slices.Equal(got, ids(w, "ga", "gb", "gc", "gm")) {
					t.Errorf("groups %v", got)
				}
				if s.IsScribe(w.ref("gm"), who("mallet")) {
					t.Error("a grant not kept made a scribe")
				}
				m := member(t, s, "mallory")
				if !m.Removed || m.Facilitator || m.Name != "Mal" || !slices.Equal(m.Groups, ids(w, "gm")) {
					t.Errorf("member %+v", m)
				}
				if !s.IsRemoved(who("mallory")) || s.IsRemoved(who("alice")) {
					t.Error("IsRemoved")
				}
			},
		},
		{
			name: "a removed facilitator keeps the authority of what was kept",
			build: func(w *world) {
				setup(w)
				w.op("", "founder", 1, &GatheringBody{Name: "Congress"})
				w.op("", "founder", 2, &FacilitatorBody{Identity: who("fred")})
				w.op("gina", "fred", 3, &FacilitatorBody{Identity: who("gina")})
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "x"})
				w.op("c1", "erin", 30, &CommentBody{Proposal: w.ref("p"), Text: "abuse"})
				w.op("hide", "fred", 40, &HideBody{Target: w.ref("c1"), Hidden: true})
				w.op("", "founder", 50, &RemovalBody{Identity: who("fred"), Keep: keep(w, "gina", "hide")})
				w.op("", "fred", 60, &FacilitatorBody{Identity: who("hank")})
				w.op("", "fred", 4, &FacilitatorBody{Identity: who("ivan")})
				w.op("", "fred", 61, &GatheringBody{Name: "Fred's"})
				w.op("", "fred", 62, &SessionUpdateBody{Session: w.ref("s"), Open: ptr(false)})
			},
			check: func(t *testing.T, w *world, s *State) {
				for _, c := range []struct {
					who  string
					want bool
				}{{"founder", true}, {"fred", false}, {"gina", true}, {"hank", false}, {"ivan", false}} {
					if got := s.IsFacilitator(who(c.who)); got != c.want {
						t.Errorf("IsFacilitator(%s) = %v", c.who, got)
					}
				}
				if cs, _ := s.Comments(w.ref("p")); len(cs) != 1 || !cs[0].Hidden {
					t.Errorf("comments %+v", cs)
				}
				if g := s.Gathering(); g.Name != "Congress" || g.Seating != SeatingOpen {
					t.Errorf("gathering %+v", g)
				}
				if ss, _ := s.Session(w.ref("s")); !ss.Open {
					t.Error("session closed by a removed facilitator")
				}
			},
		},
		{
			name: "two facilitators who remove each other while apart are both removed; a removal by the removed does not count",
			build: func(w *world) {
				setup(w)
				w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
				w.op("", "founder", 2, &FacilitatorBody{Identity: who("gina")})
				w.op("", "founder", 3, &FacilitatorBody{Identity: who("hank")})
				w.op("", "fred", 50, &RemovalBody{Identity: who("gina")})
				w.op("", "gina", 51, &RemovalBody{Identity: who("fred")})
				w.op("", "founder", 40, &RemovalBody{Identity: who("hank")})
				w.op("", "hank", 45, &RemovalBody{Identity: who("alice")})
				w.op("", "hank", 46, &RemovalBody{Identity: who("founder")})
				w.op("", "fred", 52, &RemovalBody{Identity: who("founder")})
			},
			check: func(t *testing.T, w *world, s *State) {
				for _, c := range []struct {
					who     string
					removed bool
				}{{"founder", false}, {"fred", true}, {"gina", true}, {"hank", true}, {"alice", false}} {
					if got := s.IsRemoved(who(c.who)); got != c.removed {
						t.Errorf("IsRemoved(%s) = %v", c.who, got)
					}
				}
				if !s.IsFacilitator(who("founder")) || s.IsFacilitator(who("fred")) {
					t.Error("facilitators")
				}
			},
		},
		{
			name: "a cycle whose member the founder removed: the founder's removal decides",
			build: func(w *world) {
				w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
				w.op("", "founder", 2, &FacilitatorBody{Identity: who("gina")})
				w.op("", "fred", 50, &RemovalBody{Identity: who("gina")})
				w.op("", "gina", 51, &RemovalBody{Identity: who("fred")})
				w.op("", "founder", 52, &RemovalBody{Identity: who("fred")})
			},
			check: func(t *testing.T, w *world, s *State) {
				if !s.IsRemoved(who("fred")) || s.IsRemoved(who("gina")) {
					t.Errorf("fred removed %v, gina removed %v", s.IsRemoved(who("fred")), s.IsRemoved(who("gina")))
				}
			},
		},
		{
			name: "a removal that takes away its own author's authority does not count",
			build: func(w *world) {
				w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
				w.op("", "fred", 2, &FacilitatorBody{Identity: who("gina")})
				w.op("", "gina", 50, &RemovalBody{Identity: who("fred")})
			},
			check: func(t *testing.T, w *world, s *State) {
				if s.IsRemoved(who("fred")) || !s.IsFacilitator(who("fred")) || s.IsFacilitator(who("gina")) {
					t.Errorf("fred removed %v, gina facilitator %v", s.IsRemoved(who("fred")), s.IsFacilitator(who("gina")))
				}
			},
		},
		{
			name: "seated gathering: only seated groups propose, edit and endorse",
			build: func(w *world) {
				setup(w)
				w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
				w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
				w.op("p3", "carol", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "three"})
				w.op("", "bob", 22, &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gb"), Revision: w.ref("p1"), Endorse: true})
				w.op("", "carol", 23, &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gc"), Revision: w.ref("p1"), Endorse: true})
				w.op("", "founder", 30, &SeatBody{Group: w.ref("ga"), Seated: true})
				w.op("", "fred", 31, &SeatBody{Group: w.ref("gb"), Seated: true})
				w.op("", "founder", 32, &SeatBody{Group: w.ref("gc"), Seated: true})
				w.op("", "founder", 33, &SeatBody{Group: w.ref("gc"), Seated: false})
				w.op("", "carol", 34, &SeatBody{Group: w.ref("gc"), Seated: true})
				w.op("", "founder", 35, &SeatingBody{Seating: SeatingSeated})
				w.op("", "mallory", 36, &SeatingBody{Seating: SeatingOpen})
				w.op("", "carol", 40, &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("gc"), Text: "unseated edit", Parents: ids(w, "p1")})
				for i := range 3 {
					g := fmt.Sprintf("m%d", i)
					w.op(g, "mallory", int64(41+i), &GroupBody{Name: g})
					w.op("", "mallory", int64(50+i), &EndorseBody{Proposal: w.ref("p3"), Group: w.ref(g), Revision: w.ref("p3"), Endorse: true})
				}
			},
			check: func(t *testing.T, w *world, s *State) {
				in, wait := docOrder(doc(t, w, s))
				if !slices.Equal(in, ids(w, "p1")) || len(wait) != 0 {
					t.Errorf("document %v waiting %v", in, wait)
				}
				if p := prop(t, w, s, "p1"); p.Endorsements != 2 || p.Text != "one" || p.Revisions != 1 {
					t.Errorf("proposal %+v", p)
				}
				if g := s.Gathering(); g.Seating != SeatingSeated {
					t.Errorf("gathering %+v", g)
				}
				var seated []OpID
				for _, g := range s.Groups() {
					if g.Seated {
						seated = append(seated, g.ID)
					}
				}
				if !slices.Equal(seated, ids(w, "ga", "gb")) {
					t.Errorf("seated %v", seated)
				}
			},
		},
		{
			name: "back to open: every group counts again",
			build: func(w *world) {
				setup(w)
				w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
				w.op("p3", "carol", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "three"})
				w.op("", "carol", 23, &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gc"), Revision: w.ref("p1"), Endorse: true})
				w.op("", "founder", 30, &SeatBody{Group: w.ref("ga"), Seated: true})
				w.op("", "founder", 35, &SeatingBody{Seating: SeatingSeated})
				w.op("", "founder", 36, &SeatingBody{Seating: SeatingOpen})
			},
			check: func(t *testing.T, w *world, s *State) {
				in, _ := docOrder(doc(t, w, s))
				if !slices.Equal(in, ids(w, "p1", "p3")) || prop(t, w, s, "p1").Endorsements != 2 {
					t.Errorf("document %v", in)
				}
			},
		},
		{
			name: "hide anything: group names, identity names, events; show again",
			build: func(w *world) {
				setup(w)
				w.op("", "mallory", 1, &IdentityBody{Name: "slur"})
				w.op("", "erin", 2, &IdentityBody{Name: "Erin"})
				w.op("e", "alice", 20, &EventBody{EventFields{Title: "abusive", Description: "d", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
					Timezone: "UTC", Status: Confirmed, Tags: []string{"t"}, Place: &Place{Venue: "v"}}})
				w.op("", "bob", 21, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "founder", 30, &HideBody{Target: w.ref("gb"), Hidden: true})
				w.op("", "founder", 31, &HideBody{Target: OpID(who("mallory")), Hidden: true})
				w.op("", "founder", 32, &HideBody{Target: w.ref("e"), Hidden: true})
				w.op("", "founder", 33, &HideBody{Target: w.ref("gc"), Hidden: true})
				w.op("", "founder", 34, &HideBody{Target: w.ref("gc"), Hidden: false})
				w.op("", "mallory", 35, &HideBody{Target: OpID(who("erin")), Hidden: true})
			},
			check: func(t *testing.T, w *world, s *State) {
				gs := s.Groups()
				if gs[1].Name != "" || !gs[1].Hidden || gs[2].Name != "C" || gs[2].Hidden || gs[0].Name != "A" {
					t.Errorf("groups %+v", gs)
				}
				if m := member(t, s, "mallory"); m.Name != "" || !m.Hidden || m.Removed {
					t.Errorf("member %+v", m)
				}
				if m := member(t, s, "erin"); m.Name != "Erin" || m.Hidden {
					t.Errorf("member %+v", m)
				}
				if id, _ := s.Identity(who("mallory")); id.Name != "" {
					t.Errorf("identity %+v", id)
				}
				e, _ := s.Event(w.ref("e"))
				if !e.Hidden || e.Title != "" || e.Description != "" || e.Place != nil || e.Tags != nil || e.Going != 1 {
					t.Errorf("event %+v", e)
				}
			},
		},
		{
			name: "limits: an identity's groups beyond the limit count nowhere, earliest first",
			build: func(w *world) {
				setup(w)
				for i, wall := range []int64{30, 31, 32, 33, 5} {
					w.op(fmt.Sprintf("m%d", i), "mallory", wall, &GroupBody{Name: "M"})
				}
				w.op("pm", "mallory", 40, &ProposalBody{Session: w.ref("s"), Group: w.ref("m2"), Text: "over the limit"})
				w.op("pok", "mallory", 41, &ProposalBody{Session: w.ref("s"), Group: w.ref("m1"), Text: "within"})
			},
			check: func(t *testing.T, w *world, s *State) {
				if got := groupIDs(s); !slices.Equal(got, ids(w, "m4", "ga", "gb", "gc", "m0", "m1")) {
					t.Errorf("groups %v", got)
				}
				if in, _ := docOrder(doc(t, w, s)); !slices.Equal(in, ids(w, "pok")) {
					t.Errorf("document %v", in)
				}
				if m := member(t, s, "mallory"); !slices.Equal(m.Groups, ids(w, "m4", "m0", "m1")) {
					t.Errorf("member %+v", m)
				}
			},
		},
		{
			name: "limits: waiting proposals per group and per session, comments per identity",
			build: func(w *world) {
				w.op("s", "founder", 10, &SessionBody{Title: "Tiny", Cap: 1})
				w.op("g0", "p0", 11, &GroupBody{Name: "G"})
				for i := range 6 {
					w.op(fmt.Sprintf("a%d", i), "p0", int64(20+i), &ProposalBody{Session: w.ref("s"), Group: w.ref("g0"), Text: "a"})
				}
				for j := 1; j <= 11; j++ {
					p := fmt.Sprintf("p%d", j)
					w.op("g"+p, p, 12, &GroupBody{Name: "G"})
					for i := range 3 {
						w.op(fmt.Sprintf("%s-%d", p, i), p, int64(30+i), &ProposalBody{Session: w.ref("s"), Group: w.ref("g" + p), Text: "b"})
					}
				}
				for i := range MaxCommentsPerIdentity + 3 {
					w.op(fmt.Sprintf("c%d", i), "erin", int64(100-i), &CommentBody{Proposal: w.ref("a0"), Text: "c"})
				}
			},
			check: func(t *testing.T, w *world, s *State) {
				d := doc(t, w, s)
				in, wait := docOrder(d)
				if !slices.Equal(in, ids(w, "a0")) || len(wait) != MaxWaiting || !slices.Equal(wait[:3], ids(w, "a1", "a2", "a3")) {
					t.Errorf("document %v waiting %d: %v", in, len(wait), wait[:3])
				}
				for _, n := range []string{"a4", "a5"} {
					if _, _, ok := s.Proposal(w.ref(n)); ok {
						t.Errorf("proposal %s beyond the group's waiting limit is shown", n)
					}
				}
				cs, _ := s.Comments(w.ref("a0"))
				if len(cs) != MaxCommentsPerIdentity || cs[0].ID != w.ref(fmt.Sprintf("c%d", MaxCommentsPerIdentity+2)) {
					t.Errorf("%d comments", len(cs))
				}
			},
		},
	})
}

func TestGovernCheck(t *testing.T) {
	w := newWorld(t)
	setup(w)
	w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
	w.op("", "founder", 2, &FacilitatorBody{Identity: who("gina")})
	w.op("", "mallory", 3, &IdentityBody{Name: "M"})
	w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "x"})
	w.op("", "founder", 21, &RemovalBody{Identity: who("gina")})
	w.op("ge1", "erin", 22, &GroupBody{Name: "E1"})
	w.op("ge2", "erin", 23, &GroupBody{Name: "E2"})
	w.op("ge3", "erin", 24, &GroupBody{Name: "E3"})
	for i := range MaxCommentsPerIdentity {
		w.op("", "erin", int64(30+i), &CommentBody{Proposal: w.ref("p"), Text: "c"})
	}
	s := w.state()
	w.op("", "founder", 60, &SeatBody{Group: w.ref("ga"), Seated: true})
	w.op("", "founder", 61, &SeatingBody{Seating: SeatingSeated})
	seated := w.state()

	runChecks(t, []checkCase{
		{"remove", s, "fred", &RemovalBody{Identity: who("mallory"), Reason: "r"}, nil},
		{"remove by anyone", s, "alice", &RemovalBody{Identity: who("mallory")}, ErrForbidden},
		{"remove the founder", s, "fred", &RemovalBody{Identity: who("founder")}, ErrForbidden},
		{"remove oneself", s, "fred", &RemovalBody{Identity: who("fred")}, ErrInvalid},
		{"remove by a removed facilitator", s, "gina", &RemovalBody{Identity: who("mallory")}, ErrForbidden},
		{"a removed identity does nothing", s, "gina", &IdentityBody{Name: "G"}, ErrForbidden},
		{"keep unsorted", s, "fred", &RemovalBody{Identity: who("mallory"), Keep: []uint64{2, 1}}, ErrInvalid},
		{"keep repeated", s, "fred", &RemovalBody{Identity: who("mallory"), Keep: []uint64{1, 1}}, ErrInvalid},
		{"reason too long", s, "fred", &RemovalBody{Identity: who("mallory"), Reason: strings.Repeat("x", maxReason+1)}, ErrTooLarge},
		{"seating", s, "fred", &SeatingBody{Seating: SeatingSeated}, nil},
		{"seating unknown", s, "fred", &SeatingBody{Seating: "closed"}, ErrInvalid},
		{"seating by anyone", s, "alice", &SeatingBody{Seating: SeatingSeated}, ErrForbidden},
		{"seat", s, "fred", &SeatBody{Group: w.ref("gb"), Seated: true}, nil},
		{"seat by anyone", s, "bob", &SeatBody{Group: w.ref("gb"), Seated: true}, ErrForbidden},
		{"seat a missing group", s, "fred", &SeatBody{Group: w.ref("s"), Seated: true}, ErrNotFound},
		{"group within the limit", s, "alice", &GroupBody{Name: "A2"}, nil},
		{"group over the limit", s, "erin", &GroupBody{Name: "E4"}, ErrLimit},
		{"comment within the limit", s, "alice", &CommentBody{Proposal: w.ref("p"), Text: "c"}, nil},
		{"comment over the limit", s, "erin", &CommentBody{Proposal: w.ref("p"), Text: "c"}, ErrLimit},
		{"open: anyone proposes", s, "bob", &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "y"}, nil},
		{"seated: seated group proposes", seated, "alice", &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "y"}, nil},
		{"seated: unseated group proposes", seated, "bob", &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "y"}, ErrForbidden},
		{"seated: unseated group endorses", seated, "bob", &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Endorse: true}, ErrForbidden},
		{"seated: unseated group edits", seated, "bob", &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "z", Parents: ids(w, "p")}, ErrForbidden},
		{"seated: anyone comments", seated, "bob", &CommentBody{Proposal: w.ref("p"), Text: "c"}, nil},
	})
}

// TestRemovalBodies: a removal keeps every operation the node holds of the
// identity, in several removals when there are more than MaxKeep, and each
// fits in an envelope.
func TestRemovalBodies(t *testing.T) {
	w := newWorld(t)
	n := MaxKeep + 5
	for i := range n {
		w.op("", "mallory", int64(i+1), &IdentityBody{Name: fmt.Sprint("name ", i)})
	}
	w.op("", "alice", 1, &IdentityBody{Name: "Alice"})
	s := w.state()
	bodies := s.RemovalBodies(who("mallory"), strings.Repeat("é", maxReason/2))
	if len(bodies) != 2 || len(bodies[0].Keep) != MaxKeep || len(bodies[1].Keep) != 5 {
		t.Fatalf("%d removals", len(bodies))
	}
	for i, b := range bodies {
		if err := s.Check(who("founder"), b); err != nil {
			t.Fatal(err)
		}
		env, _, err := w.keys.Seal(w.founder, Clock{Wall: int64(n + 10 + i)}, b)
		if err != nil {
			t.Fatalf("removal %d does not seal: %v", i, err)
		}
		t.Logf("removal keeping %d: %d bytes sealed", len(b.Keep), len(env.Bytes()))
		w.op("", "founder", int64(n+10+i), b)
	}
	w.op("", "mallory", int64(n+20), &IdentityBody{Name: "after"})
	s = w.state()
	if id, _ := s.Identity(who("mallory")); id.Name != fmt.Sprint("name ", n-1) {
		t.Errorf("name %q: every operation held should count", id.Name)
	}
	if got := s.RemovalBodies(who("nobody"), ""); len(got) != 1 || got[0].Keep != nil {
		t.Errorf("removal of an identity never seen %+v", got)
	}
}

// TestHiddenList: every kind of hidden content is listed, revisions and
// comments with their proposal; shown again, it leaves the list.
func TestHiddenList(t *testing.T) {
	w := newWorld(t)
	w.op("s", "founder", 1, &SessionBody{Title: "S", Cap: 3})
	w.op("g", "founder", 2, &GroupBody{Name: "G"})
	w.op("p", "founder", 3, &ProposalBody{Session: w.ref("s"), Group: w.ref("g"), Text: "p"})
	w.op("r", "founder", 4, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("g"), Text: "r", Parents: []OpID{w.ref("p")}})
	w.op("c", "founder", 5, &CommentBody{Proposal: w.ref("p"), Text: "c"})
	w.op("n", "bob", 6, &IdentityBody{Name: "Bob"})
	for i, target := range []OpID{w.ref("g"), w.ref("p"), w.ref("r"), w.ref("c"), OpID(who("bob")), {9}} {
		w.op("", "founder", int64(10+i), &HideBody{Target: target, Hidden: true})
	}
	w.op("", "founder", 20, &HideBody{Target: w.ref("g"), Hidden: false})
	got := map[string]HiddenItem{}
	for _, it := range w.state().Hidden() {
		got[it.Kind] = it
	}
	p := w.ref("p")
	if len(got) != 4 || got["proposal"].ID != p || got["revision"].ID != w.ref("r") || *got["revision"].Proposal != p ||
		got["comment"].ID != w.ref("c") || *got["comment"].Proposal != p || got["identity"].ID != OpID(who("bob")) {
		t.Fatalf("hidden: %+v", got)
	}
}
