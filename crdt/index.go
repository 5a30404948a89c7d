package crdt

import "slices"

// Filing: Apply and a load index each operation under what it refers to
// (its session, proposal, group, event or target), creating the entry of
// something named before its own operation has come, and mark stale the
// views it can change. The rules (rules.go and the rest) read only these
// lists.

// index files an operation under what it refers to and marks stale the
// views it can change. The caller records its author and epoch in seen.
func (s *State) index(o *Op) {
	switch b := o.Body.(type) {
	case *GatheringBody:
		s.gatheringOps = append(s.gatheringOps, o)
		s.name.dirty = true
	case *IdentityBody:
		s.idents[o.Author()] = s.insertOp(s.idents[o.Author()], o)
		s.identsList.dirty = true
	case *FacilitatorBody:
		s.facilOps = s.insertOp(s.facilOps, o)
		s.authDirty = true
	case *RemovalBody:
		s.removalOps = s.insertOp(s.removalOps, o)
		s.authDirty = true
	case *SeatingBody:
		s.seatingOps = s.insertOp(s.seatingOps, o)
		s.authDirty = true
	case *RotationBody:
		s.rotationOps = s.insertOp(s.rotationOps, o)
		s.authDirty = true
	case *SeatBody:
		g := s.group(b.Group)
		g.seats = s.insertOp(g.seats, o)
		s.dirtyGroup(g)
	case *SessionBody:
		ss := s.session(o.ID)
		ss.op = o
		s.sessOrder = insertIn(s, s.sessOrder, ss, func(x *session) *Op { return x.op })
		for _, p := range ss.props {
			p.dirty = true
		}
		s.dirtySession(ss)
	case *SessionUpdateBody:
		ss := s.session(b.Session)
		ss.updates = s.insertOp(ss.updates, o)
		s.dirtySession(ss)
	case *AgendaBody:
		ss := s.session(b.Session)
		ss.agenda = s.insertOp(ss.agenda, o)
		s.dirtySession(ss)
	case *PhaseBody:
		ss := s.session(b.Session)
		ss.agenda = s.insertOp(ss.agenda, o)
		s.dirtySession(ss)
	case *TranslationBody:
		p := s.proposal(b.Proposal)
		p.trans = s.insertOp(p.trans, o)
		s.groupHolds(b.Group, p)
		s.dirtyProposal(p)
	case *RatificationBody:
		// Read straight from the index (ratified.go); nothing is cached.
		ss := s.session(b.Session)
		ss.ratifs = s.insertOp(ss.ratifs, o)
	case *GroupBody:
		g := s.group(o.ID)
		g.op = o
		s.groupOrder = insertIn(s, s.groupOrder, g, func(x *group) *Op { return x.op })
		s.addAuthorGroup(g)
		s.dirtyGroup(g)
	case *ScribeBody:
		g := s.group(b.Group)
		g.grants = s.insertOp(g.grants, o)
		s.dirtyGroup(g)
	case *ProposalBody:
		p := s.proposal(o.ID)
		p.op = o
		p.sess = s.session(b.Session)
		p.sess.props = insertIn(s, p.sess.props, p, func(x *proposal) *Op { return x.op })
		s.groupHolds(b.Group, p)
		s.dirtyProposal(p)
	case *RevisionBody: // applied: held as a record (record.go)
		p := s.proposal(b.Proposal)
		g := s.groupHolds(b.Group, p)
		o.Body = s.recs.revisionRec(b, &p.id, &g.id, s.propRefs(p))
		s.fileRevision(p, o)
	case *revisionRec: // a snapshot's loader made it
		p := s.proposal(*b.proposal)
		s.groupHolds(*b.group, p)
		s.fileRevision(p, o)
	case *EndorseBody:
		p := s.proposal(b.Proposal)
		g := s.groupHolds(b.Group, p)
		o.Body = s.recs.endorseRec(b, &p.id, &g.id, s.propRefs(p))
		s.fileEndorsement(p, o)
	case *endorseRec:
		p := s.proposal(*b.proposal)
		s.groupHolds(*b.group, p)
		s.fileEndorsement(p, o)
	case *CommentBody:
		// Comments are read straight from the index; nothing is cached.
		p := s.proposal(b.Proposal)
		p.comments = s.insertOp(p.comments, o)
		if b.Text == "" && p.coldComment == nil {
			p.coldComment = b
		}
	case *HideBody:
		s.hides[b.Target] = append(s.hides[b.Target], o)
		s.dirtyHidden(b.Target)
	case *EventBody:
		e := s.event(o.ID)
		e.op = o
		if b.Group != nil {
			s.group(*b.Group).events[e] = struct{}{}
		}
		s.dirtyEvent(e)
	case *EventUpdateBody:
		e := s.event(b.Event)
		e.updates = s.insertOp(e.updates, o)
		s.dirtyEvent(e)
	case *ParticipationBody:
		e := s.event(b.Event)
		if !s.loaded {
			shareParticipation(e, o)
		}
		e.parts = s.appendOp(e.parts, o)
		if e.lastPart.Less(o.Clock) {
			e.lastPart = o.Clock
		}
		s.dirtyEvent(e)
	}
}

