package crdt

import (
	"bytes"
	"cmp"
	"slices"
)

// The read side. Values returned share their slices (a Document's
// Proposals, EndorsedBy, Heads, Tags, …) with the state's caches, which are
// replaced, never modified: they are safe to read from any goroutine, and
// callers must not modify them. The lists (Sessions, Groups, …) are fresh
// copies. A Document's Proposals and Waiting, and a proposal's EndorsedBy,
// are never nil, and its Heads never empty, so that they serialise as
// JSON arrays without callers touching them.

// Name is the gathering's name ("" until a gathering operation arrives).
func (s *State) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.gatheringName()
}

// Identities lists the identities that named themselves, by name then id.
func (s *State) Identities() []Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if !s.identsList.fresh(s.epoch) {
		list := make([]Identity, 0, len(s.idents))
		for id := range s.idents {
			if v, ok := s.identity(id); ok {
				list = append(list, v)
			}
		}
		slices.SortFunc(list, func(a, b Identity) int {
			if c := cmp.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return bytes.Compare(a.ID[:], b.ID[:])
		})
		s.identsList.set(list, s.epoch)
	}
	return slices.Clone(s.identsList.val)
}

// Identity returns an identity that named itself.
func (s *State) Identity(id IdentityID) (Identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.identity(id)
}

// identity is an identity's last counting name (withheld if hidden).
func (s *State) identity(id IdentityID) (Identity, bool) {
	var best *Op
	for _, o := range s.idents[id] {
		if s.counts(o) {
			best = o // the list is sorted
		}
	}
	if best == nil {
		return Identity{}, false
	}
	v := Identity{ID: id, Name: best.Body.(*IdentityBody).Name, Facilitator: s.isActiveFacil(id)}
	if s.hidden(OpID(id)) {
		v.Name = ""
	}
	return v, true
}

// IsFacilitator reports whether id is the founder or was appointed by a
// facilitator, and is not removed.
func (s *State) IsFacilitator(id IdentityID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.isActiveFacil(id)
}

// IsRemoved reports whether id was removed from the gathering.
func (s *State) IsRemoved(id IdentityID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.isRemoved(id)
}

// Gathering returns the gathering's name and seating.
func (s *State) Gathering() Gathering {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	g := Gathering{Name: s.gatheringName(), Seating: SeatingOpen}
	if s.seated {
		g.Seating = SeatingSeated
	}
	return g
}

// Members lists every identity the gathering has seen (see Member), by
// name then id.
func (s *State) Members() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	byID := make(map[IdentityID]*Member, len(s.seen)+1)
	add := func(id IdentityID) {
		if byID[id] != nil {
			return
		}
		m := &Member{ID: id, Facilitator: s.isActiveFacil(id), Removed: s.isRemoved(id), Groups: []OpID{}, Hidden: s.hidden(OpID(id))}
		if v, ok := s.identity(id); ok {
			m.Name = v.Name
		}
		byID[id] = m
	}
	add(s.founder)
	for id := range s.seen {
		if s.anyOpen(id) || s.isRemoved(id) {
			add(id)
		}
	}
	for id := range s.removed {
		add(id)
	}
	// A facilitator appointed who has written nothing yet is a member
	// too: a rotation must seal the new epoch to it.
	for id := range s.facil {
		add(id)
	}
	for _, g := range s.groupOrder {
		if s.refreshGroup(g); g.ok {
			for id := range g.scribes {
				add(id)
				byID[id].Groups = append(byID[id].Groups, g.id)
			}
		}
	}
	list := make([]Member, 0, len(byID))
	for _, m := range byID {
		list = append(list, *m)
	}
	slices.SortFunc(list, func(a, b Member) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return list
}

// Sessions lists the sessions in the order they were created.
func (s *State) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if !s.sessList.fresh(s.epoch) {
		list := make([]Session, 0, len(s.sessOrder))
		for _, ss := range s.sessOrder {
			if v, ok := s.sessionView(ss); ok {
				list = append(list, v)
			}
		}
		s.sessList.set(list, s.epoch)
	}
	return slices.Clone(s.sessList.val)
}

// Session returns one session's settings.
func (s *State) Session(id OpID) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	ss := s.sessions.get(id)
	if ss == nil {
		return Session{}, false
	}
	return s.sessionView(ss)
}

// Document assembles a session's document: the proposals in the document
// in rank order, then hidden ones; the proposals over the cap in Waiting.
func (s *State) Document(session OpID) (Document, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	ss := s.sessions.get(session)
	if ss == nil {
		return Document{}, false
	}
	return s.document(ss)
}

// Groups lists the groups in the order they were created.
func (s *State) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if !s.groupList.fresh(s.epoch) {
		list := make([]Group, 0, len(s.groupOrder))
		for _, g := range s.groupOrder {
			if v, ok := s.groupView(g); ok {
				list = append(list, v)
			}
		}
		s.groupList.set(list, s.epoch)
	}
	return slices.Clone(s.groupList.val)
}

