package crdt

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// setup makes a session "s" (cap 3) and groups "ga", "gb", "gc" whose
// scribes are alice, bob and carol.
func setup(w *world) {
	w.op("s", "founder", 10, &SessionBody{Title: "Futures", Cap: 3})
	w.op("ga", "alice", 11, &GroupBody{Name: "A"})
	w.op("gb", "bob", 12, &GroupBody{Name: "B"})
	w.op("gc", "carol", 13, &GroupBody{Name: "C"})
}

func doc(t *testing.T, w *world, s *State) Document {
	t.Helper()
	d, ok := s.Document(w.ref("s"))
	if !ok {
		t.Fatal("no document for session s")
	}
	return d
}

func prop(t *testing.T, w *world, s *State, name string) Proposal {
	t.Helper()
	p, _, ok := s.Proposal(w.ref(name))
	if !ok {
		t.Fatalf("proposal %s not shown", name)
	}
	return p
}

func ids(w *world, names ...string) []OpID {
	out := make([]OpID, 0, len(names))
	for _, n := range names {
		out = append(out, w.ref(n))
	}
	return out
}

func sortedIDs(w *world, names ...string) []OpID {
	out := ids(w, names...)
	slices.SortFunc(out, OpID.compare)
	return out
}

func docOrder(d Document) (in, waiting []OpID) {
	in, waiting = []OpID{}, []OpID{}
	for _, p := range d.Proposals {
		in = append(in, p.ID)
	}
	for _, p := range d.Waiting {
		waiting = append(waiting, p.ID)
	}
	return in, waiting
}

// ruleCase builds a set of operations and checks what the state shows;
// runRules also checks that any order of the same set shows the same.
type ruleCase struct {
	name  string
	build func(w *world)
	check func(t *testing.T, w *world, s *State)
}