// dirtyHidden marks stale what shows a hidden target, whichever kind of
// content it is (an identity's key is never an operation id). A state
// being loaded (inOrder) has computed nothing yet, so nothing is marked;
// nor is its operation index read, which the loader may be building
// (SnapshotLoader.Decode).
func (s *State) dirtyHidden(target OpID) {
	if s.inOrder {
		return
	}
	t := s.ops.get(target)
	if t == nil {
		s.identsList.dirty = true
		return
	}
	switch tb := t.Body.(type) {
	case *ProposalBody:
		s.dirtyProposal(s.proposal(t.ID))
	case *revisionRec:
		s.dirtyProposal(s.proposal(*tb.proposal))
	case *TranslationBody:
		s.dirtyProposal(s.proposal(tb.Proposal))
	case *GroupBody:
		g := s.group(t.ID)
		g.view.dirty = true
		s.groupList.dirty = true
	case *EventBody:
		s.dirtyEvent(s.event(t.ID))
	}
}

func (s *State) session(id OpID) *session {
	ss := s.sessions.get(id)
	if ss == nil {
		ss = &session{id: id}
		ss.view.dirty, ss.doc.dirty = true, true
		s.sessions.put(ss)
	}
	return ss
}

func (s *State) group(id OpID) *group {
	g := s.groups.get(id)
	if g == nil {
		g = &group{
			id:      id,
			props:   make(map[*proposal]struct{}),
			events:  make(map[*event]struct{}),
			scribes: make(map[IdentityID]struct{}),
			dirty:   true,
		}
		g.view.dirty = true
		s.groups.put(g)
	}
	return g
}

func (s *State) proposal(id OpID) *proposal {
	p := s.proposals.get(id)
	if p == nil {
		// From a slab, as operations are (newOp): proposals are never
		// removed, and a large state holds a hundred thousand.
		p = s.freeProps.take()
		p.id, p.dirty = id, true
		s.proposals.put(p)
	}
	return p
}

// groupHolds files p under the group id names. A proposal's revisions
// mostly name the group its last operation did, whose set then holds it:
// no need to hash it in again.
func (s *State) groupHolds(id OpID, p *proposal) *group {
	if g := p.inGroup; g != nil && g.id == id {
		return g
	}
	g := s.group(id)
	if s.inOrder {
		// Being loaded: the sets are filled at once when first read
		// (fillGroupProps), not grown a proposal at a time, which was
		// 12 MB of a million operations' start in maps outgrown.
		s.propsStale = true
	} else {
		g.props[p] = struct{}{}
	}
	p.inGroup = g
	return g
}

// fillGroupProps files every proposal under each group its operations
// name, if a load left that undone (groupHolds).
func (s *State) fillGroupProps() {
	if !s.propsStale {
		return
	}
	s.propsStale = false
	hold := func(id OpID, p *proposal) {
		if g := s.groups.get(id); g != nil {
			g.props[p] = struct{}{}
		}
	}
	s.proposals.each(func(p *proposal) {
		if p.op != nil {
			hold(p.op.Body.(*ProposalBody).Group, p)
		}
		for _, r := range p.revs {
			hold(*r.Body.(*revisionRec).group, p)
		}
		for _, e := range p.endorse {
			hold(*e.Body.(*endorseRec).group, p)
		}
		for _, t := range p.trans {
			hold(t.Body.(*TranslationBody).Group, p)
		}
	})
}

func (s *State) fileRevision(p *proposal, o *Op) {
	p.revs = s.insertOp(p.revs, o)
	s.dirtyProposal(p)
}

func (s *State) fileEndorsement(p *proposal, o *Op) {
	// A list, not a map by revision: most proposals get a few
	// endorsements, and a small map costs hundreds of bytes.
	p.endorse = s.appendOp(p.endorse, o)
	s.dirtyProposal(p)
}

func (s *State) event(id OpID) *event {
	e := s.events.get(id)
	if e == nil {
		e = &event{id: id, dirty: true}
		s.events.put(e)
	}
	return e
}

func (s *State) dirtySession(ss *session) {
	ss.view.dirty = true
	ss.doc.dirty = true
	s.sessList.dirty = true
}

func (s *State) dirtyProposal(p *proposal) {
	p.dirty = true
	if p.sess != nil {
		p.sess.doc.dirty = true
	}
}

func (s *State) dirtyEvent(e *event) {
	e.dirty = true
	s.eventList.dirty = true
}

func (s *State) dirtyGroup(g *group) {
	g.dirty = true
	g.view.dirty = true
	s.groupList.dirty = true
	if !s.inOrder { // a state being loaded has derived nothing yet
		s.fillGroupProps()
		for p := range g.props {
			s.dirtyProposal(p)
		}
	}
	for e := range g.events {
		s.dirtyEvent(e)
	}
}

// insertOp is insertOp of the state's lists: an append while the state
// is indexed in order (inOrder).
func (s *State) insertOp(list []*Op, o *Op) []*Op {
	if s.inOrder {
		return s.appendOp(list, o)
	}
	return insertOp(list, o)
}

// insertIn is insertByOp of the state's lists (see State.insertOp).
func insertIn[T any](s *State, list []T, x T, key func(T) *Op) []T {
	if s.inOrder {
		return append(list, x)
	}
	return insertByOp(list, x, key)
}

// insertOp keeps list sorted by (clock, id). Operations mostly arrive in
// clock order, so appending is checked first.
func insertOp(list []*Op, o *Op) []*Op {
	return insertByOp(list, o, func(x *Op) *Op { return x })
}

func insertByOp[T any](list []T, x T, key func(T) *Op) []T {
	k := key(x)
	if n := len(list); n == 0 || opLess(key(list[n-1]), k) {
		return append(list, x)
	}
	i, _ := slices.BinarySearchFunc(list, k, func(e T, k *Op) int { return opCompare(key(e), k) })
	return slices.Insert(list, i, x)
}
