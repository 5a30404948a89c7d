package crdt

import (
	"errors"
	"testing"
)

// checkCase is one call of Check and the error it should give (nil, or
// one that errors.Is want).
type checkCase struct {
	name  string
	state *State
	who   string
	body  Body
	want  error
}

func runChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.state.Check(who(c.who), c.body)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Check = %v, want %v", err, c.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	w := newWorld(t)
	setup(w) // session s with cap 3, groups ga, gb, gc
	w.op("closed", "founder", 14, &SessionBody{Title: "Closed", Cap: 3})
	w.op("pc", "alice", 15, &ProposalBody{Session: w.ref("closed"), Group: w.ref("ga"), Text: "before closing"})
	w.op("", "founder", 16, &SessionUpdateBody{Session: w.ref("closed"), Open: ptr(false)})
	w.op("", "founder", 1, &FacilitatorBody{Identity: who("fred")})
	w.op("p1", "alice", 20, &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "one"})
	w.op("p2", "bob", 21, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "two"})
	w.op("rb", "bob", 30, &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("gb"), Text: "b", Parents: ids(w, "p1")})
	w.op("rc", "carol", 31, &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("gc"), Text: "c", Parents: ids(w, "p1")})
	w.op("c", "erin", 32, &CommentBody{Proposal: w.ref("p1"), Text: "hm"})
	w.op("e", "alice", 33, &EventBody{EventFields{Title: "E", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed, Group: w.refp("ga")}})
	// p3 is hidden, so it does not count toward the cap.
	w.op("p3", "carol", 22, &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "three"})
	w.op("", "founder", 40, &HideBody{Target: w.ref("p3"), Hidden: true})
	s := w.state()

	runChecks(t, []checkCase{
		{"rename by founder", s, "founder", &GatheringBody{Name: "X"}, nil},
		{"rename by appointed facilitator", s, "fred", &GatheringBody{Name: "X"}, nil},
		{"rename by anyone", s, "alice", &GatheringBody{Name: "X"}, ErrForbidden},
		{"invalid body", s, "founder", &GatheringBody{Name: " "}, ErrInvalid},
		{"nil body", s, "founder", nil, ErrInvalid},
		{"name oneself", s, "zed", &IdentityBody{Name: "Zed"}, nil},
		{"appoint by facilitator", s, "fred", &FacilitatorBody{Identity: who("alice")}, nil},
		{"appoint by anyone", s, "alice", &FacilitatorBody{Identity: who("alice")}, ErrForbidden},
		{"session by anyone", s, "erin", &SessionBody{Title: "T", Cap: 4}, nil},
		{"update session", s, "fred", &SessionUpdateBody{Session: w.ref("s"), Cap: ptr(5)}, nil},
		{"update session by anyone", s, "alice", &SessionUpdateBody{Session: w.ref("s"), Cap: ptr(5)}, ErrForbidden},
		{"update missing session", s, "founder", &SessionUpdateBody{Session: w.ref("ga"), Cap: ptr(5)}, ErrNotFound},
		{"group by anyone", s, "erin", &GroupBody{Name: "E"}, nil},
		{"add scribe", s, "alice", &ScribeBody{Group: w.ref("ga"), Identity: who("dave")}, nil},
		{"add scribe by non-scribe", s, "bob", &ScribeBody{Group: w.ref("ga"), Identity: who("bob")}, ErrNotScribe},
		{"add scribe to missing group", s, "bob", &ScribeBody{Group: w.ref("s"), Identity: who("bob")}, ErrNotFound},
		{"propose", s, "carol", &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "new"}, nil},
		{"propose in missing session", s, "carol", &ProposalBody{Session: w.ref("gc"), Group: w.ref("gc"), Text: "new"}, ErrNotFound},
		{"propose for missing group", s, "carol", &ProposalBody{Session: w.ref("s"), Group: w.ref("s"), Text: "new"}, ErrNotFound},
		{"propose as non-scribe", s, "carol", &ProposalBody{Session: w.ref("s"), Group: w.ref("ga"), Text: "new"}, ErrNotScribe},
		{"propose in closed session", s, "alice", &ProposalBody{Session: w.ref("closed"), Group: w.ref("ga"), Text: "new"}, ErrClosed},
		{"edit naming all heads", s, "alice", &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("ga"), Text: "m", Parents: sortedIDs(w, "rb", "rc")}, nil},
		{"edit naming one head", s, "alice", &RevisionBody{Proposal: w.ref("p1"), Group: w.ref("ga"), Text: "m", Parents: ids(w, "rb")}, ErrConflict},
		{"edit naming an old revision", s, "alice", &RevisionBody{Proposal: w.ref("p2"), Group: w.ref("ga"), Text: "m", Parents: ids(w, "p1")}, ErrConflict},
		{"edit as non-scribe", s, "alice", &RevisionBody{Proposal: w.ref("p2"), Group: w.ref("gb"), Text: "m", Parents: ids(w, "p2")}, ErrNotScribe},
		{"edit missing proposal", s, "alice", &RevisionBody{Proposal: w.ref("rb"), Group: w.ref("ga"), Text: "m", Parents: ids(w, "rb")}, ErrNotFound},
		{"edit in closed session", s, "alice", &RevisionBody{Proposal: w.ref("pc"), Group: w.ref("ga"), Text: "m", Parents: ids(w, "pc")}, ErrClosed},
		{"endorse shown head", s, "bob", &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gb"), Revision: w.ref("rc"), Endorse: true}, nil},
		{"endorse other head", s, "bob", &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gb"), Revision: w.ref("rb"), Endorse: true}, ErrConflict},
		{"withdraw from old revision", s, "bob", &EndorseBody{Proposal: w.ref("p1"), Group: w.ref("gb"), Revision: w.ref("p1"), Endorse: false}, nil},
		{"endorse revision of another proposal", s, "bob", &EndorseBody{Proposal: w.ref("p2"), Group: w.ref("gb"), Revision: w.ref("rc"), Endorse: true}, ErrNotFound},
		{"endorse as non-scribe", s, "bob", &EndorseBody{Proposal: w.ref("p2"), Group: w.ref("gc"), Revision: w.ref("p2"), Endorse: true}, ErrNotScribe},
		{"endorse in closed session", s, "alice", &EndorseBody{Proposal: w.ref("pc"), Group: w.ref("ga"), Revision: w.ref("pc"), Endorse: true}, ErrClosed},
		{"comment", s, "zed", &CommentBody{Proposal: w.ref("p2"), Text: "x"}, nil},
		{"comment on missing proposal", s, "zed", &CommentBody{Proposal: w.ref("s"), Text: "x"}, ErrNotFound},
		{"hide comment", s, "fred", &HideBody{Target: w.ref("c"), Hidden: true}, nil},
		{"hide revision", s, "fred", &HideBody{Target: w.ref("rb"), Hidden: true}, nil},
		{"hide by anyone", s, "alice", &HideBody{Target: w.ref("c"), Hidden: true}, ErrForbidden},
		{"hide a group", s, "founder", &HideBody{Target: w.ref("ga"), Hidden: true}, nil},
		{"hide an event", s, "founder", &HideBody{Target: w.ref("e"), Hidden: true}, nil},
		{"hide an identity's name", s, "founder", &HideBody{Target: OpID(who("erin")), Hidden: true}, nil},
		{"hide an identity never seen", s, "founder", &HideBody{Target: OpID(who("zed")), Hidden: true}, ErrNotFound},
		{"hide a session", s, "founder", &HideBody{Target: w.ref("s"), Hidden: true}, ErrNotFound},
		{"event", s, "zed", &EventBody{EventFields{Title: "E", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed}}, nil},
		{"event for a group by non-scribe", s, "zed", &EventBody{EventFields{Title: "E", Start: "2026-05-01T10:00:00Z", End: "2026-05-01T12:00:00Z", Timezone: "UTC", Status: Confirmed, Group: w.refp("ga")}}, ErrNotScribe},
		{"edit event by creator", s, "alice", &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("F")}}, nil},
		{"edit event by facilitator", s, "fred", &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("F")}}, nil},
		{"edit event by anyone", s, "bob", &EventUpdateBody{Event: w.ref("e"), Set: EventPatch{Title: ptr("F")}}, ErrForbidden},
		{"edit missing event", s, "alice", &EventUpdateBody{Event: w.ref("s"), Set: EventPatch{Title: ptr("F")}}, ErrNotFound},
		{"register", s, "zed", &ParticipationBody{Event: w.ref("e"), Status: Going}, nil},
		{"register for missing event", s, "zed", &ParticipationBody{Event: w.ref("s"), Status: Going}, ErrNotFound},
	})

	t.Run("cap reached counts waiting, not hidden", func(t *testing.T) {
		body := &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "new"}
		if err := s.Check(who("carol"), body); err != nil {
			t.Fatalf("third visible proposal refused: %v", err)
		}
		w.op("", "carol", 50, body)
		w.op("", "bob", 49, &ProposalBody{Session: w.ref("s"), Group: w.ref("gb"), Text: "concurrent"})
		s := w.state()
		if d, _ := s.Document(w.ref("s")); len(d.Waiting) != 1 {
			t.Fatalf("waiting %+v", d.Waiting)
		}
		err := s.Check(who("carol"), &ProposalBody{Session: w.ref("s"), Group: w.ref("gc"), Text: "more"})
		if !errors.Is(err, ErrCapReached) {
			t.Fatalf("Check = %v, want cap reached", err)
		}
	})
}