func TestRules(t *testing.T) {
	runRules(t, []ruleCase{
		{
			name: "facilitator closure and gathering name",
			build: func(w *world) {
				w.op("", "founder", 1, &GatheringBody{Name: "Congress"})
				w.op("", "mallory", 50, &GatheringBody{Name: "Mallory's"})
				w.op("", "mallory", 2, &FacilitatorBody{Identity: who("mallory")})
				w.op("", "founder", 3, &FacilitatorBody{Identity: who("alice")})
				w.op("", "alice", 4, &FacilitatorBody{Identity: who("bob")})
				w.op("", "bob", 40, &GatheringBody{Name: "Techie Congress"})
			},
			check: func(t *testing.T, w *world, s *State) {
				if got := s.Name(); got != "Techie Congress" {
					t.Errorf("name %q", got)
				}
				for _, c := range []struct {
					who  string
					want bool
				}{{"founder", true}, {"alice", true}, {"bob", true}, {"mallory", false}, {"carol", false}} {
					if got := s.IsFacilitator(who(c.who)); got != c.want {
						t.Errorf("IsFacilitator(%s) = %v", c.who, got)
					}
				}
			},
		},
		{
			name: "identity names are last-writer-wins by the identity itself",
			build: func(w *world) {
				w.op("", "alice", 1, &IdentityBody{Name: "Al"})
				w.op("", "alice", 5, &IdentityBody{Name: "Zoe"})
				w.op("", "bob", 2, &IdentityBody{Name: "Bob"})
				w.op("", "founder", 3, &IdentityBody{Name: "Ann"})
			},
			check: func(t *testing.T, w *world, s *State) {
				got := s.Identities()
				want := []Identity{{who("founder"), "Ann", true}, {who("bob"), "Bob", false}, {who("alice"), "Zoe", false}}
				if !slices.Equal(got, want) {
					t.Errorf("identities %+v", got)
				}
				if _, ok := s.Identity(who("carol")); ok {
					t.Error("carol never named herself")
				}
			},
		},
		{
			name: "session updates: facilitators only, per field, after the session",
			build: func(w *world) {
				w.op("s", "carol", 10, &SessionBody{Title: "T0", Cap: 5})
				w.op("", "founder", 20, &SessionUpdateBody{Session: w.ref("s"), Title: ptr("T1"), Cap: ptr(7)})
				w.op("", "founder", 21, &SessionUpdateBody{Session: w.ref("s"), Prompt: ptr("P1")})
				w.op("", "founder", 19, &SessionUpdateBody{Session: w.ref("s"), Title: ptr("older")})
				w.op("", "founder", 9, &SessionUpdateBody{Session: w.ref("s"), Open: ptr(false)})
				w.op("", "carol", 30, &SessionUpdateBody{Session: w.ref("s"), Open: ptr(false), Cap: ptr(1)})
				w.op("s2", "bob", 11, &SessionBody{Title: "Other", Cap: 10})
			},
			check: func(t *testing.T, w *world, s *State) {
				got, ok := s.Session(w.ref("s"))
				want := Session{ID: w.ref("s"), Title: "T1", Prompt: "P1", Cap: 7, Open: true, Agenda: []Step{}}
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("session %+v", got)
				}
				if l := s.Sessions(); len(l) != 2 || l[0].ID != w.ref("s") || l[1].ID != w.ref("s2") {
					t.Errorf("sessions %+v", l)
				}
			},
		},
		{
			name: "scribe closure, forged grants and forged proposals",
			build: func(w *world) {
				setup(w)
				w.op("", "alice", 20, &ScribeBody{Group: w.ref("ga"), Identity: who("dave")})
				w.op("", "dave", 21, &ScribeBody{Group: w.ref("ga"), Identity: who("erin")})
				w.op("", "mallory", 22, &ScribeBody{Group: w.ref("ga"), Identity: who("mallory")})
				w.op("", "mallory", 23, &ScribeBody{Group: w.ref("gb"), Identity: who("frank")})
				w.op("pe", "erin", 30, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "by erin"})
				w.op("pm", "mallory", 31, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "forged"})
				w.op("", "mallory", 32, &EndorseBody{Proposal: w.ref("pe"), Group: w.ref("gb"), Revision: w.ref("pe"), Endorse: true})
			},
			check: func(t *testing.T, w *world, s *State) {
				g, _ := s.Group(w.ref("ga"))
				want := []IdentityID{who("alice"), who("dave"), who("erin")}
				slices.SortFunc(want, func(a, b IdentityID) int { return OpID(a).compare(OpID(b)) })
				if !slices.Equal(g.Scribes, want) {
					t.Errorf("scribes of A %v", g.Scribes)
				}
				if s.IsScribe(w.ref("gb"), who("frank")) {
					t.Error("frank made scribe by a non-scribe")
				}
				in, _ := docOrder(doc(t, w, s))
				if !slices.Equal(in, ids(w, "pe")) {
					t.Errorf("proposals %v", in)
				}
				if p := prop(t, w, s, "pe"); p.Endorsements != 1 {
					t.Errorf("forged endorsement counted: %+v", p)
				}
				if _, _, ok := s.Proposal(w.ref("pm")); ok {
					t.Error("forged proposal shown")
				}
			},
		},
		{
			name: "proposal rules: session must exist and be earlier",
			build: func(w *world) {
				setup(w)
				w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
				w.op("early", "bob", 9, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "before the session"})
				w.op("nos", "bob", 21, &ProposalBody{Session: w.ref("ga"), Group: w.ref("gb"), Text: "no such session"})
				w.op("nog", "bob", 22, &ProposalBody{Session: w.ref("s"), Group: w.ref("s"), Text: "no such group"})
			},
			check: func(t *testing.T, w *world, s *State) {
				in, wait := docOrder(doc(t, w, s))
				if !slices.Equal(in, ids(w, "p1")) || len(wait) != 0 {
					t.Errorf("proposals %v waiting %v", in, wait)
				}
				p := prop(t, w, s, "p1")
				if p.Text != "one" || p.Revision != w.ref("p1") || p.Group != w.ref("ga") || p.Revisions != 1 ||
					p.Conflict || !slices.Equal(p.Heads, ids(w, "p1")) || p.Rank != 1 {
					t.Errorf("proposal %+v", p)
				}
				for _, n := range []string{"early", "nos", "nog"} {
					if _, ok := s.Revisions(w.ref(n)); ok {
						t.Errorf("invalid proposal %s has revisions", n)
					}
				}
			},
		},
		{
			name: "concurrent edits conflict and keep all heads",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("rb", "bob", 30, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "bob's", Parents: ids(w, "p")})
				w.op("rc", "carol", 31, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gc"), Text: "carol's", Parents: ids(w, "p")})
			},
			check: func(t *testing.T, w *world, s *State) {
				p := prop(t, w, s, "p")
				if !p.Conflict || !slices.Equal(p.Heads, ids(w, "rc", "rb")) || p.Text != "carol's" || p.Revision != w.ref("rc") || p.Revisions != 3 {
					t.Errorf("proposal %+v", p)
				}
				if !slices.Equal(p.EndorsedBy, ids(w, "gc")) {
					t.Errorf("endorsed by %v, want carol's group only", p.EndorsedBy)
				}
				revs, _ := s.Revisions(w.ref("p"))
				if len(revs) != 3 || revs[0].ID != w.ref("p") || len(revs[0].Parents) != 0 || revs[0].Parents == nil || revs[2].Text != "carol's" {
					t.Errorf("revisions %+v", revs)
				}
			},
		},
		{
			name: "an edit naming all heads resolves the conflict",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("rb", "bob", 30, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "bob's", Parents: ids(w, "p")})
				w.op("rc", "carol", 31, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gc"), Text: "carol's", Parents: ids(w, "p")})
				w.op("m", "alice", 40, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "merged", Parents: sortedIDs(w, "rb", "rc")})
			},
			check: func(t *testing.T, w *world, s *State) {
				p := prop(t, w, s, "p")
				if p.Conflict || !slices.Equal(p.Heads, ids(w, "m")) || p.Text != "merged" || p.Revisions != 4 {
					t.Errorf("proposal %+v", p)
				}
			},
		},
		{
			name: "invalid revisions: non-scribe, foreign parent, parent not earlier, missing parent",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("q", "bob", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "other"})
				w.op("", "mallory", 30, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "forged", Parents: ids(w, "p")})
				w.op("", "bob", 31, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "foreign", Parents: ids(w, "q")})
				w.op("", "bob", 20, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "same clock", Parents: ids(w, "p")})
				w.op("", "bob", 32, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gb"), Text: "dangling", Parents: ids(w, "gc")})
				// A valid revision held on one that never arrives.
				w.op("", "carol", 33, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gc"), Text: "missing", Parents: []OpID{{1}}})
			},
			check: func(t *testing.T, w *world, s *State) {
				p := prop(t, w, s, "p")
				if p.Conflict || p.Revisions != 1 || p.Text != "v0" {
					t.Errorf("proposal %+v", p)
				}
			},
		},
		{
			name: "endorsements: implicit, explicit, withdrawn, by forgers, too early",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("", "bob", 21, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Endorse: true})
				w.op("", "carol", 22, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("p"), Endorse: true})
				w.op("", "carol", 23, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("p"), Endorse: false})
				w.op("", "alice", 24, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("ga"), Revision: w.ref("p"), Endorse: false})
				w.op("", "alice", 25, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("ga"), Revision: w.ref("p"), Endorse: true})
				w.op("", "alice", 26, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("ga"), Revision: w.ref("p"), Endorse: false})
				w.op("gd", "dave", 14, &GroupBody{Name: "D"})
				w.op("", "dave", 20, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gd"), Revision: w.ref("p"), Endorse: true})
				w.op("", "mallory", 40, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gc"), Revision: w.ref("p"), Endorse: true})
			},
			check: func(t *testing.T, w *world, s *State) {
				p := prop(t, w, s, "p")
				if p.Endorsements != 1 || !slices.Equal(p.EndorsedBy, ids(w, "gb")) {
					t.Errorf("proposal %+v", p)
				}
			},
		},
		{
			name: "an endorsement of a revision no longer current does not count",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("", "bob", 30, &EndorseBody{Proposal: w.ref("p"), Group: w.ref("gb"), Revision: w.ref("p"), Endorse: true})
				// Carol edited offline concurrently with bob's endorsement.
				w.op("r", "carol", 29, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("gc"), Text: "v1", Parents: ids(w, "p")})
			},
			check: func(t *testing.T, w *world, s *State) {
				p := prop(t, w, s, "p")
				if p.Revision != w.ref("r") || !slices.Equal(p.EndorsedBy, ids(w, "gc")) {
					t.Errorf("proposal %+v", p)
				}
			},
		},
		{
			name: "cap exceeded after a merge: the earliest stay, the rest wait; ranking",
			build: func(w *world) {
				setup(w)
				w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
				w.op("p2", "bob", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "two"})
				w.op("p3", "carol", 22, &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "three"})
				w.op("p4", "alice", 23, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "four"})
				w.op("p5", "bob", 24, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "five"})
				w.op("", "alice", 30, &EndorseBody{Proposal: w.ref("p3"), Group: w.ref("ga"), Revision: w.ref("p3"), Endorse: true})
				w.op("", "alice", 31, &EndorseBody{Proposal: w.ref("p5"), Group: w.ref("ga"), Revision: w.ref("p5"), Endorse: true})
				w.op("", "carol", 32, &EndorseBody{Proposal: w.ref("p5"), Group: w.ref("gc"), Revision: w.ref("p5"), Endorse: true})
			},
			check: func(t *testing.T, w *world, s *State) {
				d := doc(t, w, s)
				in, wait := docOrder(d)
				if !slices.Equal(in, ids(w, "p3", "p1", "p2")) || !slices.Equal(wait, ids(w, "p4", "p5")) {
					t.Errorf("document %v waiting %v", in, wait)
				}
				for i, p := range d.Proposals {
					if p.Rank != i+1 {
						t.Errorf("rank %d at %d", p.Rank, i)
					}
				}
				if d.Waiting[1].Text != "five" || d.Waiting[1].Group != w.ref("gb") {
					t.Errorf("waiting %+v", d.Waiting[1])
				}
				if p := prop(t, w, s, "p4"); p.Rank != 0 {
					t.Errorf("waiting proposal rank %d", p.Rank)
				}
			},
		},
		{
			name: "hidden content: proposal, revision, comment; last writer wins; facilitators only",
			build: func(w *world) {
				setup(w)
				w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
				w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "abusive"})
				w.op("p2", "bob", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "two"})
				w.op("p3", "carol", 22, &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "three"})
				w.op("p4", "alice", 23, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "four"})
				w.op("r", "bob", 30, &RevisionBody{Proposal: w.ref("p2"), Group: w.ref("gb"), Text: "abusive edit", Parents: ids(w, "p2")})
				w.op("c1", "mallory", 31, &CommentBody{Proposal: w.ref("p3"), Text: "abusive comment"})
				w.op("c2", "erin", 32, &CommentBody{Proposal: w.ref("p3"), Text: "fine"})
				w.op("", "fred", 40, &HideBody{Target: w.ref("p1"), Hidden: true})
				w.op("", "founder", 41, &HideBody{Target: w.ref("r"), Hidden: true})
				w.op("", "founder", 42, &HideBody{Target: w.ref("c1"), Hidden: true})
				w.op("", "founder", 43, &HideBody{Target: w.ref("c2"), Hidden: true})
				w.op("", "fred", 44, &HideBody{Target: w.ref("c2"), Hidden: false})
				w.op("", "mallory", 45, &HideBody{Target: w.ref("p3"), Hidden: true})
			},
			check: func(t *testing.T, w *world, s *State) {
				d := doc(t, w, s)
				in, wait := docOrder(d)
				// The hidden proposal frees its place under the cap and goes last.
				if !slices.Equal(in, ids(w, "p2", "p3", "p4", "p1")) || len(wait) != 0 {
					t.Errorf("document %v waiting %v", in, wait)
				}
				if p := d.Proposals[3]; !p.Hidden || p.Text != "" || p.Rank != 0 {
					t.Errorf("hidden proposal %+v", p)
				}
				if p := d.Proposals[0]; p.Hidden || p.Text != "" || p.Revision != w.ref("r") {
					t.Errorf("proposal with hidden head %+v", p)
				}
				revs, _ := s.Revisions(w.ref("p2"))
				if revs[0].Text != "two" || revs[0].Hidden || revs[1].Text != "" || !revs[1].Hidden {
					t.Errorf("revisions %+v", revs)
				}
				cs, _ := s.Comments(w.ref("p3"))
				if len(cs) != 2 || cs[0].Text != "" || !cs[0].Hidden || cs[1].Text != "fine" || cs[1].Hidden {
					t.Errorf("comments %+v", cs)
				}
				revs, _ = s.Revisions(w.ref("p1"))
				if revs[0].Text != "" || !revs[0].Hidden {
					t.Errorf("revision of a hidden proposal %+v", revs[0])
				}
			},
		},
		{
			name: "comments in clock order, only on proposals that exist",
			build: func(w *world) {
				setup(w)
				w.op("p", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("c2", "bob", 40, &CommentBody{Proposal: w.ref("p"), Text: "second"})
				w.op("c1", "erin", 30, &CommentBody{Proposal: w.ref("p"), Text: "first"})
				w.op("", "erin", 31, &CommentBody{Proposal: w.ref("ga"), Text: "nowhere"})
			},
			check: func(t *testing.T, w *world, s *State) {
				cs, ok := s.Comments(w.ref("p"))
				if !ok || len(cs) != 2 || cs[0].ID != w.ref("c1") || cs[1].ID != w.ref("c2") || cs[0].Author != who("erin") {
					t.Errorf("comments %+v", cs)
				}
				if _, ok := s.Comments(w.ref("ga")); ok {
					t.Error("comments on a group")
				}
			},
		},
		{
			name: "events: last-writer-wins fields, editors, waitlist",
			build: func(w *world) {
				setup(w)
				w.op("e", "alice", 20, &EventBody{EventFields{
					Title: "March", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z",
					Timezone: "Europe/Paris", Tags: []string{"a", "b"}, Capacity: 2, Status: Tentative,
					Group: w.refp("ga"), Place: &Place{Venue: "Square"},
				}})
				w.op("", "alice", 30, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("Big March"), Tags: &[]string{"c"}}})
				w.op("", "bob", 31, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("forged")}})
				w.op("", "founder", 29, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("older"), Status: ptr(Confirmed)}})
				w.op("", "founder", 19, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Status: ptr(Cancelled)}})
				w.op("", "alice", 32, &ScribeBody{Group: w.ref("ga"), Identity: who("dave")})
				w.op("", "dave", 33, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Place: &Place{Address: "1 Main St"}}})
				// The end moved before the start by one update: shown in order.
				w.op("", "dave", 34, &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{End: ptr("2026-05-01T09:00:00Z")}})
				w.op("", "erin", 40, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "bob", 41, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "carol", 42, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "frank", 43, &ParticipationBody{Event: w.ref("e"), Status: Maybe})
				w.op("", "gina", 44, &ParticipationBody{Event: w.ref("e"), Status: Going})
				w.op("", "gina", 45, &ParticipationBody{Event: w.ref("e"), Status: NotGoing})
				w.op("", "bob", 20, &ParticipationBody{Event: w.ref("e"), Status: Maybe})
				w.op("forged", "mallory", 21, &EventBody{EventFields{Title: "x", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed, Group: w.refp("gb")}})
			},
			check: func(t *testing.T, w *world, s *State) {
				evs := s.Events()
				if len(evs) != 1 {
					t.Fatalf("events %+v", evs)
				}
				e := evs[0]
				if e.Title != "Big March" || e.Status != Confirmed || !slices.Equal(e.Tags, []string{"c"}) ||
					e.Place == nil || e.Place.Venue != "" || e.Place.Address != "1 Main St" ||
					e.Start != "2026-05-01T09:00:00Z" || e.End != "2026-05-01T10:00:00Z" {
					t.Errorf("fields %+v", e.EventFields)
				}
				if e.Sequence != 4 || !e.Created.Equal(Clock{Wall: 20}.Time()) || !e.Modified.Equal(Clock{Wall: 34}.Time()) || e.Creator != who("alice") {
					t.Errorf("event %+v", e)
				}
				if e.Going != 2 || e.Waitlist != 1 || e.Maybe != 1 {
					t.Errorf("going %d waitlist %d maybe %d", e.Going, e.Waitlist, e.Maybe)
				}
				want := []Participant{{who("erin"), Going, false}, {who("bob"), Going, false}, {who("carol"), Going, true}}
				if !slices.Equal(e.Participants[:3], want) || len(e.Participants) != 5 {
					t.Errorf("participants %+v", e.Participants)
				}
				if _, ok := s.Event(w.ref("forged")); ok {
					t.Error("event for a group by a non-scribe shown")
				}
			},
		},
		{
			name: "operations before their dependencies",
			build: func(w *world) {
				setup(w)
				w.op("p", "dave", 30, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "v0"})
				w.op("r", "erin", 40, &RevisionBody{Proposal: w.ref("p"), Group: w.ref("ga"), Text: "v1", Parents: ids(w, "p")})
				w.op("", "dave", 25, &ScribeBody{Group: w.ref("ga"), Identity: who("erin")})
				w.op("", "alice", 20, &ScribeBody{Group: w.ref("ga"), Identity: who("dave")})
			},
			check: func(t *testing.T, w *world, s *State) {
				if p := prop(t, w, s, "p"); p.Text != "v1" || p.Revisions != 2 {
					t.Errorf("proposal %+v", p)
				}
			},
		},
	})
}

func runRules(t *testing.T, cases []ruleCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			c.build(w)
			s := w.state()
			c.check(t, w, s)
			want := dump(t, s)
			r := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			orders := [][]Op{slices.Clone(w.ops)}
			slices.Reverse(orders[0])
			for range 20 {
				orders = append(orders, shuffled(r, w.ops))
			}
			for i, ops := range orders {
				s := applyOps(w.founder.ID, ops)
				if s.Len() != len(w.ops) {
					t.Fatalf("order %d: Len %d, want %d", i, s.Len(), len(w.ops))
				}
				requireSameDump(t, "shuffled order", want, dump(t, s))
				// Reading between applies must not change the outcome.
				s2 := NewState(w.founder.ID)
				for _, op := range ops {
					s2.Apply(op)
					dump(t, s2)
				}
				requireSameDump(t, "reading while applying", want, dump(t, s2))
			}
		})
	}
}