// Group returns one group and its scribes.
func (s *State) Group(id OpID) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	g := s.groups.get(id)
	if g == nil {
		return Group{}, false
	}
	return s.groupView(g)
}

// IsScribe reports whether id may act for group.
func (s *State) IsScribe(group OpID, id IdentityID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return s.isScribe(group, id)
}

// Proposal returns a proposal as its session's document shows it (Rank 0
// when it is hidden or waiting) and the session it belongs to.
func (s *State) Proposal(id OpID) (p Proposal, session OpID, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	pp, ok := s.validProposal(id)
	if !ok {
		return Proposal{}, OpID{}, false
	}
	v := pp.d.base
	v.Rank = pp.d.rank
	return v, pp.sess.id, true
}

// SessionOf returns the session that a proposal names — or, for the id of
// a revision or comment, the session of its proposal — from the index
// alone: it refreshes no view, so it is cheap to call for every operation
// applied. It answers whether or not the proposal is valid, and false only
// when the operations needed to tell have not arrived.
func (s *State) SessionOf(id OpID) (OpID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	o := s.ops.get(id)
	if o == nil {
		return OpID{}, false
	}
	switch b := o.Body.(type) {
	case *revisionRec:
		o = s.ops.get(*b.proposal)
	case *CommentBody:
		o = s.ops.get(b.Proposal)
	case *TranslationBody:
		o = s.ops.get(b.Proposal)
	}
	if o == nil {
		return OpID{}, false
	}
	if b, ok := o.Body.(*ProposalBody); ok {
		return b.Session, true
	}
	return OpID{}, false
}

// Revisions lists every valid revision of a proposal, the first one (whose
// id is the proposal's) first, then by clock. A revision of a hidden
// proposal, or a hidden revision, has its text withheld.
func (s *State) Revisions(proposal OpID) ([]Revision, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	p, ok := s.validProposal(proposal)
	if !ok {
		return nil, false
	}
	return s.revisions(p), true
}

// Comments lists a proposal's comments by clock.
func (s *State) Comments(proposal OpID) ([]Comment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	p, ok := s.validProposal(proposal)
	if !ok {
		return nil, false
	}
	return s.comments(p), true
}

// Events lists the events by start time, then by creation.
func (s *State) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	if !s.eventList.fresh(s.epoch) {
		var evs []*event
		s.events.each(func(e *event) {
			s.refreshEvent(e)
			if e.valid {
				evs = append(evs, e)
			}
		})
		slices.SortFunc(evs, func(a, b *event) int {
			if c := cmp.Compare(a.start, b.start); c != 0 {
				return c
			}
			return opCompare(a.op, b.op)
		})
		list := make([]Event, len(evs))
		for i, e := range evs {
			list[i] = e.view
		}
		s.eventList.set(list, s.epoch)
	}
	return slices.Clone(s.eventList.val)
}

// Event returns one event.
func (s *State) Event(id OpID) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	e := s.events.get(id)
	if e == nil {
		return Event{}, false
	}
	s.refreshEvent(e)
	return e.view, e.valid
}

// HiddenItem is one piece of content a facilitator hid, for the
// facilitator's list: its id, what it is, and for a revision or a comment
// the proposal it belongs to.
type HiddenItem struct {
	ID       OpID   `json:"id"`
	Kind     string `json:"kind"` // identity, group, event, proposal, revision, comment
	Proposal *OpID  `json:"proposal,omitempty"`
}

// Hidden lists everything hidden now, of every kind, by kind then id. A
// hide whose target has not arrived yet is not listed (it is not known
// what it hides).
func (s *State) Hidden() []HiddenItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	out := []HiddenItem{}
	for target := range s.hides {
		if !s.hidden(target) {
			continue
		}
		it := HiddenItem{ID: target}
		o := s.ops.get(target)
		switch b := bodyOf(o).(type) {
		case *GroupBody:
			it.Kind = "group"
		case *EventBody:
			it.Kind = "event"
		case *ProposalBody:
			it.Kind = "proposal"
		case *revisionRec:
			pid := *b.proposal // a copy: the state's own is not handed out
			it.Kind, it.Proposal = "revision", &pid
		case *CommentBody:
			it.Kind, it.Proposal = "comment", &b.Proposal
		case nil:
			if _, seen := s.seen[IdentityID(target)]; seen || IdentityID(target) == s.founder {
				it.Kind = "identity"
			}
		}
		if it.Kind != "" {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b HiddenItem) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return a.ID.compare(b.ID)
	})
	return out
}

func bodyOf(o *Op) Body {
	if o == nil {
		return nil
	}
	return o.Body
}
